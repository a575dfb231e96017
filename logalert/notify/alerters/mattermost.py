"""``alert: mattermost``: an incoming-webhook post with a message attachment.

As in ElastAlert 2, the body is the post's text, except with ``alert_text_type:
alert_text_only``, where it goes into the attachment (rules written for that look).
One post per webhook and channel override. Mattermost cuts posts at 16,383
characters; the body is cut below that so the post is not refused. With
``mattermost_attach_kibana_discover_url`` (or the OpenSearch twin) the first match's
Discover link follows as a second attachment, as in Slack.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from logalert.fields import lookup
from logalert.model import Alert
from logalert.notify.alerters import http
from logalert.notify.alerters.base import Alerter
from logalert.notify.alerters.ms_teams import as_list, url_problems
from logalert.notify.alerters.slack import discover_attachments
from logalert.options import ALERTER, BOOLEAN, STRING, STRING_OR_LIST, Option
from logalert.secrets import register

if TYPE_CHECKING:
    from logalert.rules.model import Rule

FIELDS = {
    "type": "array",
    "description": "attachment fields: title, value (a format string when args are given), short, args",
    "items": {"type": "object", "additionalProperties": False, "properties": {
        "title": {"type": "string"}, "value": {"type": ["string", "number", "boolean"]},
        "short": {"type": "boolean"}, "args": {"type": "array", "items": {"type": "string"}}}},
}
# Attachment keys taken as they are from the option of the same suffix.
PASSTHROUGH = ("title_link", "footer", "footer_icon", "image_url", "thumb_url", "author_name", "author_link",
               "author_icon")

OPTIONS = (
    Option("mattermost_webhook_url", STRING_OR_LIST, scope=ALERTER, secret=True),
    *http.transport_options("mattermost"),
    Option("mattermost_username_override", STRING, "logalert", ALERTER),
    Option("mattermost_channel_override", STRING_OR_LIST, scope=ALERTER,
           description="#channel or @user; one or a list"),
    Option("mattermost_emoji_override", STRING, ":ghost:", ALERTER),
    Option("mattermost_icon_url_override", STRING, scope=ALERTER, description="wins over mattermost_emoji_override"),
    Option("mattermost_msg_pretext", STRING, scope=ALERTER),
    Option("mattermost_msg_color", STRING, "danger", ALERTER, description="good, warning, danger or #rrggbb"),
    Option("mattermost_msg_fields", FIELDS, scope=ALERTER),
    Option("mattermost_title", STRING, scope=ALERTER, description="attachment title; default the subject"),
    *(Option(f"mattermost_{key}", STRING, scope=ALERTER) for key in PASSTHROUGH),
    Option("mattermost_attach_kibana_discover_url", BOOLEAN, False, ALERTER,
           description="add the kibana_discover_url (generate_kibana_discover_url) as an attachment"),
    Option("mattermost_kibana_discover_color", STRING, "#ec4b98", ALERTER),
    Option("mattermost_kibana_discover_title", STRING, "Discover in Kibana", ALERTER),
    Option("mattermost_attach_opensearch_discover_url", BOOLEAN, False, ALERTER,
           description="add the opensearch_discover_url (generate_opensearch_discover_url) as an attachment"),
    Option("mattermost_opensearch_discover_color", STRING, "#ec4b98", ALERTER),
    Option("mattermost_opensearch_discover_title", STRING, "Discover in opensearch", ALERTER),
)
REQUIRED = ("mattermost_webhook_url",)

TEXT_LIMIT = 16_000  # Mattermost's post limit is 16,383 characters
CUT_NOTE = "\n… (cut at Mattermost's message limit)"


def check(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    return url_problems(options, "mattermost_webhook_url")


class MattermostAlerter(Alerter):
    name = "mattermost"

    def __init__(self, rule: Rule, options: Mapping[str, Any]):
        super().__init__(rule, options)
        register(self.options.get("mattermost_webhook_url"))

    def title(self, alert: Alert) -> str:
        return self.options.get("mattermost_title") or alert.subject

    def fields(self, alert: Alert) -> list[dict[str, Any]]:
        """``mattermost_msg_fields`` with ``args`` filled from the first match; a missing
        field (or an alert without its matches) reads as ``alert_missing_value``."""
        missing = self.rule.get("alert_missing_value", "<MISSING VALUE>")
        doc = alert.matches[0].fields if alert.matches else {}
        out = []
        for spec in self.options.get("mattermost_msg_fields") or []:
            field = {k: v for k, v in spec.items() if k != "args"}
            if "args" in spec:
                values = [missing if (v := lookup(doc, name)) is None else v for name in spec["args"]]
                template = spec.get("value")
                try:
                    field["value"] = (str(template).format(*values) if template is not None
                                      else "\n".join(str(v) for v in values))
                except (IndexError, KeyError, ValueError) as exc:
                    field["value"] = f"{template} [template error: {exc}]"
            out.append(field)
        return out

    def payload(self, alert: Alert) -> dict[str, Any]:
        o = self.options
        title = self.title(alert)
        pretext = o.get("mattermost_msg_pretext") or ""
        attachment: dict[str, Any] = {"fallback": f"{title}: {pretext}" if pretext else title,
                                      "color": o["mattermost_msg_color"], "title": title,
                                      "fields": self.fields(alert)}
        if pretext:
            attachment["pretext"] = pretext
        for key in PASSTHROUGH:
            if o.get(f"mattermost_{key}"):
                attachment[key] = o[f"mattermost_{key}"]
        body = alert.body.rstrip("\n")
        if len(body) > TEXT_LIMIT:
            body = body[: TEXT_LIMIT - len(CUT_NOTE)] + CUT_NOTE
        out: dict[str, Any] = {"username": o["mattermost_username_override"],
                               "attachments": [attachment, *discover_attachments(o, alert, "mattermost")]}
        if self.rule.get("alert_text_type") == "alert_text_only":
            attachment["text"] = body
        else:
            out["text"] = body
        if o.get("mattermost_icon_url_override"):
            out["icon_url"] = o["mattermost_icon_url_override"]
        else:
            out["icon_emoji"] = o["mattermost_emoji_override"]
        return out

    def payloads(self, alert: Alert) -> list[dict[str, Any]]:
        """One payload per channel override (a webhook posts to one channel per call)."""
        base = self.payload(alert)
        channels = as_list(self.options.get("mattermost_channel_override")) or [None]
        return [dict(base, channel=c) if c else base for c in channels]

    def send(self, alert: Alert) -> None:
        transport = http.Transport.from_options(self.options, "mattermost")
        payloads = self.payloads(alert)
        for url in as_list(self.options["mattermost_webhook_url"]):
            for payload in payloads:
                http.request("Mattermost webhook", "POST", url, json=payload, transport=transport)

    def describe(self) -> str:
        n = len(as_list(self.options.get("mattermost_webhook_url")))
        return f"mattermost ({n} webhook{'s' if n != 1 else ''}: <secret>)"
