"""``alert: slack``: an incoming-webhook message with the alert as an attachment."""

from __future__ import annotations

from typing import Any

from logalert.errors import DeliveryError
from logalert.model import Alert
from logalert.notify.alerters.base import Alerter
from logalert.options import ALERTER, BOOLEAN, STRING, STRING_OR_LIST, Option
from logalert.secrets import mask

# requests loads in send(): rule loading reads OPTIONS, and `validate` should not pay
# for an HTTP client.
OPTIONS = (
    Option("slack_webhook_url", STRING_OR_LIST, scope=ALERTER, secret=True),
    Option("slack_channel_override", STRING_OR_LIST, scope=ALERTER),
    Option("slack_username_override", STRING, "logalert", ALERTER),
    Option("slack_emoji_override", STRING, ":rotating_light:", ALERTER),
    Option("slack_icon_url_override", STRING, scope=ALERTER),
    Option("slack_msg_color", {"enum": ["good", "warning", "danger"]}, "danger", ALERTER),
    Option("slack_title", STRING, scope=ALERTER),
    Option("slack_title_link", STRING, scope=ALERTER),
    Option("slack_proxy", STRING, scope=ALERTER),
    Option("slack_timeout", {"type": "number", "exclusiveMinimum": 0}, 10, ALERTER),
    Option("slack_ca_certs", {"anyOf": [{"type": "string"}, {"type": "boolean"}]}, scope=ALERTER),
    Option("slack_ignore_ssl_errors", BOOLEAN, False, ALERTER),
    Option("slack_text_string", STRING, "", ALERTER),
    Option("slack_parse_override", {"enum": ["none", "full"]}, "none", ALERTER),
)
REQUIRED = ("slack_webhook_url",)


class SlackAlerter(Alerter):
    name = "slack"

    def payloads(self, alert: Alert) -> list[dict[str, Any]]:
        """One payload per channel override (Slack posts to one channel per call)."""
        o = self.options
        attachment: dict[str, Any] = {
            "color": o["slack_msg_color"],
            "title": o.get("slack_title") or alert.subject,
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
        import requests

        urls = self.options["slack_webhook_url"]
        urls = [urls] if isinstance(urls, str) else list(urls)
        o = self.options
        verify: Any = not o["slack_ignore_ssl_errors"]
        if verify and isinstance(o.get("slack_ca_certs"), str):
            verify = o["slack_ca_certs"]
        proxies = {"https": o["slack_proxy"], "http": o["slack_proxy"]} if o.get("slack_proxy") else None
        timeout = float(o["slack_timeout"])
        for url in urls:
            for payload in self.payloads(alert):
                try:
                    response = requests.post(url, json=payload, timeout=timeout, verify=verify, proxies=proxies)
                except requests.Timeout:
                    # Slack may have accepted the message before the timeout: a retry can duplicate it.
                    raise DeliveryError("Slack webhook timed out (delivery unknown)", retryable=True) from None
                except requests.RequestException as exc:
                    raise DeliveryError(mask(f"Slack webhook unreachable: {exc}"), retryable=True) from None
                if response.status_code == 429:
                    retry_after = _seconds(response.headers.get("Retry-After"))
                    raise DeliveryError("Slack rate limit (HTTP 429)", retryable=True, retry_after=retry_after)
                if response.status_code >= 400:
                    raise DeliveryError(
                        mask(f"Slack webhook answered HTTP {response.status_code}: {response.text[:200]}"),
                        retryable=response.status_code >= 500 or response.status_code in (408,),
                    )

    def describe(self) -> str:
        urls = self.options["slack_webhook_url"]
        n = 1 if isinstance(urls, str) else len(urls)
        return f"slack ({n} webhook{'s' if n != 1 else ''}: <secret>)"


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
