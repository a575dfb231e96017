"""Chat notifiers (ms_teams, ms_power_automate, telegram, discord, mattermost, googlechat)
against a real HTTP receiver on 127.0.0.1: the request each service's API documents,
and how answers are classified — 503 and 429 retryable (429 with its wait), 400 not —
with the secret (webhook URL or bot token) never in an error or in describe()."""

from __future__ import annotations

import pytest

from logalert.errors import DeliveryError
from tests.support.receivers import Behaviour, WebhookReceiver, free_port

from .conftest import alert_for, notifier

# How a user writes each notifier in an ElastAlert 2 rule; {url} is the receiver, {secret} the secret part.
HOOKS = {
    "ms_teams": 'ms_teams_webhook_url: "{url}/webhookb2/g1@t1/IncomingWebhook/{secret}/o1"',
    "ms_power_automate": ('ms_power_automate_webhook_url: "{url}/workflows/w1/triggers/manual/paths/invoke'
                          '?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={secret}"'),
    "telegram": 'telegram_bot_token: "123456:{secret}"\ntelegram_room_id: "-1001234567"\ntelegram_api_url: "{url}"',
    "discord": 'discord_webhook_url: "{url}/api/webhooks/987654321/{secret}"',
    "mattermost": 'mattermost_webhook_url: "{url}/hooks/{secret}"',
    "googlechat": 'googlechat_webhook_url: "{url}/v1/spaces/AAAA/messages?key=k3y&token={secret}"',
}
DOC = {"@timestamp": "2026-01-01T10:00:00Z", "level": "ERROR", "message": "payment gateway timeout",
       "kubernetes": {"pod_name": "checkout-7d9f8b6c5-x2kqz"}}


def _secret(name: str) -> str:
    return f"{name}-S3cr3tT0ken"


def _rule(make_rule, name: str, url: str, extra: str = ""):
    hook = HOOKS[name].format(url=url, secret=_secret(name))
    return make_rule(f"name: Checkout errors\ntype: any\nindex: logs-*\nalert: [{name}]\n{hook}\n{extra}")


def _send(make_rule, name: str, url: str, extra: str = "", **alert):
    rule = _rule(make_rule, name, url, extra)
    alerter = notifier(rule)
    alerter.send(alert_for(rule, DOC, subject="ERROR in checkout", body="payment gateway timeout\n", **alert))
    return alerter


# --- the request each API documents ---------------------------------------------------
def test_ms_teams_posts_an_adaptive_card_message(make_rule, receiver):
    _send(make_rule, "ms_teams", receiver.url, "ms_teams_alert_facts: [{name: Pod, value: kubernetes.pod_name}]\n")
    (got,) = receiver.delivered
    assert (got.method, got.path) == ("POST", f"/webhookb2/g1@t1/IncomingWebhook/{_secret('ms_teams')}/o1")
    assert got.header("Content-Type") == "application/json"
    assert got.body["type"] == "message"
    (attachment,) = got.body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert (card["type"], card["version"], card["fallbackText"]) == ("AdaptiveCard", "1.4", "ERROR in checkout")
    assert [b.get("text") for b in card["body"][:2]] == ["ERROR in checkout", "payment gateway timeout"]
    assert card["body"][-1] == {"type": "FactSet", "facts": [{"title": "Pod", "value": "checkout-7d9f8b6c5-x2kqz"}]}


def test_ms_power_automate_posts_the_card_to_the_flow_url_with_its_query(make_rule, receiver):
    _send(make_rule, "ms_power_automate", receiver.url, "ms_power_automate_teams_card_width_full: true\n")
    (got,) = receiver.delivered
    assert got.method == "POST"
    assert got.path == ("/workflows/w1/triggers/manual/paths/invoke?api-version=2016-06-01"
                        f"&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={_secret('ms_power_automate')}")
    card = got.body["attachments"][0]["content"]
    assert card["msteams"] == {"width": "Full"}
    assert card["body"][0] == {"type": "TextBlock", "text": "ERROR in checkout", "weight": "Bolder", "wrap": True,
                               "size": "large"}


def test_telegram_calls_send_message_of_the_bot(make_rule):
    answer = {"ok": True, "result": {"message_id": 42, "chat": {"id": -1001234567}, "date": 1767261600}}
    with WebhookReceiver(respond=lambda req: Behaviour(200, body=answer)) as api:
        _send(make_rule, "telegram", api.url, "telegram_parse_mode: html\ntelegram_thread_id: 7\n")
    (got,) = api.delivered
    assert (got.method, got.path) == ("POST", f"/bot123456:{_secret('telegram')}/sendMessage")
    assert got.header("Content-Type") == "application/json"
    assert got.body == {"chat_id": "-1001234567", "message_thread_id": 7, "parse_mode": "HTML",
                        "disable_web_page_preview": True,
                        "text": "⚠ <b>ERROR in checkout</b> ⚠\n\npayment gateway timeout"}


