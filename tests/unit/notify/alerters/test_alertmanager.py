"""Alertmanager request shape, option handling and multi-host delivery (responses, no network)."""

from __future__ import annotations

import datetime as dt
import json
import textwrap

import pytest
import responses

from logalert.errors import ConfigError, DeliveryError
from logalert.model import Alert, Match
from logalert.notify.alerters import alertmanager
from logalert.notify.alerters.alertmanager import AlertmanagerAlerter
from tests.support.notifiers import notifier as _alerter

from ...conftest import at

NOW = at(2026, 3, 1, 12, 0)
DOC = {"@timestamp": "2026-03-01T11:58:00Z", "message": "disk full", "status": 507,
       "host": {"name": "web-1"}, "tags": ["a", "b"]}

BASE = """\
name: Disk alerts
type: any
index: logs-*
alert: alertmanager
alertmanager_hosts: ["http://am-1:9093"]
"""


def _rule(make_rule, extra: str = "", base: str = BASE):
    """BASE plus options written as in a rule file (indented text is dedented)."""
    return make_rule(base + textwrap.dedent(extra))


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch):
    monkeypatch.setattr(alertmanager, "now", lambda: NOW)


def _alert(rule, *docs, key=(), subject="Disk full on web-1", body="the body"):
    matches = tuple(Match(at(2026, 3, 1, 11, 58), doc, key=key) for doc in docs)
    return Alert("a1", rule, matches, subject, body)


def test_defaults_post_one_v2_alert_with_the_rule_as_alertname(make_rule):
    rule = _rule(make_rule)
    notifier = _alerter(rule)
    assert isinstance(notifier, AlertmanagerAlerter)
    assert notifier.payload(_alert(rule, DOC)) == {
        "labels": {"alertname": "Disk alerts", "elastalert_rule": "Disk alerts"},
        "annotations": {"summary": "Disk full on web-1", "description": "the body"},
        "startsAt": "2026-03-01T11:58:00.000Z",
    }
    assert notifier.describe() == "alertmanager (API v2: http://am-1:9093)"


def test_labels_annotations_and_fields_as_elastalert_rules_write_them(make_rule):
    rule = _rule(make_rule, """\
    alertmanager_alertname: DiskFull
    alertmanager_labels:
      source: logalert
      severity: 3
      paging: true
      host_from_field: {field: host.name}
      templated: "{{ host.name }}-{{ status }}"
    alertmanager_annotations:
      runbook: https://runbooks.example.com/disk
      observed: {field: missing.field}
    alertmanager_fields:
      msg: message
      code: status
      tags: tags
      absent: no.such.field
    alertmanager_alert_subject_labelname: title
    alertmanager_alert_text_labelname: text
    alert_missing_value: "n/a"
    """)
    payload = _alerter(rule).payload(_alert(rule, DOC))
    assert payload["labels"] == {
        "source": "logalert", "severity": "3", "paging": "true", "host_from_field": "web-1",
        "templated": "web-1-507", "msg": "disk full", "code": "507", "tags": '["a", "b"]', "absent": "n/a",
        "alertname": "DiskFull", "elastalert_rule": "Disk alerts",
    }
    assert all(isinstance(v, str) for v in payload["labels"].values())
    assert payload["annotations"] == {"runbook": "https://runbooks.example.com/disk", "observed": "n/a",
                                      "title": "Disk full on web-1", "text": "the body"}


def test_resolve_time_sets_ends_at_from_now(make_rule):
    rule = _rule(make_rule, "alertmanager_resolve_time: {minutes: 10}\n")
    payload = _alerter(rule).payload(_alert(rule, DOC))
    assert payload["endsAt"] == "2026-03-01T12:10:00.000Z"


def test_a_match_from_the_future_does_not_start_after_now(make_rule):
    rule = _rule(make_rule)
    future = Alert("a1", rule, (Match(NOW + dt.timedelta(hours=1), DOC),), "s", "b")
    assert _alerter(rule).payload(future)["startsAt"] == "2026-03-01T12:00:00.000Z"


def test_an_alert_without_matches_still_has_its_labels(make_rule):
    rule = _rule(make_rule, """\
    alertmanager_labels: {host: {field: host.name}, t: "{{ host.name }}"}
    alertmanager_fields: {msg: message}
    """)
    payload = _alerter(rule).payload(Alert("a1", rule, (), "subject", "body"))
    # nothing to render {{ host.name }} from: the template goes as written, like any failing one
    assert payload["labels"] == {"host": "<MISSING VALUE>", "t": "{{ host.name }}", "msg": "<MISSING VALUE>",
                                 "alertname": "Disk alerts", "elastalert_rule": "Disk alerts"}
    assert "startsAt" not in payload


def test_a_failing_label_template_sends_the_text_as_written(make_rule):
    rule = _rule(make_rule, "alertmanager_labels: {x: \"{{ nothing.deeper.than }}\"}\n")
    assert _alerter(rule).payload(_alert(rule, DOC))["labels"]["x"] == "{{ nothing.deeper.than }}"


def test_a_template_that_does_not_compile_is_refused_at_load(make_rule):
    with pytest.raises(ConfigError) as info:
        _rule(make_rule, "alertmanager_labels: {x: \"{{ unclosed\"}\n")
    assert "alertmanager_labels: x: the Jinja template does not compile" in str(info.value)


