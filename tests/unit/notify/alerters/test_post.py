"""``post`` (ElastAlert2's HTTP POST): payload shape, option defaults, headers, masking
(responses, no network; the real wire is in tests/integration/notify/test_post.py)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import requests
import responses

from logalert.errors import DeliveryError
from logalert.model import Alert, Match
from logalert.notify.alerters import get
from logalert.notify.alerters.post import HttpPostAlerter
from logalert.secrets import mask

URL = "https://hooks.example.com/api/alerts/TOKEN-abc123"
DOC = {"@timestamp": "2026-01-01T00:00:00Z", "clientip": "10.0.0.1", "host": {"name": "web-1"},
       "message": "disk full"}


def _post(make_rule, extra: str = ""):
    rule = make_rule(f"name: r\ntype: any\nindex: x\nalert: [post]\nhttp_post_url: {URL}\n" + extra)
    target = rule.alerts[0]
    alerter = get(target.name)(rule, target.options)
    assert isinstance(alerter, HttpPostAlerter)
    return rule, alerter


def _alert(rule, *docs, details=None):
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    matches = tuple(Match(moment, d, details=details or {}) for d in docs)
    return Alert("alert-1", rule, matches, "Subject", "Body")


def test_without_a_payload_mapping_every_field_of_the_first_match_is_sent(make_rule):
    rule, alerter = _post(make_rule)
    assert alerter.payload(_alert(rule, DOC, {"other": "match"})) == DOC


def test_payload_mapping_picks_dotted_fields_and_turns_all_values_off(make_rule):
    rule, alerter = _post(make_rule, """\
http_post_payload:
  ip: clientip
  hostname: host.name
  absent: no.such.field
http_post_static_payload:
  apikey: k3y-static-post-77
  team: ops
""")
    assert alerter.payload(_alert(rule, DOC)) == {"ip": "10.0.0.1", "hostname": "web-1", "absent": None,
                                                  "apikey": "k3y-static-post-77", "team": "ops"}


def test_all_values_with_a_mapping_and_the_mapping_wins_over_static_and_document(make_rule):
    rule, alerter = _post(make_rule, """\
http_post_payload: {message: host.name, count: count}
http_post_static_payload: {message: static, source: logalert}
http_post_all_values: true
""")
    body = alerter.payload(_alert(rule, DOC, details={"count": 7}))
    assert body == {**DOC, "message": "web-1", "source": "logalert", "count": 7}


def test_all_values_false_without_mapping_sends_only_the_static_payload(make_rule):
    rule, alerter = _post(make_rule, "http_post_all_values: false\nhttp_post_static_payload: {a: 1}\n")
    assert alerter.payload(_alert(rule, DOC)) == {"a": 1}


def test_an_alert_without_matches_still_posts_the_static_part(make_rule):
    rule, alerter = _post(make_rule, "http_post_payload: {ip: clientip}\nhttp_post_static_payload: {a: 1}\n")
    assert alerter.payload(_alert(rule)) == {"a": 1, "ip": None}
    rule, alerter = _post(make_rule)
    assert alerter.payload(_alert(rule)) == {}


def test_headers_default_to_json_and_the_rule_overrides_them_without_case_doubling(make_rule):
    rule, alerter = _post(make_rule, """\
http_post_headers:
  authorization: Basic 123dr3234
  content-type: application/vnd.api+json
  X-Retries: 3
""")
    assert alerter.headers() == {"Accept": "application/json;charset=utf-8", "authorization": "Basic 123dr3234",
                                 "content-type": "application/vnd.api+json", "X-Retries": "3"}


@responses.activate
def test_one_post_per_url_with_a_json_body(make_rule):
    rule = make_rule(f"""\
