"""Alert subject and body: ElastAlert's str.format args, text types, sandboxed Jinja."""

from __future__ import annotations

import pytest

from logalert.model import Match
from logalert.notify import render

from ..conftest import FIXTURES, at

DOC = {
    "@timestamp": "2024-05-01T10:00:00Z",
    "message": "ERROR disk full",
    "level": "ERROR",
    "kubernetes": {"pod_name": "web-7f9c", "namespace": "shop"},
    "tags": ["a", "b"],
}
MATCH = Match(timestamp=at(2024, 5, 1, 10, 0), fields=DOC, index="logs-1", doc_id="abc")

BASE = "name: Disk alert\ntype: any\nindex: logs-*\nalert: stdout\n"


def test_subject_with_args_including_dotted_and_missing(make_rule):
    rule = make_rule(BASE + """\
alert_subject: "{0} on {1} in {2} ({3})"
alert_subject_args: [level, kubernetes.pod_name, kubernetes.namespace, no.such.field]
""")
    assert render.subject(rule, MATCH) == "ERROR on web-7f9c in shop (<MISSING VALUE>)"


def test_custom_missing_value_and_rule_options_as_args(make_rule):
    rule = make_rule(BASE + """\
alert_subject: "[{0}] {1} / {2}"
alert_subject_args: [name, owner, nothing]
owner: team-storage
alert_missing_value: "n/a"
""")
    assert render.subject(rule, MATCH) == "[Disk alert] team-storage / n/a"


def test_match_details_fill_args(make_rule):
    rule = make_rule(BASE + 'alert_subject: "{0} events"\nalert_subject_args: [count]\n')
    match = Match(timestamp=at(2024, 5, 1), fields={}, details={"count": 42})
    assert render.subject(rule, match) == "42 events"


def test_default_subject_names_rule_and_query_key(make_rule):
    rule = make_rule(BASE)
    assert render.subject(rule, MATCH) == "logalert: Disk alert"
    keyed = make_rule(BASE + "query_key: kubernetes.pod_name\n")
    match = Match(timestamp=at(2024, 5, 1), fields=DOC, key=("web-7f9c",))
    assert render.subject(keyed, match) == "logalert: Disk alert - web-7f9c"


def test_subject_max_len_truncates(make_rule):
    rule = make_rule(BASE + 'alert_subject: "0123456789abcdef"\nalert_subject_max_len: 10\n')
    subject = render.subject(rule, MATCH)
    assert subject == "0123456..."
    assert len(subject) == 10
    short = make_rule(BASE + 'alert_subject: "0123456789"\nalert_subject_max_len: 10\n')
    assert render.subject(short, MATCH) == "0123456789"


def test_subject_max_len_below_three_is_still_a_maximum(make_rule):
    rule = make_rule(BASE + 'alert_subject: "0123456789"\nalert_subject_max_len: 2\n')
    assert len(render.subject(rule, MATCH)) <= 2


def test_alert_text_with_args_then_fields(make_rule):
    rule = make_rule(BASE + 'alert_text: "Pod {0} says: {1}"\nalert_text_args: [kubernetes.pod_name, message]\n')
    assert render.body(rule, MATCH) == (
        "Pod web-7f9c says: ERROR disk full\n\n"
        "@timestamp: 2024-05-01T10:00:00Z\n"
        "kubernetes.namespace: shop\n"
        "kubernetes.pod_name: web-7f9c\n"
        "level: ERROR\n"
        "message: ERROR disk full\n"
        'tags: ["a", "b"]\n'
    )


def test_alert_text_kw(make_rule):
    rule = make_rule(BASE + 'alert_text: "{pod}: {msg}"\nalert_text_kw: {kubernetes.pod_name: pod, message: msg}\n'
                     "alert_text_type: alert_text_only\n")
    assert render.body(rule, MATCH) == "web-7f9c: ERROR disk full"


def test_default_body_is_rule_name_then_describe_then_fields(make_rule):
    rule = make_rule(BASE)
    match = Match(timestamp=at(2024, 5, 1), fields={"b": 2, "a": {"x": 1}})
    assert render.body(rule, match) == "Disk alert\n\na.x: 1\nb: 2\n"
    assert render.body(rule, match, "3 events in 5 minutes") == "Disk alert\n\n3 events in 5 minutes\n\na.x: 1\nb: 2\n"


