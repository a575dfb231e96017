"""Power Automate Adaptive Card shape and webhook choice (responses, no network)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import responses

from logalert.errors import ConfigError, DeliveryError
from logalert.model import Alert, Match
from logalert.notify.alerters import get
from logalert.notify.alerters.ms_power_automate import MsPowerAutomateAlerter

URL = "https://prod-01.westeurope.logic.azure.com/workflows/abc/triggers/manual/paths/invoke?sig=s3cr3tsig"
BASE = f"name: r\ntype: any\nindex: x\nalert: [ms_power_automate]\nms_power_automate_webhook_url: \"{URL}\"\n"


def _flow(make_rule, extra: str = ""):
    rule = make_rule(BASE + extra)
    target = rule.alerts[0]
    return rule, get(target.name)(rule, target.options)


def _alert(rule, *docs, body="Errors in checkout\nmessage: boom\n"):
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return Alert("a1", rule, tuple(Match(when, d) for d in docs), "ERROR in checkout", body)


def _card(payload):
    return payload["attachments"][0]["content"]


def test_defaults_give_a_large_bold_subject_and_the_body(make_rule):
    rule, alerter = _flow(make_rule)
    assert isinstance(alerter, MsPowerAutomateAlerter)
    payload = alerter.payload(_alert(rule))
    assert payload["type"] == "message"
    assert payload["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = _card(payload)
    assert "msteams" not in card
    assert card["body"] == [
        {"type": "TextBlock", "text": "ERROR in checkout", "weight": "Bolder", "wrap": True, "size": "large"},
        {"type": "TextBlock", "text": "Errors in checkout", "wrap": True, "spacing": "Medium"},
        {"type": "TextBlock", "text": "message: boom", "wrap": True, "spacing": "None"},
    ]


def test_summary_sizes_width_and_facts(make_rule):
    rule, alerter = _flow(make_rule, """\
ms_power_automate_alert_summary: Checkout is failing
ms_power_automate_summary_text_size: extraLarge
ms_power_automate_body_text_size: small
ms_power_automate_teams_card_width_full: true
ms_power_automate_alert_facts:
  - name: Team
    value: payments
  - name: Pod
    value: kubernetes.pod_name
""")
    card = _card(alerter.payload(_alert(rule, {"kubernetes": {"pod_name": "checkout-1"}})))
    assert card["msteams"] == {"width": "Full"}
    assert card["fallbackText"] == "Checkout is failing"
    assert card["body"][0]["text"] == "Checkout is failing" and card["body"][0]["size"] == "extraLarge"
    assert {b.get("size") for b in card["body"][1:3]} == {"small"}
    assert card["body"][3] == {"type": "FactSet", "facts": [{"title": "Team", "value": "payments"},
                                                            {"title": "Pod", "value": "checkout-1"}]}


@responses.activate
def test_webhook_from_a_field_of_the_match_else_the_configured_one(make_rule):
    rule, alerter = _flow(make_rule, "ms_power_automate_webhook_url_from_field: team.webhook\n")
    team_a, team_b = "https://flows.example/workflows/team-a-hook", "https://flows.example/workflows/team-b-hook"
    responses.post(team_a, status=202)
    responses.post(team_b, status=202)
    responses.post(URL.split("?")[0], status=202)
    alerter.send(_alert(rule, {"team": {"webhook": f"{team_a}, {team_b}"}}))
    alerter.send(_alert(rule, {"team": {}}))
    alerter.send(_alert(rule))  # re-sent from the outbox: no matches
    assert [c.request.url for c in responses.calls] == [team_a, team_b, URL, URL]
    assert json.loads(responses.calls[0].request.body)["type"] == "message"
    assert alerter.describe() == "ms_power_automate (1 webhook: <secret>, or from field team.webhook)"


@responses.activate
def test_a_webhook_taken_from_a_document_is_masked_too(make_rule):
    rule, alerter = _flow(make_rule, "ms_power_automate_webhook_url_from_field: hook\n")
    responses.post("https://flows.example/doc-hook-xyz", status=404, body="no flow at /doc-hook-xyz")
    with pytest.raises(DeliveryError) as info:
        alerter.send(_alert(rule, {"hook": "https://flows.example/doc-hook-xyz"}))
    assert info.value.retryable is False
    assert str(info.value) == "Power Automate webhook answered HTTP 404: no flow at <secret>"


def test_unknown_text_size_is_refused(make_rule):
    with pytest.raises(ConfigError) as info:
        make_rule(BASE + "ms_power_automate_body_text_size: huge\n")
    assert "ms_power_automate_body_text_size" in str(info.value)


OPENSEARCH = """\
generate_opensearch_discover_url: true
opensearch_discover_app_url: "http://dash:5601/app/data-explorer/discover#"
opensearch_discover_index_pattern_id: "os-logs"
opensearch_discover_version: "2.11"
"""


def test_opensearch_discover_button_with_its_title_and_style(make_rule):
    from logalert.notify import discover

    rule, alerter = _flow(make_rule, OPENSEARCH + "ms_power_automate_opensearch_discover_attach_url: true\n"
                                     "ms_power_automate_opensearch_discover_color: positive\n")
    alert = _alert(rule, {"level": "ERROR"})
    assert _card(alerter.payload(alert))["actions"] == [
        {"type": "Action.OpenUrl", "title": "Discover in opensearch", "style": "positive",
         "url": discover.url(rule, alert.matches[0], "opensearch")}]
