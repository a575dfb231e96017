"""``alert: discord``: a webhook message, the title as content and the body as an embed.

Discord's limits shape the message: content up to 2,000 characters, an embed
description up to 4,096, and all of an embed's text together up to 6,000; longer text
is cut rather than refused. A 429 says how long to wait in its JSON body
(``retry_after``, seconds), more precisely than the Retry-After header.
"""

from __future__ import annotations

import dataclasses
import re
from typing import TYPE_CHECKING, Any, Mapping

from logalert.model import Alert
from logalert.notify.alerters import http
from logalert.notify.alerters.base import Alerter
from logalert.notify.alerters.ms_teams import url_problems
from logalert.options import ALERTER, NONEMPTY, STRING, Option
from logalert.secrets import register

if TYPE_CHECKING:
    from logalert.rules.model import Rule

COLOR = {"anyOf": [{"type": "integer", "minimum": 0, "maximum": 0xFFFFFF},
                   {"type": "string", "pattern": "^(#|0x|0X)?[0-9a-fA-F]{6}$"}],
         "description": "0xE24D42 (a YAML number), or '#e24d42'"}

OPTIONS = (
    Option("discord_webhook_url", NONEMPTY, scope=ALERTER, secret=True),
    Option("discord_emoji_title", STRING, ":warning:", ALERTER,
           description="around the title; left out when discord_embed_icon_url is set"),
    Option("discord_embed_color", COLOR, 0xFFFFFF, ALERTER),
    Option("discord_embed_footer", STRING, scope=ALERTER),
    Option("discord_embed_icon_url", STRING, scope=ALERTER, description="footer icon (needs discord_embed_footer)"),
    *http.transport_options("discord"),
    Option("discord_proxy_login", STRING, scope=ALERTER),
    Option("discord_proxy_password", STRING, scope=ALERTER, secret=True),
)
REQUIRED = ("discord_webhook_url",)

CONTENT_LIMIT = 2000
DESCRIPTION_LIMIT = 4096
EMBED_LIMIT = 6000  # every text field of the embed together
FOOTER_LIMIT = 2048
CUT_NOTE = "\n… (cut at Discord's limit)"


def color(value: Any) -> int:
    if isinstance(value, int):
        return value
    return int(re.sub(r"^(#|0x|0X)", "", str(value)), 16)


def cut(text: str, limit: int, note: str = CUT_NOTE) -> str:
    return text if len(text) <= limit else text[: max(limit - len(note), 0)] + note


def check(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    return url_problems(options, "discord_webhook_url")


class DiscordAlerter(Alerter):
    name = "discord"

    def __init__(self, rule: Rule, options: Mapping[str, Any]):
        super().__init__(rule, options)
        register(self.options.get("discord_webhook_url"))

    def title(self, alert: Alert) -> str:
        return alert.subject

    def payload(self, alert: Alert) -> dict[str, Any]:
        o = self.options
        title = self.title(alert)
        emoji = "" if o.get("discord_embed_icon_url") else (o.get("discord_emoji_title") or "")
        content = f"{emoji} {title} {emoji}" if emoji else title
        embed: dict[str, Any] = {"color": color(o["discord_embed_color"])}
        room = EMBED_LIMIT
        if o.get("discord_embed_footer"):
            embed["footer"] = {"text": cut(o["discord_embed_footer"], FOOTER_LIMIT, "…")}
            room -= len(embed["footer"]["text"])
            if o.get("discord_embed_icon_url"):
                embed["footer"]["icon_url"] = o["discord_embed_icon_url"]
        embed["description"] = cut(alert.body.rstrip("\n"), min(DESCRIPTION_LIMIT, room))
        return {"content": cut(content, CONTENT_LIMIT, "…"), "embeds": [embed]}

    def send(self, alert: Alert) -> None:
        o = self.options
        transport = http.Transport.from_options(o, "discord")
        transport = dataclasses.replace(transport, proxy=http.proxy_with_login(
            transport.proxy, o.get("discord_proxy_login"), o.get("discord_proxy_password")))
        response = http.request("Discord webhook", "POST", o["discord_webhook_url"], json=self.payload(alert),
                                transport=transport, ok=(429,))
        if response.status_code == 429:
            raise http.rate_limited("Discord webhook", response, http.json_body(response).get("retry_after"))

    def describe(self) -> str:
        return "discord (webhook: <secret>)"