def test_hosts_are_required_and_the_version_checked(make_rule):
    with pytest.raises(ConfigError) as info:
        make_rule("name: r\ntype: any\nindex: x\nalert: alertmanager\nalertmanager_api_version: v3\n")
    text = str(info.value)
    assert "alertmanager_hosts: required by the 'alertmanager' notifier but not set" in text
    assert "alertmanager_api_version: must be one of 'v1', 'v2', got 'v3'" in text


@responses.activate
def test_v2_posts_a_list_to_every_host_with_basic_auth(make_rule):
    rule = _rule(make_rule, base=BASE.replace('["http://am-1:9093"]', '["http://am-1:9093/", "am-2:9093"]'), extra="""\
    alertmanager_basic_auth_login: logalert
    alertmanager_basic_auth_password: s3cret-pass
    """)
    responses.post("http://am-1:9093/api/v2/alerts")
    responses.post("http://am-2:9093/api/v2/alerts")
    _alerter(rule).send(_alert(rule, DOC))
    assert [c.request.url for c in responses.calls] == ["http://am-1:9093/api/v2/alerts",
                                                       "http://am-2:9093/api/v2/alerts"]
    for call in responses.calls:
        assert call.request.headers["Authorization"] == "Basic bG9nYWxlcnQ6czNjcmV0LXBhc3M="
        body = json.loads(call.request.body)
        assert isinstance(body, list) and body[0]["labels"]["alertname"] == "Disk alerts"


@responses.activate
def test_one_host_accepting_is_delivered(make_rule):
    rule = make_rule(BASE.replace('["http://am-1:9093"]', '["http://am-1:9093", "http://am-2:9093"]'))
    responses.post("http://am-1:9093/api/v2/alerts", status=503)
    responses.post("http://am-2:9093/api/v2/alerts")
    _alerter(rule).send(_alert(rule, DOC))
    assert len(responses.calls) == 2


@responses.activate
def test_every_host_failing_raises_with_each_reason(make_rule):
    rule = make_rule(BASE.replace('["http://am-1:9093"]', '["http://am-1:9093", "http://am-2:9093"]'))
    responses.post("http://am-1:9093/api/v2/alerts", status=400, body="bad labels")
    responses.post("http://am-2:9093/api/v2/alerts", status=429, headers={"Retry-After": "30"})
    with pytest.raises(DeliveryError) as info:
        _alerter(rule).send(_alert(rule, DOC))
    assert str(info.value) == ("Alertmanager http://am-1:9093 answered HTTP 400: bad labels; "
                               "Alertmanager http://am-2:9093 rate limit (HTTP 429)")
    assert (info.value.retryable, info.value.retry_after) == (True, 30.0)


@responses.activate
def test_v1_uses_the_old_path_and_explains_a_410(make_rule):
    rule = _rule(make_rule, "alertmanager_api_version: v1\n")
    responses.post("http://am-1:9093/api/v1/alerts", status=410, body="v1 removed")
    with pytest.raises(DeliveryError) as info:
        _alerter(rule).send(_alert(rule, DOC))
    assert info.value.retryable is False
    assert "set alertmanager_api_version: v2" in str(info.value)


def test_describe_hides_credentials_in_host_urls(make_rule):
    rule = make_rule(BASE.replace("http://am-1:9093", "https://user:hunter22@am.example.com:9443/am"))
    assert _alerter(rule).describe() == "alertmanager (API v2: https://am.example.com:9443/am)"


def test_query_key_values_are_labels_so_each_key_is_its_own_alert(make_rule):
    rule = _rule(make_rule, """\
    query_key: [kubernetes.namespace_name, status]
    send_resolved: true
    """)
    notifier = _alerter(rule)
    shop = {**DOC, "kubernetes": {"namespace_name": "shop"}}
    busy = {**DOC, "kubernetes": {"namespace_name": "busy"}}
    shop_labels = notifier.payload(_alert(rule, shop, key=("shop", 507)))["labels"]
    busy_labels = notifier.payload(_alert(rule, busy, key=("busy", 507)))["labels"]
    assert shop_labels == {"alertname": "Disk alerts", "elastalert_rule": "Disk alerts",
                           "kubernetes_namespace_name": "shop", "status": "507"}
    assert busy_labels["kubernetes_namespace_name"] == "busy"
    # the resolution of one key carries that key's labels only
    resolved = Alert("r1", rule, (Match(at(2026, 3, 1, 11, 58), shop, key=("shop", 507)),), "s", "b",
                     status="resolved", since=at(2026, 3, 1, 11, 50))
    assert notifier.payload(resolved)["labels"] == shop_labels


def test_a_key_value_is_data_never_a_template_and_user_labels_win(make_rule):
    rule = _rule(make_rule, """\
    query_key: host.name
    alertmanager_labels: {host_name: fixed}
    """)
    doc = {**DOC, "host": {"name": "{{ 7 * 7 }}"}}
    labels = _alerter(rule).payload(_alert(rule, doc, key=("{{ 7 * 7 }}",)))["labels"]
    assert labels["host_name"] == "fixed"
    rule = _rule(make_rule, "query_key: 1host\n")
    labels = _alerter(rule).payload(_alert(rule, {"1host": "{{ 7 * 7 }}"}, key=("{{ 7 * 7 }}",)))["labels"]
    assert labels["_1host"] == "{{ 7 * 7 }}"


def test_a_digest_is_labelled_by_its_aggregation_key(make_rule):
    rule = _rule(make_rule, """\
    aggregation: {minutes: 5}
    aggregation_key: host.name
    """)
    assert _alerter(rule).payload(_alert(rule, DOC))["labels"]["host_name"] == "web-1"
