"""Google Chat webhook messages, basic and Cards v2 (responses, no network)."""

from __future__ import annotations

import json

import pytest
import responses

from logalert.model import Alert
from logalert.notify.alerters import get
from logalert.notify.alerters.googlechat import BODY_BYTES, GoogleChatAlerter

URL = "https://chat.googleapis.com/v1/spaces/AAAA/messages?key=k3y&token=t0kenSecret"
BASE = f"name: r\ntype: any\nindex: x\nalert: [googlechat]\ngooglechat_webhook_url: \"{URL}\"\n"


def _chat(make_rule, extra: str = ""):
    rule = make_rule(BASE + extra)
    target = rule.alerts[0]
    return rule, get(target.name)(rule, target.options)


def _alert(rule, body="Errors in checkout\nlatency < 5 & rising\n"):
    return Alert("a1", rule, (), "ERROR in checkout", body)


@responses.activate
def test_basic_is_a_text_message_with_a_bold_title(make_rule):
    rule, chat = _chat(make_rule)
    assert isinstance(chat, GoogleChatAlerter)
    responses.post(URL, json={"name": "spaces/AAAA/messages/1"})
    chat.send(_alert(rule))
    (call,) = responses.calls
    assert call.request.url == URL
    assert call.request.headers["Content-Type"] == "application/json"
    assert json.loads(call.request.body) == {"text": "*ERROR in checkout*\nErrors in checkout\nlatency < 5 & rising"}


def test_card_with_header_options_escaped_body_and_kibana_button(make_rule):
    rule, chat = _chat(make_rule, """\
googlechat_format: card
googlechat_header_title: Checkout alert
googlechat_header_subtitle: production
googlechat_header_image: https://example.com/logo.png
googlechat_footer_kibanalink: https://kibana.example.com/app/discover
""")
    assert chat.payload(_alert(rule)) == {"cardsV2": [{"cardId": "logalert-alert", "card": {
        "header": {"title": "Checkout alert", "subtitle": "production", "imageUrl": "https://example.com/logo.png"},
        "sections": [
            {"widgets": [{"textParagraph": {"text": "Errors in checkout<br>latency &lt; 5 &amp; rising"}}]},
            {"widgets": [{"buttonList": {"buttons": [{"text": "VISIT KIBANA", "onClick": {
                "openLink": {"url": "https://kibana.example.com/app/discover"}}}]}}]},
        ],
    }}]}


def test_a_card_without_header_options_is_titled_with_the_subject(make_rule):
    rule, chat = _chat(make_rule, "googlechat_format: card\n")
    card = chat.payload(_alert(rule))["cardsV2"][0]["card"]
    assert card["header"] == {"title": "ERROR in checkout"}
    assert len(card["sections"]) == 1


@pytest.mark.parametrize("fmt", ["basic", "card"])
@pytest.mark.parametrize("body", ["é" * 40_000, "<&>" * 20_000])
def test_long_bodies_fit_chats_32000_byte_limit(make_rule, fmt, body):
    rule, chat = _chat(make_rule, f"googlechat_format: {fmt}\n")
    payload = chat.payload(_alert(rule, body=body))
    assert BODY_BYTES // 2 < len(json.dumps(payload, ensure_ascii=False).encode()) < 32_000
    assert "cut at Google Chat's message limit" in json.dumps(payload)


def test_describe_hides_the_webhooks(make_rule):
    _rule, chat = _chat(make_rule, "googlechat_format: card\n")
    assert chat.describe() == "googlechat (1 webhook: <secret>, card)"
