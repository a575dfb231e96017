"""MS Teams Adaptive Card shape, colour mapping, size cuts and option checks (responses, no network)."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import responses

from logalert.errors import ConfigError, DeliveryError
from logalert.model import Alert, Match
from logalert.notify.alerters import get
from logalert.notify.alerters.ms_teams import BODY_BUDGET, MAX_LINES, TRUNCATED, MsTeamsAlerter, container_style
from logalert.rules import load_rule

BASE = "name: r\ntype: any\nindex: x\nalert: [ms_teams]\n"
HOOK = "https://example.webhook.office.com/webhookb2/g1/IncomingWebhook/k2/o3"


def _teams(make_rule, extra: str = "ms_teams_webhook_url: https://example.webhook.office.com/webhookb2/abc\n"):
    rule = make_rule(BASE + extra)
    target = rule.alerts[0]
    return rule, get(target.name)(rule, target.options)


def _match(doc):
    return Match(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), doc)


def _card(payload):
    (attachment,) = payload["attachments"]
    assert payload["type"] == "message"
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    return attachment["content"]


@responses.activate
def test_every_option_shapes_the_card_and_each_webhook_gets_it(make_rule):
    rule, alerter = _teams(make_rule, """\
ms_teams_webhook_url:
  - https://example.webhook.office.com/webhookb2/one
  - https://prod-01.westeurope.logic.azure.com/workflows/two/triggers/manual/paths/invoke?sig=s3cr3t
ms_teams_alert_summary: Checkout errors
ms_teams_theme_color: "#ff0000"
ms_teams_alert_fixed_width: true
ms_teams_alert_facts:
  - name: Pod
    value: kubernetes.pod_name
  - name: Runbook
    value: https://wiki.example.com/checkout
