"""Telegram sendMessage: URL, escaping per parse mode, the 4,096 limit, proxy login and
answers (responses, no network)."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from logalert.errors import DeliveryError
from logalert.model import Alert
from logalert.notify.alerters import get
from logalert.notify.alerters.http import proxy_with_login
from logalert.notify.alerters.telegram import LIMIT, TelegramAlerter, escape, utf16_len
from logalert.secrets import mask

TOKEN = "110201543:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
BASE = (f"name: r\ntype: any\nindex: x\nalert: [telegram]\n"
        f"telegram_bot_token: \"{TOKEN}\"\ntelegram_room_id: \"-1001234567\"\n")
API = f"https://api.telegram.org/bot{TOKEN}/sendMessage"


def _bot(make_rule, extra: str = ""):
    rule = make_rule(BASE + extra)
    target = rule.alerts[0]
    return rule, get(target.name)(rule, target.options)


def _alert(rule, subject="Disk *full* on web_1", body="used: 99% [critical]\npath: /var_log\n"):
    return Alert("a1", rule, (), subject, body)


@responses.activate
def test_default_request_is_markdown_to_the_public_bot_api(make_rule):
    rule, bot = _bot(make_rule)
    assert isinstance(bot, TelegramAlerter)
    responses.post(API, json={"ok": True, "result": {"message_id": 7}})
    bot.send(_alert(rule, subject="Disk full on web_1"))
    (call,) = responses.calls
    assert call.request.url == API
    assert call.request.headers["Content-Type"] == "application/json"
    assert json.loads(call.request.body) == {
        "chat_id": "-1001234567",
        "text": "⚠ *Disk full on web_1* ⚠\n\nused: 99% \\[critical]\npath: /var\\_log",
        "parse_mode": "Markdown",
        "disable_web_page_preview": True,
    }


@pytest.mark.parametrize("mode, api_mode, text", [
    ("markdown", "Markdown", "⚠ Disk \\*full\\* on web\\_1 ⚠\n\nused: 99% \\[critical]\npath: /var\\_log"),
    ("markdownV2", "MarkdownV2",
     "⚠ *Disk \\*full\\* on web\\_1* ⚠\n\nused: 99% \\[critical\\]\npath: /var\\_log"),
    ("html", "HTML", "⚠ <b>Disk *full* on web_1</b> ⚠\n\nused: 99% [critical]\npath: /var_log"),
])
def test_text_is_escaped_for_its_parse_mode(make_rule, mode, api_mode, text):
    rule, bot = _bot(make_rule, f"telegram_parse_mode: {mode}\ntelegram_thread_id: 42\n")
    payload = bot.payload(_alert(rule))
    assert (payload["parse_mode"], payload["text"], payload["message_thread_id"]) == (api_mode, text, 42)


def test_every_markdown_v2_special_character_is_escaped():
    assert escape("a_b*c[d]e(f)g~h`i>j#k+l-m=n|o{p}q.r!s\\t", "markdownV2") == (
        "a\\_b\\*c\\[d\\]e\\(f\\)g\\~h\\`i\\>j\\#k\\+l\\-m\\=n\\|o\\{p\\}q\\.r\\!s\\\\t")
    assert escape("<a href='x'>&</a>", "html") == "&lt;a href='x'&gt;&amp;&lt;/a&gt;"


@pytest.mark.parametrize("mode", ["markdown", "markdownV2", "html"])
@pytest.mark.parametrize("body", ["x_" * 5000, "🔥" * 5000])
def test_long_text_is_cut_to_telegrams_limit_counted_in_utf16(make_rule, mode, body):
    rule, bot = _bot(make_rule, f"telegram_parse_mode: {mode}\n")
    text = bot.payload(_alert(rule, subject="S", body=body))["text"]
    shown = {"html": text.replace("<b>S</b>", "S")}.get(mode, text.replace("*S*", "S").replace("\\", ""))
    assert LIMIT - 80 < utf16_len(shown) <= LIMIT
    assert "cut at Telegram" in shown


@pytest.mark.parametrize("api_url, url", [
    ("api.telegram.org", API),
    ("http://127.0.0.1:8081/", f"http://127.0.0.1:8081/bot{TOKEN}/sendMessage"),
    ("https://tg-proxy.example.com/telegram", f"https://tg-proxy.example.com/telegram/bot{TOKEN}/sendMessage"),
])
def test_api_url_is_a_host_or_a_base_url(make_rule, api_url, url):
    _rule, bot = _bot(make_rule, f"telegram_api_url: \"{api_url}\"\n")
    assert bot.url() == url


def test_proxy_credentials_go_into_the_proxy_url_and_are_masked():
    assert proxy_with_login("proxy.example:3128", "bob", "p@ss:w0rd") == "http://bob:p%40ss%3Aw0rd@proxy.example:3128"
    assert proxy_with_login("https://proxy.example:3128", "bob", "pw12") == "https://bob:pw12@proxy.example:3128"
    assert proxy_with_login("http://a:b@proxy.example:3128", "bob", "pw12") == "http://a:b@proxy.example:3128"
    assert proxy_with_login("proxy.example:3128", None, None) == "proxy.example:3128"
    assert mask("proxy said p%40ss%3Aw0rd and p@ss:w0rd") == "proxy said <secret> and <secret>"


@responses.activate
def test_429_waits_as_long_as_the_json_body_says(make_rule):
    rule, bot = _bot(make_rule)
    responses.post(API, status=429, headers={"Retry-After": "30"},
                   json={"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 35",
                         "parameters": {"retry_after": 35}})
    with pytest.raises(DeliveryError) as info:
        bot.send(_alert(rule))
    assert (info.value.retryable, info.value.retry_after) == (True, 35.0)
    assert str(info.value).startswith("Telegram rate limit (HTTP 429): ")


@pytest.mark.parametrize("answer, said", [
    ({"json": {"ok": False, "description": "Bad Request: chat not found"}}, "Bad Request: chat not found"),
    ({"body": "<html>Welcome to nginx!</html>"}, "<html>Welcome to nginx!</html>"),  # telegram_api_url points elsewhere
])
@responses.activate
def test_a_200_that_is_no_bot_api_confirmation_is_not_delivery(make_rule, answer, said):
    rule, bot = _bot(make_rule)
    responses.post(API, **answer)
    with pytest.raises(DeliveryError) as info:
        bot.send(_alert(rule))
    assert info.value.retryable is False
    assert str(info.value) == f"Telegram did not confirm the message: {said}"


@responses.activate
def test_the_token_in_the_url_never_shows(make_rule):
    rule, bot = _bot(make_rule)
    responses.post(API, body=requests.ConnectionError(f"Max retries exceeded with url: /bot{TOKEN}/sendMessage"))
    with pytest.raises(DeliveryError) as info:
        bot.send(_alert(rule))
    assert info.value.retryable is True
    assert TOKEN not in str(info.value) and "/bot<secret>/sendMessage" in str(info.value)
    assert bot.describe() == "telegram (chat -1001234567)"
