"""Alert subject and body: ElastAlert's str.format args, text types, sandboxed Jinja."""

from __future__ import annotations

import datetime as dt

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


# --- Discover links, rule metadata, jinja_root_name, time zones, summaries --------------
KIBANA = """\
generate_kibana_discover_url: true
kibana_discover_app_url: "http://kibana:5601/app/discover#/"
kibana_discover_index_pattern_id: "logs-id"
kibana_discover_version: "8.11"
"""


def test_discover_link_is_a_field_line_of_the_default_body(make_rule):
    from logalert.notify import discover

    rule = make_rule(BASE + KIBANA)
    link = discover.url(rule, MATCH, "kibana")
    lines = render.body(rule, MATCH).splitlines()
    assert f"kibana_discover_url: {link}" in lines
    assert lines.index(f"kibana_discover_url: {link}") == lines.index("kubernetes.namespace: shop") - 1  # sorted


def test_discover_link_in_alert_text_args_and_jinja(make_rule):
    from logalert.notify import discover

    rule = make_rule(BASE + KIBANA + "alert_text: 'see {0}'\nalert_text_args: [kibana_discover_url]\n"
                     "alert_text_type: alert_text_only\n")
    assert render.body(rule, MATCH) == f"see {discover.url(rule, MATCH, 'kibana')}"
    jinja = make_rule(BASE + KIBANA + "alert_text_type: alert_text_jinja\n"
                      "alert_text: '{{ kibana_discover_url == _data.kibana_discover_url }} {{ level }}'\n")
    assert render.body(jinja, MATCH) == "True ERROR"


def test_without_generate_the_link_name_reads_as_missing(make_rule):
    rule = make_rule(BASE + "alert_text: 'see {0}'\nalert_text_args: [kibana_discover_url]\n"
                     "alert_text_type: alert_text_only\n")
    assert render.body(rule, MATCH) == "see <MISSING VALUE>"


def test_rule_metadata_in_args_with_elastalert2_defaults(make_rule):
    rule = make_rule(BASE + "alert_subject: '[P{0}] {1} ({2}) {3}|{4}'\n"
                     "alert_subject_args: [priority, owner, category, description, nothing]\n")
    assert render.subject(rule, MATCH) == "[P2]  () |<MISSING VALUE>"
    set_ = make_rule(BASE + "owner: team-storage\npriority: 1\ncategory: disk\ndescription: disks fill up\n"
                     "alert_subject: '[P{0}] {1} ({2}) {3}'\nalert_subject_args: [priority, owner, category, description]\n")
    assert render.subject(set_, MATCH) == "[P1] team-storage (disk) disks fill up"


def test_rule_metadata_as_jinja_variables_and_secrets_left_out(make_rule):
    rule = make_rule(BASE + "owner: team-storage\npriority: 1\nalert_text_type: alert_text_jinja\n"
                     "slack_webhook_url: https://hooks.slack.com/services/T0/B0/XXXXXXXX\n"
                     "alert_text: '{{ owner }}/{{ priority }}/{{ rule.owner }}/{{ slack_webhook_url is defined }}'\n")
    assert render.body(rule, MATCH) == "team-storage/1/team-storage/False"


def test_match_field_wins_over_a_rule_option_of_the_same_name(make_rule):
    rule = make_rule(BASE + "owner: team\nalert_text_type: alert_text_jinja\nalert_text: '{{ owner }}'\n")
    match = Match(MATCH.timestamp, {"owner": "alice"})
    assert render.body(rule, match) == "alice"


def test_jinja_root_name_is_a_rule_option(make_rule):
    rule = make_rule(BASE + "jinja_root_name: doc\nalert_text_type: alert_text_jinja\n"
                     "alert_text: \"{{ doc['kubernetes']['pod_name'] }} {{ _data is defined }}\"\n")
    assert render.body(rule, MATCH) == "web-7f9c False"


def test_jinja_subject_under_alert_text_jinja(make_rule):
    rule = make_rule(BASE + "alert_text_type: alert_text_jinja\nalert_text: x\n"
                     "alert_subject: '{{ level }} on {{ kubernetes.pod_name }}'\n")
    assert render.subject(rule, MATCH) == "ERROR on web-7f9c"
    formatted = make_rule(BASE + "alert_text_type: alert_text_jinja\nalert_text: x\n"
                          "alert_subject: '{0} on'\nalert_subject_args: [level]\n")
    assert render.subject(formatted, MATCH) == "ERROR on"


DESCRIBE = "3 events (from 2024-05-01T09:55:00.000Z to 2024-05-01T10:00:00.000Z)"


def test_timestamps_stay_utc_iso_by_default(make_rule):
    rule = make_rule(BASE)
    assert DESCRIBE in render.body(rule, MATCH, DESCRIBE)


def test_use_local_time_shows_logalert_timestamps_in_the_local_zone(make_rule, monkeypatch):
    import time

    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        rule = make_rule(BASE + "use_local_time: true\n")
        text = render.body(rule, MATCH, DESCRIBE)
        assert "3 events (from 2024-05-01T15:25:00.000+05:30 to 2024-05-01T15:30:00.000+05:30)" in text
        assert "@timestamp: 2024-05-01T10:00:00Z" in text  # document values are shown as stored
        formatted = make_rule(BASE + "use_local_time: true\ncustom_pretty_ts_format: '%Y-%m-%d %H:%M %Z'\n")
        assert render.pretty_ts(formatted, at(2024, 5, 1, 10, 0)) == "2024-05-01 15:30 IST"
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()


def test_custom_pretty_ts_format_from_config_applies_in_utc(make_rule, tmp_path):
    from logalert.config import load_config

    cfg_file = tmp_path / "config.yaml"
    cfg_file.write_text("custom_pretty_ts_format: '%d.%m.%Y %H:%M'\n")
    rule = make_rule(BASE, load_config(str(cfg_file), environ={}))
    assert "3 events (from 01.05.2024 09:55 to 01.05.2024 10:00)" in render.body(rule, MATCH, DESCRIBE)
    resolved = render.resolved(rule, MATCH, at(2024, 5, 1, 9, 0), at(2024, 5, 1, 10, 0), at(2024, 5, 1, 10, 30))
    assert "firing since 01.05.2024 09:00, last match 01.05.2024 10:00, no new match until 01.05.2024 10:30" \
        in resolved.body


def test_summary_prefix_and_suffix_around_the_aggregation_table(make_rule):
    from logalert.notify import digest
    from logalert.state import MemoryState

    rule = make_rule(BASE + "aggregation: {minutes: 10}\nsummary_table_fields: [level]\n"
                     "alert_text_type: aggregation_summary_only\n"
                     "summary_prefix: '```'\nsummary_suffix: '```'\n")
    state = MemoryState()
    now = at(2024, 5, 1, 12, 0)
    digest.collect(rule, [MATCH], state, now)
    [bucket] = state.due_aggregations(rule.name, now + dt.timedelta(hours=1))
    _, body, _ = digest.digest(rule, bucket, lambda match: "")
    assert body.splitlines()[0] == "```" and body.splitlines()[1].startswith("Aggregation summary")
    assert body.splitlines()[-1] == "```"
    assert render.summary(rule, "") == ""  # no table, no prefix or suffix