def test_discord_executes_the_webhook(make_rule):
    with WebhookReceiver() as api:
        api.default = Behaviour(204, body=b"")  # Discord answers 204 No Content without ?wait=true
        _send(make_rule, "discord", api.url, "discord_embed_color: 0xE24D42\ndiscord_embed_footer: logalert\n")
    (got,) = api.delivered
    assert (got.method, got.path) == ("POST", f"/api/webhooks/987654321/{_secret('discord')}")
    assert got.header("Content-Type") == "application/json"
    assert got.body == {"content": ":warning: ERROR in checkout :warning:",
                        "embeds": [{"color": 0xE24D42, "description": "payment gateway timeout",
                                    "footer": {"text": "logalert"}}]}


def test_mattermost_posts_once_per_channel_override(make_rule, receiver):
    _send(make_rule, "mattermost", receiver.url, "mattermost_channel_override: [town-square, '@alice']\n")
    assert [(r.method, r.path, r.body["channel"]) for r in receiver.delivered] == [
        ("POST", f"/hooks/{_secret('mattermost')}", "town-square"),
        ("POST", f"/hooks/{_secret('mattermost')}", "@alice")]
    body = receiver.delivered[0].body
    assert (body["text"], body["username"], body["icon_emoji"]) == ("payment gateway timeout", "logalert", ":ghost:")
    assert body["attachments"][0]["title"] == "ERROR in checkout"


def test_googlechat_card_to_the_space_webhook(make_rule, receiver):
    _send(make_rule, "googlechat", receiver.url, "googlechat_format: card\ngooglechat_header_subtitle: prod\n")
    (got,) = receiver.delivered
    assert (got.method, got.path) == ("POST", f"/v1/spaces/AAAA/messages?key=k3y&token={_secret('googlechat')}")
    assert got.header("Content-Type") == "application/json"
    (card,) = got.body["cardsV2"]
    assert card["card"]["header"] == {"title": "ERROR in checkout", "subtitle": "prod"}
    assert card["card"]["sections"] == [{"widgets": [{"textParagraph": {"text": "payment gateway timeout"}}]}]


def test_an_alert_resent_without_its_matches_still_goes_out(make_rule, receiver):
    for name in ("ms_teams", "ms_power_automate", "discord", "mattermost", "googlechat"):
        rule = _rule(make_rule, name, receiver.url, "")
        notifier(rule).send(alert_for(rule, subject="ERROR in checkout"))
    assert len(receiver.delivered) == 5


# --- answers, retries and secrets ------------------------------------------------------
NAMES = sorted(HOOKS)
RATE_LIMITS = [(name, Behaviour(429, headers={"Retry-After": "7"}, body="slow down"), 7.0) for name in NAMES] + [
    ("telegram", Behaviour(429, body={"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 9",
                                      "parameters": {"retry_after": 9}}), 9.0),
    ("discord", Behaviour(429, body={"message": "You are being rate limited.", "retry_after": 1.5, "global": False}),
     1.5),
]


def _failure(make_rule, name: str, behaviour: Behaviour) -> tuple[DeliveryError, str]:
    with WebhookReceiver() as api:
        api.script = [behaviour]
        rule = _rule(make_rule, name, api.url)
        alerter = notifier(rule)
        with pytest.raises(DeliveryError) as info:
            alerter.send(alert_for(rule, DOC))
        assert len(api.requests) == 1
    return info.value, alerter.describe()


@pytest.mark.parametrize("name", NAMES)
def test_503_is_retryable(make_rule, name):
    error, _ = _failure(make_rule, name, Behaviour(503, body="Service Unavailable"))
    assert (error.retryable, error.retry_after) == (True, None)
    assert "HTTP 503: Service Unavailable" in str(error)


@pytest.mark.parametrize("name, behaviour, seconds", RATE_LIMITS, ids=[f"{n}-{s:g}s" for n, _, s in RATE_LIMITS])
def test_429_is_retryable_after_the_wait_the_service_asks(make_rule, name, behaviour, seconds):
    error, _ = _failure(make_rule, name, behaviour)
    assert (error.retryable, error.retry_after) == (True, seconds)
    assert "rate limit (HTTP 429)" in str(error)


@pytest.mark.parametrize("name", NAMES)
def test_400_is_not_retried_and_the_secret_it_echoes_is_masked(make_rule, name):
    echo = WebhookReceiver(respond=lambda req: Behaviour(400, body=f"bad request to {req.path}"))
    with echo:
        rule = _rule(make_rule, name, echo.url)
        alerter = notifier(rule)
        with pytest.raises(DeliveryError) as info:
            alerter.send(alert_for(rule, DOC))
    assert info.value.retryable is False
    assert _secret(name) in echo.requests[0].path  # the answer did quote it…
    assert "<secret>" in str(info.value)  # …and the error says so without it
    assert _secret(name) not in str(info.value)
    assert _secret(name) not in alerter.describe() and echo.url not in alerter.describe()


@pytest.mark.parametrize("name", NAMES)
def test_an_unreachable_service_is_retryable_and_masked(make_rule, name):
    rule = _rule(make_rule, name, f"http://127.0.0.1:{free_port()}")
    alerter = notifier(rule)
    with pytest.raises(DeliveryError) as info:
        alerter.send(alert_for(rule, DOC))
    assert info.value.retryable is True
    assert "unreachable" in str(info.value) and _secret(name) not in str(info.value)
