"""``alert: pagerduty``: an event to PagerDuty's Events API (v2, or v1 on request).

Every event carries a dedup key. Without ``pagerduty_incident_key`` it is derived from
the rule and the match's query_key values, so a rule that keeps matching appends to the
open incident instead of paging again, and a later "resolve" event can name it.
"""

from __future__ import annotations

from typing import Any, Mapping

from logalert.fields import lookup
from logalert.model import Alert
from logalert.notify.alerters import http
from logalert.notify import render
from logalert.notify.alerters.base import Alerter
from logalert.notify.alerters.incident import alert_key, base_url, format_args, template_error
from logalert.options import ALERTER, BOOLEAN, NONEMPTY, STRING, STRINGS, Option
from logalert.timeutil import iso

DEFAULT_API_URL = "https://events.pagerduty.com"
V2_PATH = "/v2/enqueue"
V1_PATH = "/generic/2010-04-15/create_event.json"
SUMMARY_LIMIT = 1024  # PagerDuty rejects longer summaries/descriptions
KEY_LIMIT = 255  # and longer dedup keys

_TEMPLATED = ("pagerduty_incident_key", "pagerduty_v2_payload_class", "pagerduty_v2_payload_component",
              "pagerduty_v2_payload_group", "pagerduty_v2_payload_source")

OPTIONS = (
    Option("pagerduty_service_key", NONEMPTY, scope=ALERTER, secret=True,
           description="integration (routing) key of the PagerDuty service"),
    Option("pagerduty_api_url", NONEMPTY, DEFAULT_API_URL, ALERTER,
           description="Events API base address; https://events.eu.pagerduty.com for the EU region"),
    Option("pagerduty_api_version", {"enum": ["v1", "v2"]}, "v2", ALERTER,
           description="Events API version (ElastAlert's default was v1)"),
    Option("pagerduty_client_name", STRING, "logalert", ALERTER,
           description="the monitoring client named in the event"),
    Option("pagerduty_event_type", {"enum": ["trigger", "resolve", "acknowledge"]}, "trigger", ALERTER),
    Option("pagerduty_incident_key", STRING, scope=ALERTER,
           description="dedup key; default logalert/<rule>/<query_key values>"),
    Option("pagerduty_incident_key_args", STRINGS, scope=ALERTER),
    Option("pagerduty_v2_payload_class", STRING, scope=ALERTER),
    Option("pagerduty_v2_payload_class_args", STRINGS, scope=ALERTER),
    Option("pagerduty_v2_payload_component", STRING, scope=ALERTER),
    Option("pagerduty_v2_payload_component_args", STRINGS, scope=ALERTER),
    Option("pagerduty_v2_payload_group", STRING, scope=ALERTER),
    Option("pagerduty_v2_payload_group_args", STRINGS, scope=ALERTER),
    Option("pagerduty_v2_payload_severity", {"enum": ["critical", "error", "warning", "info"]}, "critical", ALERTER),
    Option("pagerduty_v2_payload_source", NONEMPTY, "logalert", ALERTER),
    Option("pagerduty_v2_payload_source_args", STRINGS, scope=ALERTER),
    Option("pagerduty_v2_payload_custom_details", {
        "type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]},
        "errorMessage": "must map detail names to field names, e.g. {ip: clientip}",
    }, scope=ALERTER, description="detail name -> field of the match (the value itself when no such field)"),
    Option("pagerduty_v2_payload_include_all_info", BOOLEAN, True, ALERTER,
           description="the alert text as custom detail 'information'"),
    *http.transport_options("pagerduty"),
)
REQUIRED = ("pagerduty_service_key",)


def check(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Templates that ``str.format`` cannot parse (only those given ``*_args`` are formatted)."""
    problems = []
    for name in _TEMPLATED:
        if options.get(f"{name}_args") and (error := template_error(options.get(name))):
            problems.append((name, error))
    return problems


class PagerDutyAlerter(Alerter):
    name = "pagerduty"

    def dedup_key(self, alert: Alert) -> str:
        """The incident this event belongs to (a resolve event will reuse it)."""
        template = self.options.get("pagerduty_incident_key")
        if template:
            key = format_args(template, self.options.get("pagerduty_incident_key_args"), alert)
            if key:
                return key[:KEY_LIMIT]
        return alert_key(alert, KEY_LIMIT)

    def _templated(self, option: str, alert: Alert) -> str:
        return format_args(self.options.get(option) or "", self.options.get(f"{option}_args"), alert)

    def _summary(self, alert: Alert) -> str:
        return (alert.subject or alert.rule.name)[:SUMMARY_LIMIT]

    def custom_details(self, alert: Alert) -> dict[str, Any]:
        o = self.options
        details: dict[str, Any] = {"information": alert.body} if o.get("pagerduty_v2_payload_include_all_info") else {}
        fields = alert.matches[0].fields if alert.matches else {}
        for name, field in (o.get("pagerduty_v2_payload_custom_details") or {}).items():
            value = lookup(fields, field) if isinstance(field, str) else None
            details[name] = field if value is None else value
        return details

    def payload(self, alert: Alert) -> dict[str, Any]:
        """The request body: an Events API v2 event, or a v1 one when asked for."""
        o = self.options
        action = "resolve" if alert.resolved else o["pagerduty_event_type"]
        if o["pagerduty_api_version"] == "v1":
            return {
                "service_key": o["pagerduty_service_key"],
                "event_type": action,
                "incident_key": self.dedup_key(alert),
                "description": self._summary(alert),
                "details": {"information": alert.body},
                "client": o["pagerduty_client_name"],
            }
        if alert.resolved:  # the incident is found by its dedup key; a payload is not needed
            return {"routing_key": o["pagerduty_service_key"], "event_action": "resolve",
                    "dedup_key": self.dedup_key(alert)}
        event: dict[str, Any] = {
            "summary": self._summary(alert),
            "source": self._templated("pagerduty_v2_payload_source", alert) or "logalert",
            "severity": o["pagerduty_v2_payload_severity"],
        }
        if alert.matches:
            event["timestamp"] = iso(alert.matches[0].timestamp)
        for part in ("component", "group", "class"):
            value = self._templated(f"pagerduty_v2_payload_{part}", alert)
            if value:
                event[part] = value
        details = self.custom_details(alert)
        if details:
            event["custom_details"] = details
        body: dict[str, Any] = {
            "routing_key": o["pagerduty_service_key"],
            "event_action": o["pagerduty_event_type"],
            "dedup_key": self.dedup_key(alert),
            "payload": event,
        }
        if o.get("pagerduty_client_name"):
            body["client"] = o["pagerduty_client_name"]
        return body

    def url(self) -> str:
        path = V1_PATH if self.options["pagerduty_api_version"] == "v1" else V2_PATH
        return base_url(self.options["pagerduty_api_url"]) + path

    def send(self, alert: Alert) -> None:
        http.request("PagerDuty", "POST", self.url(), json=self.payload(alert),
                     transport=http.Transport.from_options(self.options, "pagerduty"))

    def describe(self) -> str:
        version = self.options["pagerduty_api_version"]
        return f"pagerduty (Events API {version} at {base_url(self.options['pagerduty_api_url'])})"
