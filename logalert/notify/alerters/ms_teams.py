"""``alert: ms_teams``: an Adaptive Card posted to Microsoft Teams webhooks.

Why an Adaptive Card and not ElastAlert 2's MessageCard: Microsoft is retiring the
Office 365 connectors that MessageCards were made for; their replacement, Teams
Workflows ("Post to a channel when a webhook request is received"), reads only
``{"type": "message", "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", ...}]}``,
and the remaining legacy incoming webhooks accept that shape too. So one payload works
with old and new webhook URLs, and a rule file written for ElastAlert 2 keeps working
when its URL is swapped for a Workflows one. What that changes for ElastAlert 2's options:

- ``ms_teams_alert_summary`` becomes the card's ``fallbackText`` (what notifications and
  clients that cannot draw cards show), default the alert subject, as in ElastAlert 2.
- ``ms_teams_theme_color``: cards have no free colour bar, so the title sits in a
  container of the Teams style nearest to the colour (red ``attention``, yellow
  ``warning``, green ``good``, blue ``accent``, grey ``emphasis``).
- ``ms_teams_alert_fixed_width`` sets the body in the monospace font instead of turning
  each line into a Markdown code span.
- The body is one TextBlock per line: card Markdown folds single newlines into spaces.
- ``ms_teams_attach_kibana_discover_url`` (and the OpenSearch twin): the Discover link
  becomes an ``Action.OpenUrl`` button under the card (ElastAlert 2's MessageCard had a
  ``potentialAction`` button there), labelled ``ms_teams_kibana_discover_title``.

``ms_power_automate`` sends the same kind of card; the helpers here are shared with it.
"""

from __future__ import annotations

import colorsys
import json
import re
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from logalert.errors import DeliveryError
from logalert.fields import lookup
from logalert.model import Alert
from logalert.notify import discover
from logalert.notify.alerters import http
from logalert.notify.alerters.base import Alerter
from logalert.options import ALERTER, BOOLEAN, STRING, STRING_OR_LIST, Option
from logalert.secrets import mask, register

if TYPE_CHECKING:
    from logalert.rules.model import Rule

DISCOVER_TITLES = {discover.KIBANA: "Discover in Kibana", discover.OPENSEARCH: "Discover in opensearch"}
FACTS = {
    "type": "array",
    "description": "rows under the text: name, and value = a field of the first match (else shown as written)",
    "items": {"type": "object", "required": ["name", "value"], "additionalProperties": False,
              "properties": {"name": {"type": "string"}, "value": {"type": ["string", "number", "boolean"]}}},
}

OPTIONS = (
    Option("ms_teams_webhook_url", STRING_OR_LIST, scope=ALERTER, secret=True),
    Option("ms_teams_alert_summary", STRING, scope=ALERTER, description="card fallback text; default the subject"),
    Option("ms_teams_theme_color", STRING, scope=ALERTER,
           description="#rrggbb; the title takes the nearest Teams style"),
    Option("ms_teams_alert_fixed_width", BOOLEAN, False, ALERTER, description="body in a monospace font"),
    Option("ms_teams_alert_facts", FACTS, scope=ALERTER),
    Option("ms_teams_attach_kibana_discover_url", BOOLEAN, False, ALERTER,
           description="a button opening the kibana_discover_url (generate_kibana_discover_url)"),
    Option("ms_teams_kibana_discover_title", STRING, DISCOVER_TITLES[discover.KIBANA], ALERTER),
    Option("ms_teams_attach_opensearch_discover_url", BOOLEAN, False, ALERTER,
           description="a button opening the opensearch_discover_url (generate_opensearch_discover_url)"),
    Option("ms_teams_opensearch_discover_title", STRING, DISCOVER_TITLES[discover.OPENSEARCH], ALERTER),
    *http.transport_options("ms_teams"),
)
REQUIRED = ("ms_teams_webhook_url",)

# Teams refuses messages over about 28 KB; the body gets what the rest leaves.
BODY_BUDGET = 16_000  # bytes of JSON-encoded body text
MAX_LINES = 150
_BLOCK_COST = 80  # the JSON around one line's TextBlock
TRUNCATED = "… (truncated)"
_HEX = re.compile(r"^#?([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")
_RELAYED = re.compile(r"Webhook message delivery failed.*?returned HTTP error (\d{3})", re.S)


