"""PagerDuty Events API payloads (v2 and v1), templates, dedup keys and option handling
(responses, no network)."""

from __future__ import annotations

import json
import textwrap

import pytest
import responses

from logalert.errors import ConfigError, DeliveryError
from logalert.model import Alert, Match
from logalert.notify.alerters.pagerduty import PagerDutyAlerter
from tests.support.notifiers import notifier as _alerter

from ...conftest import at

KEY = "R0UT1NGKEY0123456789abcdef"
DOC = {"@timestamp": "2026-03-01T11:58:00Z", "message": "disk full", "clientip": "10.0.0.7",
       "host": {"name": "web-1"}, "service": "billing"}
BASE = f"""\
name: Disk alerts
type: any
index: logs-*
alert: pagerduty
pagerduty_service_key: {KEY}
"""


def _rule(make_rule, extra: str = ""):
    return make_rule(BASE + textwrap.dedent(extra))


def _alert(rule, *docs, key=(), subject="Disk full on web-1", body="the body"):
    matches = tuple(Match(at(2026, 3, 1, 11, 58), doc, key=key) for doc in docs)
    return Alert("a1", rule, matches, subject, body)


def test_defaults_send_a_v2_trigger_with_a_stable_dedup_key(make_rule):
    rule = _rule(make_rule)
    notifier = _alerter(rule)
    assert isinstance(notifier, PagerDutyAlerter)
    assert notifier.url() == "https://events.pagerduty.com/v2/enqueue"
    assert notifier.payload(_alert(rule, DOC)) == {
        "routing_key": KEY,
        "event_action": "trigger",
        "dedup_key": "logalert/Disk alerts",
        "client": "logalert",
        "payload": {
            "summary": "Disk full on web-1",
            "source": "logalert",
            "severity": "critical",
            "timestamp": "2026-03-01T11:58:00.000Z",
            "custom_details": {"information": "the body"},
        },
    }


def test_payload_options_with_args_as_elastalert_rules_write_them(make_rule):
    rule = _rule(make_rule, """\
        pagerduty_client_name: ops-logs
        pagerduty_event_type: acknowledge
        pagerduty_incident_key: "disk/{0}/{1}"
        pagerduty_incident_key_args: [host.name, nope]
        pagerduty_v2_payload_class: "{0}"
        pagerduty_v2_payload_class_args: [message]
        pagerduty_v2_payload_component: "svc-{0}"
        pagerduty_v2_payload_component_args: [service]
        pagerduty_v2_payload_group: app-stack
        pagerduty_v2_payload_severity: warning
        pagerduty_v2_payload_source: "{0} in {1}"
        pagerduty_v2_payload_source_args: [host.name, index]
        pagerduty_v2_payload_custom_details:
          ip: clientip
          team: storage-team
        pagerduty_v2_payload_include_all_info: false
        alert_missing_value: "?"
    """)
    body = _alerter(rule).payload(_alert(rule, DOC))
    assert body["client"] == "ops-logs"
    assert body["event_action"] == "acknowledge"
    assert body["dedup_key"] == "disk/web-1/?"  # a missing field -> alert_missing_value
    assert body["payload"] == {
        "summary": "Disk full on web-1",
        "source": "web-1 in logs-*",  # `index` is not in the match: the rule option, as in ElastAlert
        "severity": "warning",
        "timestamp": "2026-03-01T11:58:00.000Z",
        "class": "disk full",
        "component": "svc-billing",
        "group": "app-stack",
        "custom_details": {"ip": "10.0.0.7", "team": "storage-team"},  # not a field: the text itself
    }


def test_without_args_a_template_is_literal(make_rule):
    rule = _rule(make_rule, "pagerduty_incident_key: 'static-{0}'\n")
    assert _alerter(rule).dedup_key(_alert(rule, DOC)) == "static-{0}"


