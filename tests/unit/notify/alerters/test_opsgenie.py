"""Opsgenie create-alert payloads, templates, responders and option handling (responses, no network)."""

from __future__ import annotations

import json
import logging
import textwrap

import pytest
import responses

from logalert.errors import ConfigError, DeliveryError
from logalert.model import Alert, Match
from logalert.notify.alerters.opsgenie import OpsGenieAlerter
from tests.support.notifiers import notifier as _alerter

from ...conftest import at

KEY = "0psg3n1e-key-1234-5678-abcdef"
DOC = {"@timestamp": "2026-03-01T11:58:00Z", "message": "disk full", "level": 2, "team": "storage",
       "host": {"name": "web-1"}, "ips": ["10.0.0.1", "10.0.0.2"]}
BASE = f"""\
name: Disk alerts
type: any
index: logs-*
alert: opsgenie
opsgenie_key: {KEY}
"""


def _rule(make_rule, extra: str = ""):
    return make_rule(BASE + textwrap.dedent(extra))


def _alert(rule, *docs, key=(), subject="Disk full on web-1", body="the body"):
    matches = tuple(Match(at(2026, 3, 1, 11, 58), doc, key=key) for doc in docs)
    return Alert("a1", rule, matches, subject, body)


def test_defaults(make_rule):
    rule = _rule(make_rule)
    notifier = _alerter(rule)
    assert isinstance(notifier, OpsGenieAlerter)
    assert notifier.url(_alert(rule, DOC)) == "https://api.opsgenie.com/v2/alerts"
    assert notifier.payload(_alert(rule, DOC)) == {
        "message": "Disk full on web-1",
        "alias": "logalert/Disk alerts",
        "description": "the body",
        "tags": ["logalert", "Disk alerts"],
        "source": "logalert",
    }
    assert notifier.describe() == "opsgenie (https://api.opsgenie.com/v2/alerts)"


def test_named_templates_read_the_first_match(make_rule):
    rule = _rule(make_rule, """\
        opsgenie_message: "{message} on {host.name}"
        opsgenie_description: "first ip {ips[0]}, missing {nope}"
        opsgenie_alias: "disk-{host.name}"
        opsgenie_entity: "{host.name}"
        opsgenie_source: "logs/{team}"
        opsgenie_priority: "P{level}"
        opsgenie_tags: [disk, "team-{team}"]
        opsgenie_account: logalert-bot
        alert_missing_value: "-"
    """)
    assert _alerter(rule).payload(_alert(rule, DOC)) == {
        "message": "disk full on web-1",
        "alias": "disk-web-1",
        "description": "first ip 10.0.0.1, missing -",
        "tags": ["disk", "team-storage", "logalert", "Disk alerts"],
        "priority": "P2",
        "entity": "web-1",
        "source": "logs/storage",
        "user": "logalert-bot",
    }


def test_subject_with_positional_args_when_there_is_no_message(make_rule):
    rule = _rule(make_rule, """\
        opsgenie_subject: "{0} on {1}"
        opsgenie_subject_args: [message, host.name]
    """)
    assert _alerter(rule).payload(_alert(rule, DOC))["message"] == "disk full on web-1"


def test_message_is_cut_to_130_characters(make_rule):
    rule = _rule(make_rule)
    assert len(_alerter(rule).payload(_alert(rule, DOC, subject="m" * 500))["message"]) == 130


def test_alias_from_query_key_is_stable(make_rule):
    rule = _rule(make_rule, "query_key: host.name\n")
    first = _alerter(rule).payload(_alert(rule, DOC, key=("web-1",), subject="one"))
    again = _alerter(rule).payload(_alert(rule, dict(DOC, message="other"), key=("web-1",), subject="two"))
    assert first["alias"] == again["alias"] == "logalert/Disk alerts/web-1"


def test_responders_from_templates_with_args(make_rule):
    rule = _rule(make_rule, """\
        opsgenie_recipients: ["{owner}@example.com", "oncall@example.com"]
        opsgenie_recipients_args: {owner: no.such.field}
        opsgenie_default_receipients: [fallback@example.com]
        opsgenie_teams: ["{team}_ops"]
        opsgenie_teams_args: {team: team}
    """)
    assert _alerter(rule).payload(_alert(rule, DOC))["responders"] == [
        {"username": "oncall@example.com", "type": "user"},
        {"name": "storage_ops", "type": "team"},
    ]


def test_defaults_when_no_responder_template_can_be_filled(make_rule):
    rule = _rule(make_rule, """\
        opsgenie_recipients: ["{owner}"]
        opsgenie_recipients_args: {owner: owner}
        opsgenie_default_recipients: [fallback@example.com]
        opsgenie_teams: ["{squad}"]
        opsgenie_teams_args: {squad: squad}
        opsgenie_default_teams: [sre]
    """)
    assert _alerter(rule).payload(_alert(rule, DOC))["responders"] == [
        {"username": "fallback@example.com", "type": "user"}, {"name": "sre", "type": "team"}]