def as_list(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def url_problems(options: Mapping[str, Any], name: str) -> list[tuple[str, str]]:
    """Webhook URLs that requests could not post to; the message never quotes the URL (a secret)."""
    bad = [u for u in as_list(options.get(name)) if not re.match(r"^https?://[^/\s]+", u)]
    return [(name, "must be an http:// or https:// URL")] if bad else []


def adaptive_message(body: list[dict[str, Any]], *, fallback: str | None = None,
                     msteams: Mapping[str, Any] | None = None,
                     actions: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The message envelope both Teams Workflows and legacy incoming webhooks accept."""
    card: dict[str, Any] = {"$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                            "type": "AdaptiveCard", "version": "1.4", "body": body}
    if actions:
        card["actions"] = actions
    if fallback:
        card["fallbackText"] = fallback
    if msteams:
        card["msteams"] = dict(msteams)
    return {"type": "message",
            "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None,
                             "content": card}]}


def text_blocks(text: str, *, monospace: bool = False, size: str | None = None) -> list[dict[str, Any]]:
    """One TextBlock per line (blank lines become spacing), cut to fit Teams' size limit."""
    blocks: list[dict[str, Any]] = []
    used, gap = 0, True

    def block(line: str, spacing: str) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "TextBlock", "text": line, "wrap": True, "spacing": spacing}
        if monospace:
            out["fontType"] = "Monospace"
        if size:
            out["size"] = size
        return out

    truncated = False
    for line in text.rstrip("\n").split("\n"):
        if not line.strip():
            gap = True
            continue
        if len(blocks) == MAX_LINES:
            truncated = True
            break
        room = BODY_BUDGET - used - _BLOCK_COST
        if len(line) > room:
            line, truncated = line[: max(room, 0)], True
        while line and len(json.dumps(line)) > room:  # escapes make the JSON longer than the text
            line, truncated = line[: len(line) * 9 // 10], True
        if line:
            blocks.append(block(line, "Medium" if gap else "None"))
            used += len(json.dumps(line)) + _BLOCK_COST
        if truncated:
            break
        gap = False
    if truncated:
        blocks.append(block(TRUNCATED, "None"))
    return blocks


def fact_set(spec: Iterable[Mapping[str, Any]] | None, alert: Alert) -> dict[str, Any] | None:
    """ElastAlert's facts: a value naming a field of the first match shows that field's
    value, anything else shows as written (also when the alert has no match any more)."""
    if not spec:
        return None
    doc = alert.matches[0].fields if alert.matches else {}
    facts = []
    for item in spec:
        written = item.get("value")
        found = lookup(doc, written) if isinstance(written, str) else None
        value = written if found is None else found
        shown = value if isinstance(value, str) else json.dumps(value, default=str)
        facts.append({"title": str(item.get("name", "")), "value": shown})
    return {"type": "FactSet", "facts": facts}


def discover_actions(options: Mapping[str, Any], alert: Alert, attach: str, title: str,
                     style: str | None = None) -> list[dict[str, Any]]:
    """``Action.OpenUrl`` buttons to the first match's Discover links. ``attach``, ``title``
    and ``style`` are the option names with ``{app}`` for kibana/opensearch."""
    if not alert.matches:
        return []
    out = []
    for app in discover.APPS:
        if not options.get(attach.format(app=app)):
            continue
        link = discover.url(alert.rule, alert.matches[0], app)
        if not link:
            continue
        action: dict[str, Any] = {"type": "Action.OpenUrl", "url": link,
                                  "title": options.get(title.format(app=app)) or DISCOVER_TITLES[app]}
        chosen = options.get(style.format(app=app)) if style else None
        if chosen and chosen != "default":
            action["style"] = chosen
        out.append(action)
    return out


def container_style(color: str | None) -> str | None:
    """The Teams container style nearest to an HTML colour (cards take no free colours)."""
    found = _HEX.match(color or "")
    if not found:
        return None
    digits = found.group(1)
    if len(digits) == 3:
        digits = "".join(c * 2 for c in digits)
    r, g, b = (int(digits[i:i + 2], 16) / 255 for i in (0, 2, 4))
    hue, lightness, saturation = colorsys.rgb_to_hls(r, g, b)
    if saturation < 0.25 or not 0.1 <= lightness <= 0.9:
        return "emphasis"
    degrees = hue * 360
    if degrees < 20 or degrees >= 330:
        return "attention"
    if degrees < 75:
        return "warning"
    return "good" if degrees < 170 else "accent"


def relayed_failure(service: str, response: Any) -> DeliveryError | None:
    """Legacy connector webhooks answer 200 even when Teams refused the message, with
    "Webhook message delivery failed … returned HTTP error 429 …" as the body: a 200 is
    not proof of delivery there. Classified like the status Teams relayed."""
    found = _RELAYED.search(response.text[:2000])
    if not found:
        return None
    status = int(found.group(1))
    text = " ".join(response.text.split())[:200]
    return DeliveryError(mask(f"{service} relayed HTTP {status}: {text}"),
                         retryable=status == 429 or status == 408 or status >= 500)


def check(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    problems = url_problems(options, "ms_teams_webhook_url")
    color = options.get("ms_teams_theme_color")
    if color and not _HEX.match(color):
        problems.append(("ms_teams_theme_color", f"must be an HTML colour such as '#ff0000', not {color!r}"))
    return problems


class MsTeamsAlerter(Alerter):
    name = "ms_teams"

    def __init__(self, rule: Rule, options: Mapping[str, Any]):
        super().__init__(rule, options)
        register(self.options.get("ms_teams_webhook_url"))  # masked even when built without the loader

    def title(self, alert: Alert) -> str:
        return alert.subject

    def payload(self, alert: Alert) -> dict[str, Any]:
        o = self.options
        title = self.title(alert)
        heading: dict[str, Any] = {"type": "TextBlock", "text": title, "weight": "Bolder", "size": "Large",
                                   "wrap": True}
        style = container_style(o.get("ms_teams_theme_color"))
        body: list[dict[str, Any]] = [
            {"type": "Container", "style": style, "bleed": True, "items": [heading]} if style else heading]
        body += text_blocks(alert.body, monospace=bool(o.get("ms_teams_alert_fixed_width")))
        facts = fact_set(o.get("ms_teams_alert_facts"), alert)
        if facts:
            body.append(facts)
        actions = discover_actions(o, alert, "ms_teams_attach_{app}_discover_url", "ms_teams_{app}_discover_title")
        return adaptive_message(body, fallback=o.get("ms_teams_alert_summary") or title, actions=actions)

    def send(self, alert: Alert) -> None:
        transport = http.Transport.from_options(self.options, "ms_teams")
        payload = self.payload(alert)
        for url in as_list(self.options["ms_teams_webhook_url"]):
            response = http.request("MS Teams webhook", "POST", url, json=payload, transport=transport)
            failure = relayed_failure("MS Teams webhook", response)
            if failure:
                raise failure

    def describe(self) -> str:
        n = len(as_list(self.options.get("ms_teams_webhook_url")))
        return f"ms_teams ({n} webhook{'s' if n != 1 else ''}: <secret>)"
