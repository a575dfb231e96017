"""``alert: googlechat``: a Google Chat webhook message, plain text or a card.

``card`` sends a Cards v2 message (``cardsV2``; the v1 ``cards`` ElastAlert 2 sends
are deprecated). The card always has a header — ``googlechat_header_title``, else the
alert subject — so the title shows even without that option. Card text is HTML, so
the body is escaped and its newlines become ``<br>``. Chat refuses messages over
32,000 bytes; the body is cut to leave room for the rest.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from logalert.model import Alert
from logalert.notify.alerters import http
from logalert.notify.alerters.base import Alerter
from logalert.notify.alerters.ms_teams import as_list, url_problems
from logalert.options import ALERTER, STRING, STRING_OR_LIST, Option
from logalert.secrets import register

if TYPE_CHECKING:
    from logalert.rules.model import Rule

OPTIONS = (
    Option("googlechat_webhook_url", STRING_OR_LIST, scope=ALERTER, secret=True),
    Option("googlechat_format", {"enum": ["basic", "card"]}, "basic", ALERTER),
    Option("googlechat_header_title", STRING, scope=ALERTER, description="card header title; default the subject"),
    Option("googlechat_header_subtitle", STRING, scope=ALERTER),
    Option("googlechat_header_image", STRING, scope=ALERTER, description="card header image URL"),
    Option("googlechat_footer_kibanalink", STRING, scope=ALERTER, description="URL of a 'VISIT KIBANA' card button"),
    *http.transport_options("googlechat"),
)
REQUIRED = ("googlechat_webhook_url",)

BODY_BYTES = 28_000  # of Chat's 32,000-byte message limit
CUT_NOTE = "\n… (cut at Google Chat's message limit)"


def html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "<br>")


def cut_bytes(text: str, limit: int) -> str:
    """``text`` within ``limit`` UTF-8 bytes, whole characters only."""
    if len(text.encode()) <= limit:
        return text
    room = max(limit - len(CUT_NOTE.encode()), 0)
    return text.encode()[:room].decode(errors="ignore") + CUT_NOTE


def check(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    return url_problems(options, "googlechat_webhook_url")


class GoogleChatAlerter(Alerter):
    name = "googlechat"

    def __init__(self, rule: Rule, options: Mapping[str, Any]):
        super().__init__(rule, options)
        register(self.options.get("googlechat_webhook_url"))

    def title(self, alert: Alert) -> str:
        return self.options.get("googlechat_header_title") or alert.subject

    def payload(self, alert: Alert) -> dict[str, Any]:
        if self.options["googlechat_format"] == "card":
            return self.card(alert)
        return {"text": f"*{self.title(alert)}*\n{cut_bytes(alert.body.rstrip(chr(10)), BODY_BYTES)}"}

    def card(self, alert: Alert) -> dict[str, Any]:
        o = self.options
        header: dict[str, Any] = {"title": self.title(alert)}
        if o.get("googlechat_header_subtitle"):
            header["subtitle"] = o["googlechat_header_subtitle"]
        if o.get("googlechat_header_image"):
            header["imageUrl"] = o["googlechat_header_image"]
        raw, room = alert.body.rstrip("\n"), BODY_BYTES
        text = html(cut_bytes(raw, room))
        while len(text.encode()) > BODY_BYTES:  # escapes made it longer: cut the text shorter
            room = room * 3 // 4
            text = html(cut_bytes(raw, room))
        sections: list[dict[str, Any]] = [{"widgets": [{"textParagraph": {"text": text}}]}]
        if o.get("googlechat_footer_kibanalink"):
            button = {"text": "VISIT KIBANA", "onClick": {"openLink": {"url": o["googlechat_footer_kibanalink"]}}}
            sections.append({"widgets": [{"buttonList": {"buttons": [button]}}]})
        return {"cardsV2": [{"cardId": "logalert-alert", "card": {"header": header, "sections": sections}}]}

    def send(self, alert: Alert) -> None:
        transport = http.Transport.from_options(self.options, "googlechat")
        payload = self.payload(alert)
        for url in as_list(self.options["googlechat_webhook_url"]):
            http.request("Google Chat webhook", "POST", url, json=payload, transport=transport)

    def describe(self) -> str:
        n = len(as_list(self.options.get("googlechat_webhook_url")))
        return f"googlechat ({n} webhook{'s' if n != 1 else ''}: <secret>, {self.options['googlechat_format']})"