def test_elastalerts_misspelled_default_option_still_works(make_rule):
    rule = _rule(make_rule, """\
        opsgenie_recipients: ["{owner}"]
        opsgenie_recipients_args: {owner: owner}
        opsgenie_default_receipients: [old-spelling@example.com]
    """)
    assert _alerter(rule).payload(_alert(rule, DOC))["responders"] == [
        {"username": "old-spelling@example.com", "type": "user"}]


def test_details_from_fields_texts_and_the_environment(make_rule, monkeypatch):
    monkeypatch.setenv("DEPLOY_ENV", "production")
    rule = _rule(make_rule, """\
        opsgenie_details:
          Author: Bob Smith
          Environment: "$DEPLOY_ENV"
          Message: {field: message}
          Level: {field: level}
          Absent: {field: no.such.field}
    """)
    assert _alerter(rule).payload(_alert(rule, DOC))["details"] == {
        "Author": "Bob Smith", "Environment": "production", "Message": "disk full", "Level": "2"}


def test_a_priority_template_that_yields_no_priority_is_left_out(make_rule, caplog):
    rule = _rule(make_rule, "opsgenie_priority: 'P{level}'\n")
    with caplog.at_level(logging.WARNING):
        payload = _alerter(rule).payload(_alert(rule, dict(DOC, level=9)))
    assert "priority" not in payload
    assert "opsgenie_priority 'P9' is not P1-P5" in caplog.text


def test_a_literal_priority_is_checked_at_load(make_rule):
    with pytest.raises(ConfigError) as info:
        _rule(make_rule, "opsgenie_priority: high\n")
    assert "opsgenie_priority: must be P1, P2, P3, P4 or P5" in str(info.value)


def test_a_template_str_format_cannot_parse_is_refused(make_rule):
    with pytest.raises(ConfigError) as info:
        _rule(make_rule, "opsgenie_alias: '{host'\n")
    assert "opsgenie_alias: not a valid format string" in str(info.value)


def test_an_alert_without_matches_still_sends(make_rule):
    rule = _rule(make_rule, "opsgenie_entity: '{host.name}'\nopsgenie_details: {m: {field: message}}\n")
    payload = _alerter(rule).payload(Alert("a1", rule, (), "subject", "body"))
    assert payload["entity"] == "<MISSING VALUE>"
    assert payload["alias"] == "logalert/Disk alerts"
    assert "details" not in payload


def test_addr_for_the_eu_instance_and_templated_addr(make_rule):
    addr = "https://api.eu.opsgenie.com/v2/alerts/{team}/notes?identifierType=alias"
    rule = _rule(make_rule, f"opsgenie_addr: '{addr}'\n")
    assert _alerter(rule).url(_alert(rule, DOC)) == \
        "https://api.eu.opsgenie.com/v2/alerts/storage/notes?identifierType=alias"


@responses.activate
def test_send_uses_the_geniekey_header_and_keeps_it_out_of_errors(make_rule):
    rule = _rule(make_rule)
    responses.post("https://api.opsgenie.com/v2/alerts", status=422,
                   json={"message": f"Key {KEY} is not authorized", "took": 0.001, "requestId": "r1"})
    with pytest.raises(DeliveryError) as info:
        _alerter(rule).send(_alert(rule, DOC))
    (call,) = responses.calls
    assert call.request.headers["Authorization"] == f"GenieKey {KEY}"
    assert json.loads(call.request.body)["message"] == "Disk full on web-1"
    assert info.value.retryable is False
    assert KEY not in str(info.value) and "<secret>" in str(info.value)
    assert KEY not in _alerter(rule).describe()


@responses.activate
def test_a_resolution_closes_the_alert_by_the_triggers_alias(make_rule):
    rule = _rule(make_rule, """\
        query_key: host.name
        send_resolved: true
        opsgenie_account: oncall-bot
        """)
    notifier = _alerter(rule)
    trigger = _alert(rule, DOC, key=("web-1",))
    resolved = Alert("r1", rule, trigger.matches, "[RESOLVED] Disk full on web-1", "quiet since 12:00",
                     status="resolved", since=at(2026, 3, 1, 11, 50))
    responses.post("https://api.opsgenie.com/v2/alerts", json={"result": "Request will be processed"}, status=202)
    close_url = "https://api.opsgenie.com/v2/alerts/logalert%2FDisk%20alerts%2Fweb-1/close?identifierType=alias"
    responses.post(close_url, json={"result": "Request will be processed"}, status=202)
    notifier.send(trigger)
    notifier.send(resolved)
    create, close = responses.calls
    assert json.loads(create.request.body)["alias"] == "logalert/Disk alerts/web-1"
    assert close.request.url == close_url
    assert close.request.headers["Authorization"] == f"GenieKey {KEY}"
    assert json.loads(close.request.body) == {"source": "logalert", "note": "quiet since 12:00", "user": "oncall-bot"}
