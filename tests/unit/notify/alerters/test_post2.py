"""``post2``: Jinja-templated payload and headers (both forms), escaping, the sandbox,
template errors at load time (responses, no network; the wire is in the integration test)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import responses

from logalert.errors import ConfigError, DeliveryError
from logalert.model import Alert, Match
from logalert.notify.alerters import get
from logalert.notify.alerters.post2 import HttpPost2Alerter, check
from logalert.secrets import mask

URL = "https://api.example.com/v1/events/KEY-777"
NASTY = 'he said "stop"\\ now\nnext line\ttab </script> ü'
DOC = {"@timestamp": "2026-01-01T00:00:00Z", "clientip": "10.0.0.1", "type": "disk",
       "user": {"name": "alice"}, "client.ip": "10.9.9.9", "message": NASTY, "count": 3, "ok": False,
       "tags": ["a", "b"]}


def _post2(make_rule, extra: str = ""):
    rule = make_rule(f"name: r\ntype: any\nindex: x\nalert: [post2]\nhttp_post2_url: {URL}\n" + extra)
    alerter = get(rule.alerts[0].name)(rule, rule.alerts[0].options)
    assert isinstance(alerter, HttpPost2Alerter)
    return rule, alerter


def _alert(rule, *docs, details=None):
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return Alert("alert-1", rule, tuple(Match(moment, d, details=details or {}) for d in docs), "S", "B")


def test_mapping_form_renders_keys_and_values_and_keeps_quotes_and_newlines(make_rule):
    rule, alerter = _post2(make_rule, """\
http_post2_payload:
  description: "An event came from IP {{clientip}}"
  username: "{{user.name}}"
  "msg_{{ type }}": '{{ message }}'
  dotted: '{{ _data["client.ip"] }}'
  state: "{{ ['low','high'][count - 2] }}"
  nested:
    list: ["{{ type }}", 5, true]
  number: 42
""")
    assert alerter.payload(_alert(rule, DOC)) == {
        "description": "An event came from IP 10.0.0.1",
        "username": "alice",
        "msg_disk": NASTY,
        "dotted": "10.9.9.9",
        "state": "high",
        "nested": {"list": ["disk", 5, True]},
        "number": 42,
    }


def test_json_text_form_escapes_every_value_and_emits_literals_bare(make_rule):
    rule, alerter = _post2(make_rule, """\
jinja_root_name: _new_root
http_post2_payload: |
  {
    "description": "An event came from IP {{ _new_root["client.ip"] }}",
    "message": "{{ message }}",
    "count": {{ count }},
    "ok": {{ ok }},
    "tags_text": "{{ tags }}",
    "tags": {{ tags | tojson }},
    "missing": "{{ nothing }}"
    {%- for k in ['x', 'y'] -%}
    ,"{{ k }}": "changed_{{ k }}"
    {%- endfor %}
  }
""")
    assert alerter.payload(_alert(rule, DOC)) == {
        "description": "An event came from IP 10.9.9.9", "message": NASTY, "count": 3, "ok": False,
        "tags_text": '["a", "b"]', "tags": ["a", "b"], "missing": "", "x": "changed_x", "y": "changed_y"}


def test_all_values_default_and_raw_fields_win(make_rule):
    rule, alerter = _post2(make_rule, "http_post2_raw_fields: {ip: clientip, who: user}\n")
    assert alerter.payload(_alert(rule, DOC)) == {**DOC, "ip": "10.0.0.1", "who": {"name": "alice"}}
    rule, alerter = _post2(make_rule, """\
