"""The alertmanager notifier against real HTTP servers on 127.0.0.1 standing in for
Alertmanager: the API v2 request as Alertmanager's OpenAPI spec defines postAlerts (a
JSON list of alerts with string labels and annotations), an HA pair, and how failures
are classified."""

from __future__ import annotations

import base64
import textwrap

import pytest

from logalert.errors import DeliveryError
from tests.support.receivers import Behaviour, WebhookReceiver

from .conftest import alert_for, notifier

PASSWORD = "am-pass-7f3e9c1b"
DOC = {"@timestamp": "2026-03-01T11:58:00Z", "message": "disk full", "status": 507,
       "kubernetes": {"namespace": "billing", "pod_name": "api-7d9f"}}


def _rule(make_rule, hosts: list[str], extra: str = ""):
    return make_rule(textwrap.dedent(f"""\
        name: Disk full
        type: any
        index: logs-*
        alert:
          - alertmanager
        alertmanager_hosts: {hosts!r}
        alertmanager_basic_auth_login: logalert
        alertmanager_basic_auth_password: {PASSWORD}
        """) + textwrap.dedent(extra))


def test_posts_the_v2_alert_list_with_basic_auth(make_rule, receiver):
    rule = _rule(make_rule, [receiver.url], """\
        alertmanager_alertname: DiskFull
        alertmanager_labels:
          severity: page
          ns: "{{ kubernetes.namespace }}"
        alertmanager_annotations:
          runbook_url: https://runbooks.example.com/disk
        alertmanager_fields:
          pod: kubernetes.pod_name
          code: status
        alertmanager_resolve_time:
          minutes: 5
        """)
    notifier(rule).send(alert_for(rule, DOC, subject="Disk full on api-7d9f", body="details here"))
    (request,) = receiver.requests
    assert (request.method, request.path) == ("POST", "/api/v2/alerts")
    assert request.header("Content-Type") == "application/json"
    assert request.header("Authorization") == "Basic " + base64.b64encode(f"logalert:{PASSWORD}".encode()).decode()
    (alert,) = request.body
    assert set(alert) == {"labels", "annotations", "startsAt", "endsAt"}
    assert alert["labels"] == {"severity": "page", "ns": "billing", "pod": "api-7d9f", "code": "507",
                               "alertname": "DiskFull", "elastalert_rule": "Disk full"}
    assert alert["annotations"] == {"runbook_url": "https://runbooks.example.com/disk",
                                    "summary": "Disk full on api-7d9f", "description": "details here"}
    assert alert["startsAt"] == "2026-03-01T11:58:00.000Z"
    assert alert["endsAt"] > alert["startsAt"]  # now + 5 minutes, as RFC 3339 text


def test_every_member_of_an_ha_pair_gets_it_and_one_is_enough(make_rule, receiver):
    with WebhookReceiver() as down:
        down.default = Behaviour(503)
        rule = _rule(make_rule, [down.url, receiver.url])
        notifier(rule).send(alert_for(rule, DOC))
        assert len(down.requests) == 1
    assert len(receiver.delivered) == 1
    assert receiver.delivered[0].body == down.requests[0].body


def test_v1_api_path_for_old_servers(make_rule, receiver):
    receiver.default = Behaviour(200, body={"status": "success"})
    rule = _rule(make_rule, [receiver.url], "alertmanager_api_version: v1\n")
    notifier(rule).send(alert_for(rule, DOC))
    assert receiver.requests[0].path == "/api/v1/alerts"
    assert receiver.requests[0].body[0]["labels"]["alertname"] == "Disk full"


def test_v1_on_a_current_server_says_to_use_v2(make_rule, receiver):
    receiver.default = Behaviour(410, body="the v1 API is gone")
    rule = _rule(make_rule, [receiver.url], "alertmanager_api_version: v1\n")
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is False
    assert "set alertmanager_api_version: v2" in str(info.value)


def test_503_is_retryable(make_rule, receiver):
    receiver.default = Behaviour(503)
    rule = _rule(make_rule, [receiver.url])
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is True
    assert str(info.value) == f"Alertmanager {receiver.url} answered HTTP 503: error"


def test_429_is_retryable_after_retry_after(make_rule, receiver):
    receiver.default = Behaviour(429, headers={"Retry-After": "17"})
    rule = _rule(make_rule, [receiver.url])
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert (info.value.retryable, info.value.retry_after) == (True, 17.0)


def test_400_is_not_retryable_and_the_password_never_shows(make_rule, receiver):
    receiver.default = Behaviour(400, body=f"bad alert from logalert:{PASSWORD}")
    rule = _rule(make_rule, [receiver.url.replace("http://", f"http://logalert:{PASSWORD}@")])
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is False
    assert PASSWORD not in str(info.value)
    assert str(info.value) == f"Alertmanager {receiver.url} answered HTTP 400: bad alert from logalert:<secret>"
    assert PASSWORD not in notifier(rule).describe()
    assert notifier(rule).describe() == f"alertmanager (API v2: {receiver.url})"


def test_an_alert_resent_without_matches_is_delivered(make_rule, receiver):
    rule = _rule(make_rule, [receiver.url], "alertmanager_fields: {pod: kubernetes.pod_name}\n")
    notifier(rule).send(alert_for(rule, subject="resent", body="from the outbox"))
    (alert,) = receiver.requests[0].body
    assert alert["labels"]["pod"] == "<MISSING VALUE>"
    assert alert["annotations"]["summary"] == "resent"
    assert "startsAt" not in alert