def test_the_derived_key_carries_the_query_key_values(make_rule):
    rule = _rule(make_rule, "query_key: [host.name, service]\n")
    alert = _alert(rule, DOC, key=("web-1", "billing"))
    assert _alerter(rule).dedup_key(alert) == "logalert/Disk alerts/web-1/billing"
    assert _alerter(rule).dedup_key(_alert(rule, DOC, key=("web-1", "billing"), subject="other")) == \
        "logalert/Disk alerts/web-1/billing"


def test_a_too_long_derived_key_stays_unique_within_the_limit(make_rule):
    rule = _rule(make_rule)
    one = _alerter(rule).dedup_key(_alert(rule, DOC, key=("x" * 300 + "1",)))
    two = _alerter(rule).dedup_key(_alert(rule, DOC, key=("x" * 300 + "2",)))
    assert len(one) == len(two) == 255 and one != two


def test_summary_is_cut_to_pagerdutys_limit(make_rule):
    rule = _rule(make_rule)
    assert len(_alerter(rule).payload(_alert(rule, DOC, subject="s" * 3000))["payload"]["summary"]) == 1024


def test_an_alert_without_matches_still_sends(make_rule):
    rule = _rule(make_rule, """\
        query_key: host.name
        pagerduty_v2_payload_source: "{0}"
        pagerduty_v2_payload_source_args: [host.name]
    """)
    body = _alerter(rule).payload(Alert("a1", rule, (), "subject", "body"))
    assert body["dedup_key"] == "logalert/Disk alerts"
    assert body["payload"]["source"] == "<MISSING VALUE>"
    assert "timestamp" not in body["payload"]


def test_v1_event_and_path(make_rule):
    rule = _rule(make_rule, """\
        pagerduty_api_version: v1
        pagerduty_incident_key: disk-full
    """)
    notifier = _alerter(rule)
    assert notifier.url() == "https://events.pagerduty.com/generic/2010-04-15/create_event.json"
    assert notifier.payload(_alert(rule, DOC)) == {
        "service_key": KEY, "event_type": "trigger", "incident_key": "disk-full",
        "description": "Disk full on web-1", "details": {"information": "the body"}, "client": "logalert",
    }


def test_api_url_may_omit_the_scheme(make_rule):
    rule = _rule(make_rule, "pagerduty_api_url: events.eu.pagerduty.com/\n")
    assert _alerter(rule).url() == "https://events.eu.pagerduty.com/v2/enqueue"
    assert _alerter(rule).describe() == "pagerduty (Events API v2 at https://events.eu.pagerduty.com)"


def test_invalid_options_are_refused_at_load(make_rule):
    with pytest.raises(ConfigError) as info:
        _rule(make_rule, """\
            pagerduty_v2_payload_severity: fatal
            pagerduty_event_type: close
        """)
    text = str(info.value)
    assert "pagerduty_v2_payload_severity: must be one of 'critical', 'error', 'warning', 'info', got 'fatal'" in text
    assert "pagerduty_event_type: must be one of" in text


def test_a_template_str_format_cannot_parse_is_refused(make_rule):
    with pytest.raises(ConfigError) as info:
        _rule(make_rule, "pagerduty_incident_key: '{0'\npagerduty_incident_key_args: [host]\n")
    assert "pagerduty_incident_key: not a valid format string" in str(info.value)


def test_the_service_key_is_required(make_rule):
    with pytest.raises(ConfigError) as info:
        make_rule("name: r\ntype: any\nindex: x\nalert: pagerduty\n")
    assert "pagerduty_service_key: required by the 'pagerduty' notifier but not set" in str(info.value)


@responses.activate
def test_send_posts_json_and_secret_stays_out_of_errors(make_rule):
    rule = _rule(make_rule)
    responses.post("https://events.pagerduty.com/v2/enqueue", status=400,
                   json={"status": "invalid event", "message": f"routing key {KEY} is bad"})
    with pytest.raises(DeliveryError) as info:
        _alerter(rule).send(_alert(rule, DOC))
    (call,) = responses.calls
    assert json.loads(call.request.body)["routing_key"] == KEY
    assert info.value.retryable is False
    assert KEY not in str(info.value) and "<secret>" in str(info.value)
    assert KEY not in _alerter(rule).describe()
