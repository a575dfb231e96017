"""``alert: telegram``: a Bot API ``sendMessage`` to a chat, group or channel.

The bot token is part of the URL path (``/bot<token>/sendMessage``), so it is
registered as a secret as soon as the notifier exists: every error text is masked.
Alert text is escaped for the chosen ``parse_mode`` — a log line with ``_`` or ``*``
would otherwise make Telegram refuse the whole message ("can't parse entities") —
and cut to the 4,096 characters Telegram allows.

Also home of two helpers the Discord notifier shares: proxy credentials in the proxy
URL, and the 429 answer that carries its wait in the JSON body.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Mapping

from logalert.errors import DeliveryError
from logalert.model import Alert
from logalert.notify.alerters import http
from logalert.notify.alerters.base import Alerter
from logalert.options import ALERTER, NONEMPTY, STRING, Option
from logalert.secrets import mask, register

if TYPE_CHECKING:
    from logalert.rules.model import Rule

OPTIONS = (
    Option("telegram_bot_token", NONEMPTY, scope=ALERTER, secret=True),
    Option("telegram_room_id", {"anyOf": [{"type": "string", "minLength": 1}, {"type": "integer"}]},
           scope=ALERTER, description="chat id (-100…) or @channelusername"),
    Option("telegram_api_url", NONEMPTY, "api.telegram.org", ALERTER,
           description="Bot API host, or a base URL with scheme (https:// is assumed)"),
    Option("telegram_parse_mode", {"enum": ["markdown", "markdownV2", "html"]}, "markdown", ALERTER),
    Option("telegram_thread_id", {"type": "integer", "minimum": 1}, scope=ALERTER,
           description="message_thread_id of a forum topic"),
    *http.transport_options("telegram"),
    Option("telegram_proxy_login", STRING, scope=ALERTER),
    Option("telegram_proxy_pass", STRING, scope=ALERTER, secret=True),
)
REQUIRED = ("telegram_bot_token", "telegram_room_id")

LIMIT = 4096  # characters of text after entity parsing, counted in UTF-16 units
TITLE_LIMIT = 1024
CUT_NOTE = "\n… (message cut at Telegram's 4096-character limit)"
PARSE_MODE = {"markdown": "Markdown", "markdownV2": "MarkdownV2", "html": "HTML"}  # the API's spelling
_MARKDOWN_V2_SPECIAL = set("_*[]()~`>#+-=|{}.!\\")


def escape(text: str, mode: str) -> str:
    """Text shown literally under Telegram's ``parse_mode`` ``mode``."""
    if mode == "html":
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    special = _MARKDOWN_V2_SPECIAL if mode == "markdownV2" else set("_*`[")
    return "".join("\\" + c if c in special else c for c in text)


def bold(text: str, mode: str) -> str:
    """Bold if the mode can say it: legacy Markdown copies an entity's inside verbatim
    (no escapes) up to the next ``*``, so a title holding one is sent escaped, not bold."""
    if mode == "html":
        return f"<b>{escape(text, mode)}</b>"
    if mode == "markdown":
        return f"*{text}*" if "*" not in text else escape(text, mode)
    return f"*{escape(text, mode)}*"


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` UTF-16 units (how Telegram counts), never inside a surrogate pair."""
    if utf16_len(text) <= limit:
        return text
    out, used = [], 0
    for char in text:
        used += 2 if ord(char) > 0xFFFF else 1
        if used > limit:
            break
        out.append(char)
    return "".join(out)


class TelegramAlerter(Alerter):
    name = "telegram"

    def __init__(self, rule: Rule, options: Mapping[str, Any]):
        super().__init__(rule, options)
        register(str(self.options.get("telegram_bot_token") or ""))  # it is in every request's URL

    def title(self, alert: Alert) -> str:
        return alert.subject

    def url(self) -> str:
        base = str(self.options["telegram_api_url"]).rstrip("/")
        if "://" not in base:
            base = f"https://{base}"
        return f"{base}/bot{self.options['telegram_bot_token']}/sendMessage"

    def text(self, alert: Alert) -> str:
        mode = self.options["telegram_parse_mode"]
        title = fit(self.title(alert), TITLE_LIMIT)
        head = f"⚠ {title} ⚠\n\n"
        body = alert.body.rstrip("\n")
        if utf16_len(head + body) > LIMIT:  # cut the plain text: escapes do not count, entities do not split
            body = fit(body, LIMIT - utf16_len(head) - utf16_len(CUT_NOTE)) + CUT_NOTE
        return f"⚠ {bold(title, mode)} ⚠\n\n{escape(body, mode)}"

    def payload(self, alert: Alert) -> dict[str, Any]:
        o = self.options
        out: dict[str, Any] = {"chat_id": o["telegram_room_id"], "text": self.text(alert),
                               "parse_mode": PARSE_MODE[o["telegram_parse_mode"]], "disable_web_page_preview": True}
        if o.get("telegram_thread_id"):
            out["message_thread_id"] = o["telegram_thread_id"]
        return out

    def send(self, alert: Alert) -> None:
        o = self.options
        transport = http.Transport.from_options(o, "telegram")
        transport = dataclasses.replace(transport, proxy=http.proxy_with_login(
            transport.proxy, o.get("telegram_proxy_login"), o.get("telegram_proxy_pass")))
        response = http.request("Telegram", "POST", self.url(), json=self.payload(alert), transport=transport,
                                ok=(429,))
        answer = http.json_body(response)
        if response.status_code == 429:
            raise http.rate_limited("Telegram", response, (answer.get("parameters") or {}).get("retry_after"))
        if answer.get("ok") is not True:  # a 200 from something that is not the Bot API is no delivery
            said = answer.get("description") or " ".join(response.text.split())[:200]
            raise DeliveryError(mask(f"Telegram did not confirm the message: {said}"), retryable=False)

    def describe(self) -> str:
        return f"telegram (chat {self.options.get('telegram_room_id')})"