http_post2_payload: {ip: "{{ clientip }}", n: "{{ count }}"}
http_post2_raw_fields: {n: count}
""")
    assert alerter.payload(_alert(rule, DOC)) == {"ip": "10.0.0.1", "n": 3}
    rule, alerter = _post2(make_rule, "http_post2_payload: {a: b}\nhttp_post2_all_values: true\n")
    assert alerter.payload(_alert(rule, DOC)) == {**DOC, "a": "b"}


def test_numbers_the_rule_type_added_are_template_variables(make_rule):
    rule, alerter = _post2(make_rule, "http_post2_payload: {t: 'over {{ threshold }}'}\n")
    assert alerter.payload(_alert(rule, DOC, details={"threshold": 10})) == {"t": "over 10"}


def test_an_alert_without_matches_renders_with_empty_fields(make_rule):
    rule, alerter = _post2(make_rule, "http_post2_payload: {ip: 'ip={{ clientip }}', all: '{{ _data }}'}\n")
    assert alerter.payload(_alert(rule)) == {"ip": "ip=", "all": "{}"}


def test_rendering_to_invalid_json_or_a_non_object_fails_without_retry(make_rule):
    rule, alerter = _post2(make_rule, 'http_post2_payload: \'{"count": {{ nothing }}}\'\n')
    with pytest.raises(DeliveryError) as info:
        alerter.payload(_alert(rule, DOC))
    assert info.value.retryable is False
    assert str(info.value).startswith("http_post2_payload: the rendered template is not valid JSON (Expecting value")
    rule, alerter = _post2(make_rule, "http_post2_payload: '[1, 2]'\n")
    with pytest.raises(DeliveryError, match="must render to a JSON object, not an array"):
        alerter.payload(_alert(rule, DOC))


def test_the_sandbox_refuses_python_internals(make_rule):
    rule, alerter = _post2(make_rule, "http_post2_payload: {x: \"{{ ''.__class__.__mro__ }}\"}\n")
    with pytest.raises(DeliveryError) as info:
        alerter.payload(_alert(rule, DOC))
    assert info.value.retryable is False
    assert str(info.value).startswith("http_post2_payload: template error: SecurityError: access to attribute "
                                      "'__class__' of 'str' object is unsafe")


def test_a_template_that_fails_at_run_time_is_not_retried(make_rule):
    rule, alerter = _post2(make_rule, "http_post2_payload: {x: '{{ count / 0 }}'}\n")
    with pytest.raises(DeliveryError) as info:
        alerter.payload(_alert(rule, DOC))
    assert info.value.retryable is False
    assert str(info.value) == "http_post2_payload: template error: ZeroDivisionError: division by zero"


def test_headers_both_forms_with_defaults(make_rule):
    rule, alerter = _post2(make_rule, """\
http_post2_headers:
  authorization: Basic 123dr3234
  X-custom-type: '{{type}}'
  X-Count: 3
""")
    assert alerter.headers(_alert(rule, DOC)) == {
        "Content-Type": "application/json", "Accept": "application/json;charset=utf-8",
        "authorization": "Basic 123dr3234", "X-custom-type": "disk", "X-Count": "3"}
    rule, alerter = _post2(make_rule, """\
http_post2_headers: |
  {"X-custom-{{ type }}": "{{ user.name }}", "Content-Type": "text/plain"}
""")
    assert alerter.headers(_alert(rule, DOC)) == {"Accept": "application/json;charset=utf-8",
                                                   "X-custom-disk": "alice", "Content-Type": "text/plain"}


@pytest.mark.parametrize("headers, message", [
    ("{X-Msg: '{{ message }}'}", "the value of X-Msg contains a line break"),
    ("{'X {{ type }}': v}", "'X disk' is not a valid header name"),
    ("'{\"X-List\": {{ tags | tojson }}}'", "the value of X-List must be text, not an array"),
])
def test_headers_that_would_break_the_request_are_refused(make_rule, headers, message):
    rule, alerter = _post2(make_rule, f"http_post2_headers: {headers}\n")
    with pytest.raises(DeliveryError) as info:
        alerter.headers(_alert(rule, DOC))
    assert info.value.retryable is False
    assert message in str(info.value)


@responses.activate
def test_send_posts_the_rendered_payload_with_headers(make_rule):
    rule, alerter = _post2(make_rule, """\