""")
    assert isinstance(alerter, MsTeamsAlerter)
    for url in ("https://example.webhook.office.com/webhookb2/one",
                "https://prod-01.westeurope.logic.azure.com/workflows/two/triggers/manual/paths/invoke"):
        responses.post(url, status=202)
    doc = {"kubernetes": {"pod_name": "checkout-1"}}
    alerter.send(Alert("a1", rule, (_match(doc),), "ERROR in checkout", "Errors in checkout\n\nmessage: boom\n"))
    assert [c.request.url.split("/")[3] for c in responses.calls] == ["webhookb2", "workflows"]
    card = _card(json.loads(responses.calls[0].request.body))
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["fallbackText"] == "Checkout errors"
    assert card["body"] == [
        {"type": "Container", "style": "attention", "bleed": True, "items": [
            {"type": "TextBlock", "text": "ERROR in checkout", "weight": "Bolder", "size": "Large", "wrap": True}]},
        {"type": "TextBlock", "text": "Errors in checkout", "wrap": True, "spacing": "Medium", "fontType": "Monospace"},
        {"type": "TextBlock", "text": "message: boom", "wrap": True, "spacing": "Medium", "fontType": "Monospace"},
        {"type": "FactSet", "facts": [{"title": "Pod", "value": "checkout-1"},
                                      {"title": "Runbook", "value": "https://wiki.example.com/checkout"}]},
    ]
    assert json.loads(responses.calls[1].request.body) == json.loads(responses.calls[0].request.body)


def test_defaults_plain_title_summary_is_subject_and_lines_stay_lines(make_rule):
    rule, alerter = _teams(make_rule)
    card = _card(alerter.payload(Alert("a1", rule, (), "Disk full", "line one\nline two\n")))
    assert card["fallbackText"] == "Disk full"
    assert card["body"][0] == {"type": "TextBlock", "text": "Disk full", "weight": "Bolder", "size": "Large",
                               "wrap": True}
    assert [(b["text"], b["spacing"]) for b in card["body"][1:]] == [("line one", "Medium"), ("line two", "None")]
    assert "fontType" not in card["body"][1]


def test_an_alert_without_matches_shows_facts_as_written(make_rule):
    rule, alerter = _teams(make_rule, f"ms_teams_webhook_url: {HOOK}\n"
                                      "ms_teams_alert_facts: [{name: Host, value: host.name}, {name: Port, value: 443}]\n")
    card = _card(alerter.payload(Alert("a1", rule, (), "S", "B")))
    assert card["body"][-1] == {"type": "FactSet", "facts": [{"title": "Host", "value": "host.name"},
                                                             {"title": "Port", "value": "443"}]}


@pytest.mark.parametrize("body", ["x" * 100_000, "\n".join(f"line {i}" for i in range(1000)), '"' * 20_000])
def test_long_bodies_are_cut_to_fit_teams_message_limit(make_rule, body):
    rule, alerter = _teams(make_rule)
    payload = alerter.payload(Alert("a1", rule, (), "S", body))
    blocks = _card(payload)["body"][1:]
    assert blocks[-1]["text"] == TRUNCATED
    assert len(blocks) <= MAX_LINES + 1
    assert len(json.dumps(payload)) < BODY_BUDGET + 2_000 < 28_000


@pytest.mark.parametrize("status, retryable", [(429, True), (502, True), (413, False)])
@responses.activate
def test_a_legacy_connector_200_that_relays_a_failure_is_not_delivery(make_rule, status, retryable):
    rule, alerter = _teams(make_rule)
    responses.post("https://example.webhook.office.com/webhookb2/abc", status=200,
                   body=f"Webhook message delivery failed with error: Microsoft Teams endpoint returned HTTP error "
                        f"{status} with ContextId tcid=0,server=msgapi-production,cv=x.0..")
    with pytest.raises(DeliveryError) as info:
        alerter.send(Alert("a1", rule, (), "S", "B"))
    assert info.value.retryable is retryable
    assert str(info.value).startswith(f"MS Teams webhook relayed HTTP {status}: Webhook message delivery failed")


@responses.activate
def test_a_plain_200_is_delivery(make_rule):
    rule, alerter = _teams(make_rule)
    responses.post("https://example.webhook.office.com/webhookb2/abc", status=200, body="1")
    alerter.send(Alert("a1", rule, (), "S", "B"))
    assert len(responses.calls) == 1


@pytest.mark.parametrize("color, style", [("#ff0000", "attention"), ("#f00", "attention"), ("#E81123", "attention"),
                                          ("#ffb900", "warning"), ("#00ff00", "good"), ("#107c10", "good"),
                                          ("#6600ff", "accent"), ("#0078d4", "accent"), ("#808080", "emphasis"),
                                          ("#000000", "emphasis"), ("red", None), (None, None)])
def test_theme_colours_map_to_the_nearest_teams_style(color, style):
    assert container_style(color) == style


@pytest.mark.parametrize("extra, message", [
    (f"ms_teams_webhook_url: {HOOK}\nms_teams_theme_color: red\n",
     "ms_teams_theme_color: must be an HTML colour such as '#ff0000', not 'red'"),
    ("ms_teams_webhook_url: hooks.example/SECRETPART\n", "ms_teams_webhook_url: must be an http:// or https:// URL"),
])
def test_bad_values_are_refused_at_load_without_quoting_the_url(make_rule, extra, message):
    with pytest.raises(ConfigError) as info:
        make_rule(BASE + extra)
    assert message in str(info.value)
    assert "SECRETPART" not in str(info.value)


KIBANA = """\
generate_kibana_discover_url: true
kibana_discover_app_url: "http://kibana:5601/app/discover#/"
kibana_discover_index_pattern_id: "logs-id"
kibana_discover_version: "8.11"
"""


def test_discover_link_options_load_without_warnings(tmp_path, config):
    path = tmp_path / "r.yaml"
    path.write_text(f"{BASE}ms_teams_webhook_url: {HOOK}\n{KIBANA}ms_teams_attach_kibana_discover_url: true\n")
    _rule, warnings = load_rule(str(path), config)
    assert warnings == []


def test_attached_discover_link_is_a_button_under_the_card(make_rule):
    from logalert.notify import discover

    rule, alerter = _teams(make_rule, f"ms_teams_webhook_url: {HOOK}\n{KIBANA}ms_teams_attach_kibana_discover_url: true\n"
                                      "ms_teams_kibana_discover_title: Open logs\n")
    match = _match({"level": "ERROR"})
    card = _card(alerter.payload(Alert("a", rule, (match,), "S", "B")))
    assert card["actions"] == [{"type": "Action.OpenUrl", "title": "Open logs",
                                "url": discover.url(rule, match, "kibana")}]


def test_no_button_without_attach_or_without_a_match(make_rule):
    rule, alerter = _teams(make_rule, f"ms_teams_webhook_url: {HOOK}\n{KIBANA}")
    assert "actions" not in _card(alerter.payload(Alert("a", rule, (_match({}),), "S", "B")))
    rule, alerter = _teams(make_rule, f"ms_teams_webhook_url: {HOOK}\n{KIBANA}ms_teams_attach_kibana_discover_url: true\n")
    assert "actions" not in _card(alerter.payload(Alert("a", rule, (), "S", "B")))


def test_describe_hides_the_webhooks(make_rule):
    _rule, alerter = _teams(make_rule, f"ms_teams_webhook_url: [{HOOK}/4, {HOOK}/5]\n")
    assert alerter.describe() == "ms_teams (2 webhooks: <secret>)"
