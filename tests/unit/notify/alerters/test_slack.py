"""Slack incoming-webhook request shape and error classification (responses, no network)."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from logalert.errors import DeliveryError
from logalert.model import Alert
from logalert.notify.alerters.slack import SlackAlerter
from logalert.rules import load_rule
from tests.support.notifiers import notifier as _alerter

from ...conftest import FIXTURES

SEED_URL = "https://hooks.slack.com/services/XXXXX/YYYYY/ZZZZZ"


@pytest.fixture
def seed(config):
    rule, _ = load_rule(str(FIXTURES / "seed_rule.yaml"), config)
    return rule


def _alert(rule, body="occur error on some components!"):
    return Alert("a1", rule, (), "Error!!", body)


def test_registry_gives_the_slack_alerter(seed):
    assert isinstance(_alerter(seed), SlackAlerter)
    assert _alerter(seed).describe() == "slack (1 webhook: <secret>)"


@responses.activate
def test_seed_rule_posts_one_attachment_to_the_webhook(seed):
    responses.post(SEED_URL, body="ok")
    _alerter(seed).send(_alert(seed))
    (call,) = responses.calls
    assert call.request.url == SEED_URL
    assert call.request.headers["Content-Type"] == "application/json"
    assert json.loads(call.request.body) == {
        "username": "logalert",
        "text": "",
        "parse": "none",
        "icon_emoji": ":rotating_light:",
        "attachments": [{"color": "danger", "title": "Error!!", "text": "occur error on some components!",
                         "mrkdwn_in": ["text", "pretext"], "fields": []}],
    }


@responses.activate
def test_overrides_channels_and_several_webhooks(make_rule):
    rule = make_rule("""\
        name: r
        type: any
        index: x
        alert: [slack]
        slack_webhook_url:
          - https://hooks.slack.com/services/T1/B1/one
          - https://hooks.slack.com/services/T2/B2/two
        slack_channel_override: ["#ops", "#db"]
        slack_username_override: bot
        slack_icon_url_override: https://example.com/i.png
        slack_msg_color: warning
        slack_title: Fixed title
        slack_title_link: https://kibana.example.com/x
        slack_text_string: "<!here>"
    """)
    responses.post("https://hooks.slack.com/services/T1/B1/one")
    responses.post("https://hooks.slack.com/services/T2/B2/two")
    _alerter(rule).send(_alert(rule))
    sent = [(c.request.url.rsplit("/", 1)[1], json.loads(c.request.body)) for c in responses.calls]
    assert [(url, body["channel"]) for url, body in sent] == [("one", "#ops"), ("one", "#db"), ("two", "#ops"), ("two", "#db")]
    body = sent[0][1]
    assert body["username"] == "bot"
    assert body["icon_url"] == "https://example.com/i.png"
    assert "icon_emoji" not in body
    assert body["text"] == "<!here>"
    attachment = body["attachments"][0]
    assert (attachment["color"], attachment["title"], attachment["title_link"]) == (
        "warning", "Fixed title", "https://kibana.example.com/x")


def test_long_bodies_are_cut_below_slacks_limit(seed):
    payload = _alerter(seed).payloads(_alert(seed, body="x" * 20000))[0]
    assert len(payload["attachments"][0]["text"]) == 7900


@responses.activate
def test_429_is_retryable_with_retry_after(seed):
    responses.post(SEED_URL, status=429, headers={"Retry-After": "12"}, body="rate_limited")
    with pytest.raises(DeliveryError) as info:
        _alerter(seed).send(_alert(seed))
    assert (info.value.retryable, info.value.retry_after) == (True, 12.0)


@responses.activate
def test_429_without_usable_retry_after(seed):
    responses.post(SEED_URL, status=429, headers={"Retry-After": "soon"})
    with pytest.raises(DeliveryError) as info:
        _alerter(seed).send(_alert(seed))
    assert (info.value.retryable, info.value.retry_after) == (True, None)


@pytest.mark.parametrize("status, retryable", [(500, True), (503, True), (408, True), (400, False),
                                               (403, False), (404, False)])
@responses.activate
def test_http_errors_are_classified(seed, status, retryable):
    responses.post(SEED_URL, status=status, body="no_service")
    with pytest.raises(DeliveryError) as info:
        _alerter(seed).send(_alert(seed))
    assert info.value.retryable is retryable
    assert str(info.value) == f"Slack webhook answered HTTP {status}: no_service"


@responses.activate
def test_error_text_quoting_the_webhook_is_masked(seed):
    responses.post(SEED_URL, status=404, body=f"unknown webhook {SEED_URL}")
    with pytest.raises(DeliveryError) as info:
        _alerter(seed).send(_alert(seed))
    assert str(info.value) == "Slack webhook answered HTTP 404: unknown webhook <secret>"


@responses.activate
def test_connection_error_is_retryable_and_masked(seed):
    responses.post(SEED_URL, body=requests.ConnectionError("Max retries exceeded with url: /services/XXXXX/YYYYY/ZZZZZ"))
    with pytest.raises(DeliveryError) as info:
        _alerter(seed).send(_alert(seed))
    assert info.value.retryable is True
    assert str(info.value) == "Slack webhook unreachable: Max retries exceeded with url: <secret>"


@responses.activate
def test_timeout_is_retryable_and_says_delivery_is_unknown(seed):
    responses.post(SEED_URL, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(DeliveryError) as info:
        _alerter(seed).send(_alert(seed))
    assert info.value.retryable is True
    assert "delivery unknown" in str(info.value)