http_post2_payload: {m: '{{ message }}'}
http_post2_headers: {X-Type: '{{ type }}'}
""")
    responses.post(URL)
    alerter.send(_alert(rule, DOC))
    (call,) = responses.calls
    assert json.loads(call.request.body) == {"m": NASTY}
    assert call.request.headers["X-Type"] == "disk"
    assert call.request.headers["Content-Type"] == "application/json"


@responses.activate
def test_a_bad_payload_sends_nothing(make_rule):
    rule, alerter = _post2(make_rule, "http_post2_payload: 'not json {{ type }}'\n")
    with pytest.raises(DeliveryError):
        alerter.send(_alert(rule, DOC))
    assert len(responses.calls) == 0


def test_template_syntax_errors_are_reported_at_load_with_the_line(make_rule, tmp_path):
    with pytest.raises(ConfigError) as info:
        _post2(make_rule, "http_post2_payload:\n  ok: '{{ type }}'\n  bad: '{{ type '\n")
    (problem,) = info.value.problems
    assert (problem.option, problem.line) == ("http_post2_payload", 6)
    assert problem.message.startswith("Jinja template error (value of 'bad'): unexpected end of template")
    with pytest.raises(ConfigError) as info:
        _post2(make_rule, "http_post2_headers: '{\"a\": \"{{ x | no_such_filter }}\"}'\n")
    assert "No filter named 'no_such_filter'" in str(info.value)
    assert str(info.value).split(": ")[0].endswith(".yaml:6")


def test_check_names_a_bad_key(make_rule):
    assert check({"http_post2_payload": {"{% if %}": "v"}}) == [
        ("http_post2_payload", "Jinja template error (key '{% if %}'): Expected an expression, "
                               "got 'end of statement block' (template line 1)")]
    assert check({"http_post2_payload": "{}", "http_post2_headers": {"a": "{{ b }}"}}) == []


def test_static_credential_headers_are_masked_templated_ones_are_not_registered(make_rule):
    _post2(make_rule, "http_post2_headers: {DD-API-KEY: dd-key-4242, Authorization: 'Bearer {{ token }}'}\n")
    assert mask("key dd-key-4242") == "key <secret>"
    assert mask("Bearer {{ token }}") == "Bearer {{ token }}"


def test_jinja_root_name_must_be_a_name(make_rule):
    with pytest.raises(ConfigError, match="jinja_root_name"):
        _post2(make_rule, "jinja_root_name: 'a b'\n")


def test_describe_shows_no_url(make_rule):
    assert _post2(make_rule)[1].describe() == "post2 (1 URL: <secret>)"


def test_rule_level_jinja_root_name_and_discover_link_in_the_payload(make_rule):
    from logalert.notify import discover

    rule, alerter = _post2(make_rule, """\
jinja_root_name: doc
generate_kibana_discover_url: true
kibana_discover_app_url: "http://kibana:5601/app/discover#/"
kibana_discover_index_pattern_id: "logs-id"
kibana_discover_version: "8.11"
http_post2_payload: {pod: "{{ doc['kubernetes.pod'] }}", link: "{{ kibana_discover_url }}"}
""")
    match = Match(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), {"kubernetes.pod": "web-1"})
    body = alerter.payload(Alert("a", rule, (match,), "S", "B"))
    assert body == {"pod": "web-1", "link": discover.url(rule, match, "kibana")}


def test_templates_see_the_status_and_the_firing_duration(make_rule):
    rule, alerter = _post2(make_rule, """\
http_post2_payload: '{"state": "{{ status }}", "for": {{ firing_seconds or 0 }}, "since": "{{ firing_since }}"}'
""")
    first = _alert(rule, DOC)
    since = dt.datetime(2025, 12, 31, 23, 0, tzinfo=dt.timezone.utc)
    resolved = Alert("r-1", rule, first.matches, "S", "B", status="resolved", since=since,
                     until=dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.timezone.utc))
    assert alerter.payload(resolved) == {"state": "resolved", "for": 1800, "since": "2025-12-31T23:00:00.000Z"}
    firing = Alert("a-1", rule, first.matches, "S", "B", since=since)
    assert alerter.payload(firing) == {"state": "firing", "for": 3600, "since": "2025-12-31T23:00:00.000Z"}
