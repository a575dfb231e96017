"""``alert: ms_power_automate``: an Adaptive Card to a Power Automate (Teams Workflows)
webhook, which posts it to the channel chosen in the flow ("Send each adaptive card").

Shares the card shape with ``ms_teams`` (see there for why one TextBlock per line).
``ms_power_automate_kibana_discover_attach_url`` (and the OpenSearch twin) add a button
opening the first match's Discover link, in the style ``…_discover_color`` names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from logalert.fields import lookup
from logalert.model import Alert
from logalert.notify.alerters import http
from logalert.notify.alerters.base import Alerter
from logalert.notify.alerters.ms_teams import DISCOVER_TITLES, FACTS, adaptive_message, as_list, discover_actions, \
    fact_set, text_blocks, url_problems
from logalert.options import ALERTER, BOOLEAN, STRING, STRING_OR_LIST, Option
from logalert.secrets import register

if TYPE_CHECKING:
    from logalert.rules.model import Rule

SIZES = ["default", "small", "medium", "large", "extraLarge"]
STYLES = {"enum": ["default", "positive", "destructive"]}

OPTIONS = (
    Option("ms_power_automate_webhook_url", STRING_OR_LIST, scope=ALERTER, secret=True),
    Option("ms_power_automate_webhook_url_from_field", STRING, scope=ALERTER,
           description="field of the first match holding the webhook URL(s, comma-separated); "
                       "ms_power_automate_webhook_url when the field is missing"),
    Option("ms_power_automate_alert_summary", STRING, scope=ALERTER, description="card title; default the subject"),
    Option("ms_power_automate_summary_text_size", {"enum": SIZES}, "large", ALERTER),
    Option("ms_power_automate_body_text_size", {"enum": SIZES}, scope=ALERTER),
    Option("ms_power_automate_teams_card_width_full", BOOLEAN, False, ALERTER),
    Option("ms_power_automate_alert_facts", FACTS, scope=ALERTER),
    *(option for app in ("kibana", "opensearch") for option in (
        Option(f"ms_power_automate_{app}_discover_attach_url", BOOLEAN, False, ALERTER,
               description=f"a button opening the {app}_discover_url (generate_{app}_discover_url)"),
        Option(f"ms_power_automate_{app}_discover_title", STRING, DISCOVER_TITLES[app], ALERTER),
        Option(f"ms_power_automate_{app}_discover_color", STYLES, "default", ALERTER,
               description="the button's style"))),
    *http.transport_options("ms_power_automate"),
)
REQUIRED = ("ms_power_automate_webhook_url",)


def check(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    return url_problems(options, "ms_power_automate_webhook_url")


class MsPowerAutomateAlerter(Alerter):
    name = "ms_power_automate"

    def __init__(self, rule: Rule, options: Mapping[str, Any]):
        super().__init__(rule, options)
        register(self.options.get("ms_power_automate_webhook_url"))

    def title(self, alert: Alert) -> str:
        return self.options.get("ms_power_automate_alert_summary") or alert.subject

    def payload(self, alert: Alert) -> dict[str, Any]:
        o = self.options
        title = self.title(alert)
        body: list[dict[str, Any]] = [{"type": "TextBlock", "text": title, "weight": "Bolder", "wrap": True,
                                       "size": o["ms_power_automate_summary_text_size"]}]
        body += text_blocks(alert.body, size=o.get("ms_power_automate_body_text_size"))
        facts = fact_set(o.get("ms_power_automate_alert_facts"), alert)
        if facts:
            body.append(facts)
        wide = {"width": "Full"} if o.get("ms_power_automate_teams_card_width_full") else None
        actions = discover_actions(o, alert, "ms_power_automate_{app}_discover_attach_url",
                                   "ms_power_automate_{app}_discover_title", "ms_power_automate_{app}_discover_color")
        return adaptive_message(body, fallback=title, msteams=wide, actions=actions)

    def urls(self, alert: Alert) -> list[str]:
        """The webhooks for this alert: from the first match's field when the rule names
        one and the match has it (an alert re-sent without its matches falls back)."""
        field = self.options.get("ms_power_automate_webhook_url_from_field")
        if field and alert.matches:
            found = lookup(alert.matches[0].fields, field)
            if isinstance(found, str) and found.strip():
                urls = [u.strip() for u in found.split(",") if u.strip()]
                register(urls)  # a URL from a log document is as secret as a configured one
                return urls
        return as_list(self.options["ms_power_automate_webhook_url"])

    def send(self, alert: Alert) -> None:
        transport = http.Transport.from_options(self.options, "ms_power_automate")
        payload = self.payload(alert)
        for url in self.urls(alert):
            http.request("Power Automate webhook", "POST", url, json=payload, transport=transport)

    def describe(self) -> str:
        n = len(as_list(self.options.get("ms_power_automate_webhook_url")))
        field = self.options.get("ms_power_automate_webhook_url_from_field")
        where = f", or from field {field}" if field else ""
        return f"ms_power_automate ({n} webhook{'s' if n != 1 else ''}: <secret>{where})"