name: r
type: any
index: x
alert: [post]
http_post_url: [{URL}, https://other.example.com/in]
http_post_payload: {{ip: clientip}}
""")
    alerter = get("post")(rule, rule.alerts[0].options)
    responses.post(URL)
    responses.post("https://other.example.com/in")
    alerter.send(_alert(rule, DOC))
    assert [c.request.url for c in responses.calls] == [URL, "https://other.example.com/in"]
    for call in responses.calls:
        assert call.request.headers["Content-Type"] == "application/json"
        assert json.loads(call.request.body) == {"ip": "10.0.0.1"}


@responses.activate
def test_a_retry_after_a_partial_failure_posts_only_to_the_urls_that_failed(make_rule):
    rule = make_rule(f"""\
name: r
type: any
index: x
alert: [post]
http_post_url: [{URL}, https://other.example.com/in]
""")
    alerter = get("post")(rule, rule.alerts[0].options)
    responses.post(URL)
    responses.post("https://other.example.com/in", status=503)
    with pytest.raises(DeliveryError):
        alerter.send(_alert(rule, DOC))
    responses.replace(responses.POST, "https://other.example.com/in")
    alerter.send(_alert(rule, DOC))
    assert [c.request.url for c in responses.calls] == [URL, "https://other.example.com/in",
                                                        "https://other.example.com/in"]
    alerter.send(_alert(rule, DOC))  # delivered everywhere: a new send goes everywhere again
    assert len(responses.calls) == 5


@responses.activate
def test_datetimes_in_fields_are_sent_as_text(make_rule):
    rule, alerter = _post(make_rule)
    responses.post(URL)
    when = dt.datetime(2026, 1, 1, 12, tzinfo=dt.timezone.utc)
    alerter.send(_alert(rule, {"at": when}))
    assert json.loads(responses.calls[0].request.body) == {"at": str(when)}


@pytest.mark.parametrize("status, retryable", [(503, True), (500, True), (400, False), (404, False)])
@responses.activate
def test_http_errors_are_classified_and_the_url_is_masked(make_rule, status, retryable):
    rule, alerter = _post(make_rule)
    responses.post(URL, status=status, body=f"no hook at {URL}")
    with pytest.raises(DeliveryError) as info:
        alerter.send(_alert(rule, DOC))
    assert info.value.retryable is retryable
    assert str(info.value) == f"HTTP POST answered HTTP {status}: no hook at <secret>"


@responses.activate
def test_connection_error_names_no_url(make_rule):
    rule, alerter = _post(make_rule)
    responses.post(URL, body=requests.ConnectionError("Max retries exceeded with url: /api/alerts/TOKEN-abc123"))
    with pytest.raises(DeliveryError) as info:
        alerter.send(_alert(rule, DOC))
    assert info.value.retryable is True
    assert "TOKEN-abc123" not in str(info.value)


def test_credential_headers_and_static_keys_are_masked_everywhere(make_rule):
    _post(make_rule, """\
http_post_headers: {Authorization: Bearer sekrit-bearer-1, X-Trace: trace-value}
http_post_static_payload: {apikey: static-key-99, title: Disk}
""")
    assert mask("Bearer sekrit-bearer-1 / sekrit-bearer-1 / static-key-99") == "<secret> / <secret> / <secret>"
    assert mask("trace-value Disk") == "trace-value Disk"


def test_describe_shows_no_url(make_rule):
    _, alerter = _post(make_rule)
    assert alerter.describe() == "post (1 URL: <secret>)"


def test_transport_options_and_defaults(make_rule):
    _, alerter = _post(make_rule, "http_post_timeout: 3\nhttp_post_proxy: http://proxy:3128\n"
                                  "http_post_ca_certs: /etc/ca.pem\n")
    from logalert.notify.alerters.http import Transport

    assert Transport.from_options(alerter.options, "http_post") == Transport(
        proxy="http://proxy:3128", verify="/etc/ca.pem", timeout=3.0)
    _, plain = _post(make_rule, "http_post_ignore_ssl_errors: true\n")
    assert Transport.from_options(plain.options, "http_post") == Transport(verify=False, timeout=10.0)


def test_a_wrongly_typed_option_is_refused_at_load(make_rule):
    from logalert.errors import ConfigError

    with pytest.raises(ConfigError) as info:
        _post(make_rule, "http_post_payload: [clientip]\n")
    assert "http_post_payload" in str(info.value)


def test_with_send_resolved_the_body_says_firing_or_resolved_and_for_how_long(make_rule):
    rule, alerter = _post(make_rule, "send_resolved: true\nhttp_post_payload: {ip: clientip}\n")
    firing = _alert(rule, DOC)
    assert alerter.payload(firing) == {"ip": "10.0.0.1", "status": "firing"}
    since = dt.datetime(2025, 12, 31, 23, 50, tzinfo=dt.timezone.utc)
    resolved = Alert("r-1", rule, firing.matches, "[RESOLVED] S", "B", status="resolved", since=since,
                     until=dt.datetime(2025, 12, 31, 23, 57, 30, tzinfo=dt.timezone.utc))
    assert alerter.payload(resolved) == {"ip": "10.0.0.1", "status": "resolved",
                                         "firing_since": "2025-12-31T23:50:00.000Z", "firing_seconds": 450.0}
    _, plain = _post(make_rule, "http_post_payload: {ip: clientip}\n")
    assert plain.payload(resolved) == {"ip": "10.0.0.1"}  # without send_resolved: as ElastAlert sends
