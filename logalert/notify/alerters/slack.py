"""``alert: slack``: an incoming-webhook message with the alert as an attachment."""

from __future__ import annotations

from typing import Any

from logalert.model import Alert
from logalert.notify.alerters import http
from logalert.notify.alerters.base import Alerter
from logalert.notify.render import RESOLVED_PREFIX
from logalert.options import ALERTER, BOOLEAN, STRING, STRING_OR_LIST, Option

OPTIONS = (
    Option("slack_webhook_url", STRING_OR_LIST, scope=ALERTER, secret=True),
    Option("slack_channel_override", STRING_OR_LIST, scope=ALERTER),
    Option("slack_username_override", STRING, "logalert", ALERTER),
    Option("slack_emoji_override", STRING, ":rotating_light:", ALERTER),
    Option("slack_icon_url_override", STRING, scope=ALERTER),
    Option("slack_msg_color", {"enum": ["good", "warning", "danger"]}, "danger", ALERTER),
    Option("slack_title", STRING, scope=ALERTER),
    Option("slack_title_link", STRING, scope=ALERTER),
    *http.transport_options("slack"),
    Option("slack_text_string", STRING, "", ALERTER),
    Option("slack_parse_override", {"enum": ["none", "full"]}, "none", ALERTER),
)
REQUIRED = ("slack_webhook_url",)


class SlackAlerter(Alerter):
    name = "slack"

    def payloads(self, alert: Alert) -> list[dict[str, Any]]:
        """One payload per channel override (Slack posts to one channel per call)."""
        o = self.options
        title = o.get("slack_title") or alert.subject
        if alert.resolved and not title.startswith(RESOLVED_PREFIX):
            title = RESOLVED_PREFIX + title
        attachment: dict[str, Any] = {
            "color": "good" if alert.resolved else o["slack_msg_color"],
            "title": title,
            "text": alert.body[:7900],  # Slack truncates attachments around 8,000 characters
            "mrkdwn_in": ["text", "pretext"],
            "fields": [],
        }
        if o.get("slack_title_link"):
            attachment["title_link"] = o["slack_title_link"]
        base: dict[str, Any] = {
            "username": o["slack_username_override"],
            "text": o["slack_text_string"],
            "parse": o["slack_parse_override"],
            "attachments": [attachment],
        }
        if o.get("slack_icon_url_override"):
            base["icon_url"] = o["slack_icon_url_override"]
        else:
            base["icon_emoji"] = o["slack_emoji_override"]
        channels = o.get("slack_channel_override") or [None]
        channels = [channels] if isinstance(channels, str) else channels
        return [dict(base, channel=c) if c else dict(base) for c in channels]

    def send(self, alert: Alert) -> None:
        urls = self.options["slack_webhook_url"]
        urls = [urls] if isinstance(urls, str) else list(urls)
        transport = http.Transport.from_options(self.options, "slack")
        for url in urls:
            for payload in self.payloads(alert):
                http.request("Slack webhook", "POST", url, json=payload, transport=transport)

    def describe(self) -> str:
        urls = self.options["slack_webhook_url"]
        n = 1 if isinstance(urls, str) else len(urls)
        return f"slack ({n} webhook{'s' if n != 1 else ''}: <secret>)"

