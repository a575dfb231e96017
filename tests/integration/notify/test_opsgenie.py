"""The opsgenie notifier against a real HTTP server on 127.0.0.1 standing in for
Opsgenie's Alert API: ``POST /v2/alerts`` with ``Authorization: GenieKey …`` and the
create-alert body as Opsgenie documents it (202 with a requestId on success)."""

from __future__ import annotations

import textwrap

import pytest

from logalert.errors import DeliveryError
from tests.support.receivers import Behaviour

from .conftest import alert_for, notifier

API_KEY = "eb243592-faa2-4ba2-a551q-1afdf565c889"
DOC = {"@timestamp": "2026-03-01T11:58:00Z", "message": "disk full", "severity": 2,
       "kubernetes": {"namespace": "billing", "pod_name": "api-7d9f"}}
ACCEPTED = Behaviour(202, body={"result": "Request will be processed", "took": 0.302,
                                "requestId": "43a29c5c-3dbf-4fa4-9c26-f4f71023e120"})


def _rule(make_rule, receiver, extra: str = ""):
    return make_rule(textwrap.dedent(f"""\
        name: Disk full
        type: any
        index: logs-*
        alert:
          - opsgenie
        opsgenie_key: {API_KEY}
        opsgenie_addr: {receiver.url}/v2/alerts
        """) + textwrap.dedent(extra))


def test_create_alert_request_as_the_alert_api_documents_it(make_rule, receiver):
    receiver.default = ACCEPTED
    rule = _rule(make_rule, receiver, """\
        opsgenie_account: logalert-bot
        opsgenie_recipients: [oncall@example.com]
        opsgenie_teams: ["{ns}-team"]
        opsgenie_teams_args: {ns: kubernetes.namespace}
        opsgenie_tags: [disk]
        opsgenie_priority: "P{severity}"
        opsgenie_alias: "disk-{kubernetes.pod_name}"
        opsgenie_entity: "{kubernetes.pod_name}"
        opsgenie_details:
          Pod: {field: kubernetes.pod_name}
          Runbook: https://runbooks.example.com/disk
        """)
    notifier(rule).send(alert_for(rule, DOC, subject="Disk full on api-7d9f", body="full text"))
    (request,) = receiver.requests
    assert (request.method, request.path) == ("POST", "/v2/alerts")
    assert request.header("Authorization") == f"GenieKey {API_KEY}"
    assert request.header("Content-Type") == "application/json"
    assert request.body == {
        "message": "Disk full on api-7d9f",
        "alias": "disk-api-7d9f",
        "description": "full text",
        "responders": [{"username": "oncall@example.com", "type": "user"}, {"name": "billing-team", "type": "team"}],
        "tags": ["disk", "logalert", "Disk full"],
        "priority": "P2",
        "details": {"Pod": "api-7d9f", "Runbook": "https://runbooks.example.com/disk"},
        "entity": "api-7d9f",
        "source": "logalert",
        "user": "logalert-bot",
    }


def test_the_default_alias_is_stable_across_alerts_of_a_rule(make_rule, receiver):
    receiver.default = ACCEPTED
    rule = _rule(make_rule, receiver, "opsgenie_subject: 'Disk full: {0}'\nopsgenie_subject_args: [message]\n")
    notifier(rule).send(alert_for(rule, DOC))
    notifier(rule).send(alert_for(rule, dict(DOC, message="still full")))
    assert [r.body["alias"] for r in receiver.requests] == ["logalert/Disk full"] * 2
    assert [r.body["message"] for r in receiver.requests] == ["Disk full: disk full", "Disk full: still full"]


def test_503_is_retryable(make_rule, receiver):
    receiver.default = Behaviour(503)
    rule = _rule(make_rule, receiver)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is True
    assert str(info.value) == "Opsgenie answered HTTP 503: error"


def test_429_is_retryable_after_retry_after(make_rule, receiver):
    receiver.default = Behaviour(429, headers={"Retry-After": "5"},
                                 body={"message": "You are making too many requests", "took": 0.0})
    rule = _rule(make_rule, receiver)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert (info.value.retryable, info.value.retry_after) == (True, 5.0)


def test_400_is_not_retryable_and_the_key_never_shows(make_rule, receiver):
    receiver.default = Behaviour(400, body={"message": f"GenieKey {API_KEY} cannot be used", "took": 0.0})
    rule = _rule(make_rule, receiver)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is False
    assert API_KEY not in str(info.value)
    assert "GenieKey <secret> cannot be used" in str(info.value)
    assert notifier(rule).describe() == f"opsgenie ({receiver.url}/v2/alerts)"


def test_an_alert_resent_without_matches_is_delivered(make_rule, receiver):
    receiver.default = ACCEPTED
    rule = _rule(make_rule, receiver, "opsgenie_entity: '{kubernetes.pod_name}'\n")
    notifier(rule).send(alert_for(rule, subject="resent", body="from the outbox"))
    body = receiver.delivered[0].body
    assert (body["message"], body["description"], body["entity"]) == ("resent", "from the outbox", "<MISSING VALUE>")