def test_alert_text_only_has_no_fields(make_rule):
    rule = make_rule(BASE + 'alert_text: "Pod {0} is down"\nalert_text_args: [kubernetes.pod_name]\n'
                     "alert_text_type: alert_text_only\n")
    assert render.body(rule, MATCH, "ignored description") == "Pod web-7f9c is down"


def test_exclude_fields_keeps_text_and_description(make_rule):
    rule = make_rule(BASE + 'alert_text: "Check {0}"\nalert_text_args: [level]\nalert_text_type: exclude_fields\n')
    assert render.body(rule, MATCH, "why") == "Check ERROR\n\nwhy\n"


def test_seed_rule_renders_subject_and_text_only(config):
    from logalert.rules import load_rule

    rule, _ = load_rule(str(FIXTURES / "seed_rule.yaml"), config)
    rendered = render.render(rule, [MATCH])
    assert rendered == render.Rendered("Error!!", "occur error on some components!")


def test_broken_format_template_still_renders_with_reason(make_rule):
    rule = make_rule(BASE + 'alert_subject: "{0} and {1}"\nalert_subject_args: [level]\n')
    assert render.subject(rule, MATCH) == "{0} and {1} [template error: Replacement index 1 out of range for positional args tuple]"


def test_format_template_indexing_a_string_does_not_raise(make_rule):
    rule = make_rule(BASE + 'alert_subject: "host {0[name]}"\nalert_subject_args: [host]\n')
    assert render.subject(rule, MATCH).startswith("host {0[name]} [template error:")


def test_several_matches_are_joined_with_a_separator(make_rule):
    rule = make_rule(BASE + 'alert_text: "{0}"\nalert_text_args: [n]\nalert_text_type: alert_text_only\n'
                     'alert_subject: "first {0}"\nalert_subject_args: [n]\n')
    matches = [Match(timestamp=at(2024, 5, 1), fields={"n": i}) for i in (1, 2)]
    assert render.render(rule, matches) == render.Rendered(
        "first 1", "1\n----------------------------------------\n2")


# --- Jinja ---------------------------------------------------------------------------------
def test_jinja_text_sees_fields_data_and_rule(make_rule):
    rule = make_rule(BASE + "alert_text_type: alert_text_jinja\n"
                     'alert_text: "{{ rule.name }}: {{ level }} on {{ kubernetes.pod_name }} '
                     '({{ _data[\'kubernetes\'][\'namespace\'] }}) {{ tags | join(\',\') }}"\n')
    assert render.body(rule, MATCH) == "Disk alert: ERROR on web-7f9c (shop) a,b"


@pytest.mark.parametrize("template", [
    "{{ ''.__class__ }}",
    "{{ ''.__class__.__mro__[1].__subclasses__() }}",
    "{{ level.__class__.__init__.__globals__ }}",
    "{{ _data.__class__.__base__.__subclasses__() }}",
    "{{ cycler.__init__.__globals__.os }}",
])
def test_jinja_sandbox_does_not_expose_python_internals(make_rule, template):
    rule = make_rule(BASE + "alert_text_type: alert_text_jinja\n" + f'alert_text: "{template}"\n')
    text = render.body(rule, MATCH)
    assert "<class" not in text
    assert "__builtins__" not in text
    assert "<module" not in text
    assert "subprocess" not in text
    # either rendered as empty (undefined) or reported with the raw template
    assert text == "" or text.startswith(template + " [template error:")


def test_jinja_syntax_error_keeps_template(make_rule):
    rule = make_rule(BASE + "alert_text_type: alert_text_jinja\nalert_text: \"{{ level \"\n")
    assert render.body(rule, MATCH).startswith("{{ level  [template error: unexpected end of template")


def test_match_summary():
    assert render.match_summary(MATCH) == {"@timestamp": "2024-05-01T10:00:00.000Z", "index": "logs-1", "id": "abc",
                                           "key": None, "fields": DOC}
