"""``alert: slack``: an incoming-webhook message with the alert as an attachment.

ElastAlert2's attachment options map one to one onto Slack's legacy attachment fields
(pretext, footer, author, image, thumb); ``slack_alert_fields`` adds rows read from the
first match; with ``slack_attach_kibana_discover_url`` (and the OpenSearch twin) the
Discover link of the first match follows as a second attachment.
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from logalert.fields import lookup
from logalert.model import Alert
from logalert.notify import discover
from logalert.notify.alerters import http
from logalert.notify.alerters.base import Alerter
from logalert.notify.render import RESOLVED_PREFIX
from logalert.options import ALERTER, BOOLEAN, STRING, STRING_OR_LIST, Option

FIELDS = {
    "type": "array",
    "description": "attachment rows: title, value = a field of the first match, short",
    "items": {"type": "object", "required": ["title", "value"], "additionalProperties": False,
              "properties": {"title": {"type": "string"}, "value": {"type": "string"}, "short": {"type": "boolean"}}},
}
# Attachment keys taken as they are from the option slack_<key>.
PASSTHROUGH = ("footer", "footer_icon", "image_url", "thumb_url", "author_name", "author_link", "author_icon")
JIRA = "the slack notifier never sees the jira notifier's ticket; link Jira from slack_title_link or alert_text instead"
DISCOVER_COLOR = "#ec4b98"
DISCOVER_TITLES = {discover.KIBANA: "Discover in Kibana", discover.OPENSEARCH: "Discover in Opensearch"}

OPTIONS = (
    Option("slack_webhook_url", STRING_OR_LIST, scope=ALERTER, secret=True),
    Option("slack_channel_override", STRING_OR_LIST, scope=ALERTER),
    Option("slack_username_override", STRING, "logalert", ALERTER),
    Option("slack_emoji_override", STRING, ":rotating_light:", ALERTER),
    Option("slack_icon_url_override", STRING, scope=ALERTER),
    Option("slack_msg_color", {"enum": ["good", "warning", "danger"]}, "danger", ALERTER),
    Option("slack_title", STRING, scope=ALERTER, description="attachment title; default the subject"),
    Option("slack_title_link", STRING, scope=ALERTER),
    *http.transport_options("slack"),
    Option("slack_text_string", STRING, "", ALERTER),
    Option("slack_parse_override", {"enum": ["none", "full"]}, "none", ALERTER),
    Option("slack_msg_pretext", STRING, scope=ALERTER),
    Option("slack_alert_fields", FIELDS, scope=ALERTER),
    *(Option(f"slack_{key}", STRING, scope=ALERTER) for key in PASSTHROUGH),
    *(option for app in discover.APPS for option in (
        Option(f"slack_attach_{app}_discover_url", BOOLEAN, False, ALERTER,
               description=f"add the {app}_discover_url (generate_{app}_discover_url) as an attachment"),
        Option(f"slack_{app}_discover_color", STRING, DISCOVER_COLOR, ALERTER),
        Option(f"slack_{app}_discover_title", STRING, DISCOVER_TITLES[app], ALERTER))),
    Option("slack_attach_jira_ticket_url", BOOLEAN, False, ALERTER, unimplemented=JIRA),
    Option("slack_jira_ticket_color", STRING, DISCOVER_COLOR, ALERTER, unimplemented=JIRA),
    Option("slack_jira_ticket_title", STRING, "Jira Ticket", ALERTER, unimplemented=JIRA),
)
REQUIRED = ("slack_webhook_url",)


def discover_attachments(options: Mapping[str, Any], alert: Alert, prefix: str) -> list[dict[str, Any]]:
    """One link attachment per Discover app the notifier attaches (``{prefix}_attach_{app}_discover_url``)
    and the rule generates; Slack and Mattermost read the same shape."""
    if not alert.matches:
        return []
    out = []
    for app in discover.APPS:
        if not options.get(f"{prefix}_attach_{app}_discover_url"):
            continue
        link = discover.url(alert.rule, alert.matches[0], app)
        if link:
            out.append({"color": options.get(f"{prefix}_{app}_discover_color") or DISCOVER_COLOR,
                        "title": options.get(f"{prefix}_{app}_discover_title") or DISCOVER_TITLES[app],
                        "title_link": link})
    return out


class SlackAlerter(Alerter):
    name = "slack"

    def fields(self, alert: Alert) -> list[dict[str, Any]]:
        """``slack_alert_fields``: each value names a field of the first match; a missing
        one (or an alert without its matches) reads as ``alert_missing_value``."""
        missing = self.rule.get("alert_missing_value", "<MISSING VALUE>")
        doc = alert.matches[0].fields if alert.matches else {}
        out = []
        for spec in self.options.get("slack_alert_fields") or []:
            value = lookup(doc, spec["value"])
            if value is None:
                value = missing
            elif not isinstance(value, str):
                value = json.dumps(value, default=str)
            out.append({"title": spec["title"], "value": value, "short": bool(spec.get("short", False))})
        return out

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
            "fields": self.fields(alert),
        }
        if o.get("slack_title_link"):
            attachment["title_link"] = o["slack_title_link"]
        if o.get("slack_msg_pretext"):
            attachment["pretext"] = o["slack_msg_pretext"]
        for key in PASSTHROUGH:
            if o.get(f"slack_{key}"):
                attachment[key] = o[f"slack_{key}"]
        base: dict[str, Any] = {
            "username": o["slack_username_override"],
            "text": o["slack_text_string"],
            "parse": o["slack_parse_override"],
            "attachments": [attachment, *discover_attachments(o, alert, "slack")],
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
