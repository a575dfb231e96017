"""Discord webhook message shape, limits and 429 handling (responses, no network)."""

from __future__ import annotations

import json

import pytest
import responses

from logalert.errors import ConfigError, DeliveryError
from logalert.model import Alert
from logalert.notify.alerters import get
from logalert.notify.alerters.discord import DESCRIPTION_LIMIT, EMBED_LIMIT, DiscordAlerter

URL = "https://discord.com/api/webhooks/123456789/AbCdEfSecretToken"
BASE = f"name: r\ntype: any\nindex: x\nalert: [discord]\ndiscord_webhook_url: \"{URL}\"\n"


def _hook(make_rule, extra: str = ""):
    rule = make_rule(BASE + extra)
    target = rule.alerts[0]
    return rule, get(target.name)(rule, target.options)


def _alert(rule, body="Errors in checkout\n\nmessage: boom\n"):
    return Alert("a1", rule, (), "ERROR in checkout", body)


@responses.activate
def test_defaults_title_between_warning_emojis_body_in_a_white_embed(make_rule):
    rule, hook = _hook(make_rule)
    assert isinstance(hook, DiscordAlerter)
    responses.post(URL, status=204)
    hook.send(_alert(rule))
    (call,) = responses.calls
    assert call.request.headers["Content-Type"] == "application/json"
    assert json.loads(call.request.body) == {
        "content": ":warning: ERROR in checkout :warning:",
        "embeds": [{"color": 0xFFFFFF, "description": "Errors in checkout\n\nmessage: boom"}],
    }


@pytest.mark.parametrize("color", ["0xE24D42", "'#e24d42'", "'E24D42'"])
def test_footer_icon_and_colour_as_ea2_rules_write_them(make_rule, color):
    rule, hook = _hook(make_rule, f"discord_emoji_title: ':lock:'\ndiscord_embed_color: {color}\n"
                                  "discord_embed_footer: sent by logalert\n"
                                  "discord_embed_icon_url: https://example.com/icon.png\n")
    assert hook.payload(_alert(rule)) == {
        "content": "ERROR in checkout",  # the icon replaces the emoji
        "embeds": [{"color": 0xE24D42, "description": "Errors in checkout\n\nmessage: boom",
                    "footer": {"text": "sent by logalert", "icon_url": "https://example.com/icon.png"}}],
    }


def test_long_text_is_cut_to_discords_limits(make_rule):
    rule, hook = _hook(make_rule, f"discord_embed_footer: \"{'f' * 3000}\"\n")
    payload = hook.payload(Alert("a1", rule, (), "S" * 3000, "b" * 10_000))
    embed = payload["embeds"][0]
    assert len(payload["content"]) == 2000
    assert len(embed["footer"]["text"]) == 2048
    assert len(embed["description"]) == EMBED_LIMIT - 2048 < DESCRIPTION_LIMIT
    assert embed["description"].endswith("(cut at Discord's limit)")


def test_description_alone_stops_at_4096(make_rule):
    rule, hook = _hook(make_rule)
    assert len(hook.payload(_alert(rule, body="b" * 10_000))["embeds"][0]["description"]) == DESCRIPTION_LIMIT


@responses.activate
def test_429_waits_as_long_as_the_json_body_says(make_rule):
    rule, hook = _hook(make_rule)
    responses.post(URL, status=429, headers={"Retry-After": "3"},
                   json={"message": "You are being rate limited.", "retry_after": 2.5, "global": False})
    with pytest.raises(DeliveryError) as info:
        hook.send(_alert(rule))
    assert (info.value.retryable, info.value.retry_after) == (True, 2.5)


def test_bad_colour_is_refused_at_load(make_rule):
    with pytest.raises(ConfigError) as info:
        make_rule(BASE + "discord_embed_color: red\n")
    assert "discord_embed_color" in str(info.value)


def test_describe_hides_the_webhook(make_rule):
    _rule, hook = _hook(make_rule)
    assert hook.describe() == "discord (webhook: <secret>)"
