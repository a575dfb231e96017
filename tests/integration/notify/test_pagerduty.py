"""The pagerduty notifier against a real HTTP server on 127.0.0.1 standing in for
PagerDuty's Events API: the v2 ``/v2/enqueue`` event and the v1 ``create_event.json``
as PagerDuty documents them (202 on success, 400 invalid event, 429 rate limit)."""

from __future__ import annotations

import datetime as dt
import textwrap

import pytest

from logalert.errors import DeliveryError
from logalert.model import Alert, Match
from tests.support.receivers import Behaviour

from .conftest import alert_for, notifier

ROUTING_KEY = "e93facc04764012d7bfb002500d5d1a6"
DOC = {"@timestamp": "2026-03-01T11:58:00Z", "message": "disk full", "clientip": "10.0.0.7",
       "host": {"name": "web-1"}}
ACCEPTED = Behaviour(202, body={"status": "success", "message": "Event processed", "dedup_key": "x"})


def _rule(make_rule, receiver, extra: str = ""):
    return make_rule(textwrap.dedent(f"""\
        name: Disk full
        type: any
        index: logs-*
        alert:
          - pagerduty
        pagerduty_service_key: {ROUTING_KEY}
        pagerduty_client_name: logalert-prod
        pagerduty_api_url: {receiver.url}
        """) + textwrap.dedent(extra))


def test_v2_event_as_the_events_api_documents_it(make_rule, receiver):
    receiver.default = ACCEPTED
    rule = _rule(make_rule, receiver, """\
        pagerduty_incident_key: "disk-{0}"
        pagerduty_incident_key_args: [host.name]
        pagerduty_v2_payload_severity: error
        pagerduty_v2_payload_source: "{0}"
        pagerduty_v2_payload_source_args: [host.name]
        pagerduty_v2_payload_component: storage
        pagerduty_v2_payload_group: app-stack
        pagerduty_v2_payload_class: disk
        pagerduty_v2_payload_custom_details:
          ip: clientip
        """)
    notifier(rule).send(alert_for(rule, DOC, subject="Disk full on web-1", body="full text"))
    (request,) = receiver.requests
    assert (request.method, request.path) == ("POST", "/v2/enqueue")
    assert request.header("Content-Type") == "application/json"
    assert request.header("Authorization") is None  # the routing key in the body is the credential
    assert request.body == {
        "routing_key": ROUTING_KEY,
        "event_action": "trigger",
        "dedup_key": "disk-web-1",
        "client": "logalert-prod",
        "payload": {
            "summary": "Disk full on web-1",
            "source": "web-1",
            "severity": "error",
            "timestamp": "2026-03-01T11:58:00.000Z",
            "component": "storage",
            "group": "app-stack",
            "class": "disk",
            "custom_details": {"information": "full text", "ip": "10.0.0.7"},
        },
    }


def test_repeated_alerts_of_one_query_key_value_share_a_dedup_key(make_rule, receiver):
    receiver.default = ACCEPTED
    rule = _rule(make_rule, receiver, "query_key: host.name\n")
    for n, doc in enumerate([DOC, dict(DOC, message="still full"), dict(DOC, host={"name": "web-2"})]):
        match = Match(dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc), doc, key=(doc["host"]["name"],))
        notifier(rule).send(Alert(f"a{n}", rule, (match,), "s", "b"))
    assert [r.body["dedup_key"] for r in receiver.requests] == [
        "logalert/Disk full/web-1", "logalert/Disk full/web-1", "logalert/Disk full/web-2"]


def test_v1_generic_event(make_rule, receiver):
    receiver.default = Behaviour(200, body={"status": "success", "message": "Event processed", "incident_key": "k"})
    rule = _rule(make_rule, receiver, "pagerduty_api_version: v1\npagerduty_event_type: resolve\n")
    notifier(rule).send(alert_for(rule, DOC, subject="Disk full", body="text"))
    (request,) = receiver.requests
    assert request.path == "/generic/2010-04-15/create_event.json"
    assert request.body == {"service_key": ROUTING_KEY, "event_type": "resolve", "incident_key": "logalert/Disk full",
                            "description": "Disk full", "details": {"information": "text"}, "client": "logalert-prod"}


def test_503_is_retryable(make_rule, receiver):
    receiver.default = Behaviour(503)
    rule = _rule(make_rule, receiver)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is True
    assert str(info.value) == "PagerDuty answered HTTP 503: error"


def test_429_is_retryable_after_retry_after(make_rule, receiver):
    receiver.default = Behaviour(429, headers={"Retry-After": "60"}, body={"status": "throttle event"})
    rule = _rule(make_rule, receiver)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert (info.value.retryable, info.value.retry_after) == (True, 60.0)


def test_400_invalid_event_is_not_retryable_and_the_key_never_shows(make_rule, receiver):
    receiver.default = Behaviour(400, body={"status": "invalid event", "message": "Event object is invalid",
                                            "errors": [f"routing_key {ROUTING_KEY} unknown"]})
    rule = _rule(make_rule, receiver)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is False
    assert ROUTING_KEY not in str(info.value)
    assert "Event object is invalid" in str(info.value) and "routing_key <secret> unknown" in str(info.value)
    assert ROUTING_KEY not in notifier(rule).describe()
    assert notifier(rule).describe() == f"pagerduty (Events API v2 at {receiver.url})"
