"""``alert: opsgenie``: an alert created through Opsgenie's Alert API (v2).

Most texts are ElastAlert templates with named fields of the first match
(``"{host.name} is down"``); ``opsgenie_subject`` takes positional ``*_args`` instead.
The alias defaults to a key derived from the rule and its query_key values, so Opsgenie
folds repeated alerts into one and a later "close" can find it.
"""

from __future__ import annotations

import logging
import os
import re
import string
from typing import Any, Mapping, Sequence
from urllib.parse import quote

from logalert.fields import lookup
from logalert.model import Alert
from logalert.notify.alerters import http
from logalert.notify.alerters.base import Alerter
from logalert.notify.alerters.incident import alert_key, base_url, format_args, template_error
from logalert.secrets import is_secret
from logalert.options import ALERTER, NONEMPTY, STRING, STRING_OR_LIST, STRINGS, Option

log = logging.getLogger(__name__)

DEFAULT_ADDR = "https://api.opsgenie.com/v2/alerts"
PRIORITIES = ("P1", "P2", "P3", "P4", "P5")
# Opsgenie's limits per field (characters).
MESSAGE_LIMIT, ALIAS_LIMIT, DESCRIPTION_LIMIT, ENTITY_LIMIT, SOURCE_LIMIT, USER_LIMIT = 130, 512, 15000, 512, 100, 100
NOTE_LIMIT = 25000  # Opsgenie caps notes of close requests at 25,000 characters

_ARGS = {"type": "object", "additionalProperties": {"type": "string", "minLength": 1},
         "errorMessage": "must map placeholder names to field names, e.g. {team: kubernetes.namespace}"}
_DETAILS = {
    "type": "object",
    "errorMessage": "must map detail names to a text or to {field: FIELD}",
    "additionalProperties": {"anyOf": [
        {"type": ["string", "number", "boolean"]},
        {"type": "object", "required": ["field"], "additionalProperties": False,
         "properties": {"field": {"type": "string", "minLength": 1}}},
    ]},
}
_PRIORITY = {"type": "string", "pattern": r"^(P[1-5]|.*\{.*\}.*)$",
             "errorMessage": "must be P1, P2, P3, P4 or P5 (or a template such as 'P{level}')"}
# Texts formatted with the first match's fields by name.
_NAMED = ("opsgenie_addr", "opsgenie_message", "opsgenie_description", "opsgenie_alias", "opsgenie_priority",
          "opsgenie_entity", "opsgenie_source")

OPTIONS = (
    Option("opsgenie_key", NONEMPTY, scope=ALERTER, secret=True, description="API integration key"),
    Option("opsgenie_addr", NONEMPTY, DEFAULT_ADDR, ALERTER,
           description="the create-alert URL; https://api.eu.opsgenie.com/v2/alerts for the EU instance"),
    Option("opsgenie_account", STRING, scope=ALERTER, description="sent as the alert's user"),
    Option("opsgenie_recipients", STRING_OR_LIST, scope=ALERTER, description="users to notify"),
    Option("opsgenie_recipients_args", _ARGS, scope=ALERTER),
    Option("opsgenie_default_receipients", STRINGS, scope=ALERTER,
           description="users when no recipient template can be filled (ElastAlert's spelling)"),
    Option("opsgenie_default_recipients", STRINGS, scope=ALERTER,
           description="the corrected spelling of opsgenie_default_receipients"),
    Option("opsgenie_teams", STRING_OR_LIST, scope=ALERTER, description="teams to notify"),
    Option("opsgenie_teams_args", _ARGS, scope=ALERTER),
    Option("opsgenie_default_teams", STRINGS, scope=ALERTER),
    Option("opsgenie_tags", STRING_OR_LIST, scope=ALERTER, description="'logalert' and the rule name are added"),
    Option("opsgenie_message", STRING, scope=ALERTER, description="message template with {field} names"),
    Option("opsgenie_subject", STRING, scope=ALERTER,
           description="message template with {0}… from opsgenie_subject_args"),
    Option("opsgenie_subject_args", STRINGS, scope=ALERTER),
    Option("opsgenie_description", STRING, scope=ALERTER, description="default: the alert text"),
    Option("opsgenie_alias", STRING, scope=ALERTER, description="default: logalert/<rule>/<query_key values>"),
    Option("opsgenie_priority", _PRIORITY, scope=ALERTER),
    Option("opsgenie_details", _DETAILS, scope=ALERTER),
    Option("opsgenie_entity", STRING, scope=ALERTER),
    Option("opsgenie_source", STRING, "logalert", ALERTER),
    *http.transport_options("opsgenie"),
)
REQUIRED = ("opsgenie_key",)


class _FieldFormatter(string.Formatter):
    """``{name}`` reads a field of the document, dotted names included; what it lacks
    becomes ``alert_missing_value`` (ElastAlert raised KeyError and lost the alert)."""

    def __init__(self, doc: Mapping[str, Any], missing: Any):
        self.doc, self.missing = doc, missing

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> tuple[Any, str]:
        value = lookup(self.doc, field_name)
        if value is None:  # index syntax such as {ips[0]}
            try:
                value = super().get_field(field_name, (), self.doc)[0]
            except (KeyError, IndexError, AttributeError, TypeError, ValueError):
                value = None
        return (self.missing if value is None else value), field_name


def _expand(text: str) -> str:
    def value(m: "re.Match[str]") -> str:
        name = m.group(1) or m.group(2)
        if name.startswith("LOGALERT_") or is_secret(name.lower()) or name not in os.environ:
            return m.group(0)
        return os.environ[name]

    return re.sub(r"\$(?:\{(\w+)\}|(\w+))", value, text)


def _list(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else [str(v) for v in value]


def check(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Templates that ``str.format`` cannot parse."""
    problems = []
    names = list(_NAMED) + (["opsgenie_subject"] if options.get("opsgenie_subject_args") else [])
    for name in names:
        if error := template_error(options.get(name)):
            problems.append((name, error))
    return problems


class OpsGenieAlerter(Alerter):
    name = "opsgenie"

    def fill(self, template: str, alert: Alert) -> str:
        """``template`` with ``{field}`` names of the first match filled in."""
        fields = alert.matches[0].fields if alert.matches else {}
        try:
            return _FieldFormatter(fields, alert.rule.get("alert_missing_value")).format(template)
        except (ValueError, TypeError, IndexError, KeyError, AttributeError):
            return template  # a broken template is sent as written rather than losing the alert

    def alias(self, alert: Alert) -> str:
        """The identity Opsgenie deduplicates on (a close request will reuse it)."""
        template = self.options.get("opsgenie_alias")
        value = self.fill(template, alert) if template else ""
        return value[:ALIAS_LIMIT] if value else alert_key(alert, ALIAS_LIMIT)

    def message(self, alert: Alert) -> str:
        o = self.options
        if o.get("opsgenie_message"):
            text = self.fill(o["opsgenie_message"], alert)
        elif o.get("opsgenie_subject"):
            text = format_args(o["opsgenie_subject"], o.get("opsgenie_subject_args"), alert)
        else:
            text = alert.subject
        return (text or alert.rule.name)[:MESSAGE_LIMIT]

    def _responders(self, alert: Alert, kind: str) -> list[str]:
        """ElastAlert's responder templates: with ``*_args``, each name is formatted with
        those fields; names that cannot be filled are dropped, and if none is left the
        defaults are used (none: Opsgenie's routing decides)."""
        o = self.options
        names = _list(o.get(f"opsgenie_{kind}"))
        args = o.get(f"opsgenie_{kind}_args")
        if not args or not names:
            return names
        fields = alert.matches[0].fields if alert.matches else {}
        values = {key: lookup(fields, field) for key, field in args.items()}
        values = {key: value for key, value in values.items() if value is not None}
        filled = []
        for name in names:
            try:
                filled.append(name.format(**values))
            except (KeyError, IndexError, ValueError, AttributeError):
                continue
        if filled:
            return filled
        if kind == "recipients":
            return _list(o.get("opsgenie_default_recipients") or o.get("opsgenie_default_receipients"))
        return _list(o.get("opsgenie_default_teams"))

    def details(self, alert: Alert) -> dict[str, str]:
        """Opsgenie details are strings: ``{field: x}`` reads the match (absent fields are
        left out), a text is taken as is with ``$VARIABLES`` of the environment expanded —
        except logalert's own (LOGALERT_*) and secret-looking ones (*_PASSWORD, *_TOKEN…),
        which stay unexpanded: a rule must not be able to ship the daemon's credentials."""
        fields = alert.matches[0].fields if alert.matches else {}
        out = {}
        for name, spec in (self.options.get("opsgenie_details") or {}).items():
            if isinstance(spec, dict):
                value = lookup(fields, spec["field"])
                if value is not None:
                    out[name] = str(value)
            else:
                out[name] = _expand(str(spec))
        return out

    def payload(self, alert: Alert) -> dict[str, Any]:
        """The create-alert request body."""
        o = self.options
        body: dict[str, Any] = {
            "message": self.message(alert),
            "alias": self.alias(alert),
            "description": (self.fill(o["opsgenie_description"], alert) if o.get("opsgenie_description")
                            else alert.body)[:DESCRIPTION_LIMIT],
        }
        responders = [{"username": u, "type": "user"} for u in self._responders(alert, "recipients")]
        responders += [{"name": t, "type": "team"} for t in self._responders(alert, "teams")]
        if responders:
            body["responders"] = responders
        tags = [self.fill(t, alert) for t in _list(o.get("opsgenie_tags"))] + ["logalert", alert.rule.name]
        body["tags"] = list(dict.fromkeys(t for t in tags if t))
        if o.get("opsgenie_priority"):
            priority = self.fill(o["opsgenie_priority"], alert)
            if priority in PRIORITIES:
                body["priority"] = priority
            else:
                log.warning("rule %r: opsgenie_priority %r is not P1-P5; Opsgenie's default applies",
                            alert.rule.name, priority)
        details = self.details(alert)
        if details:
            body["details"] = details
        if o.get("opsgenie_entity"):
            body["entity"] = self.fill(o["opsgenie_entity"], alert)[:ENTITY_LIMIT]
        if o.get("opsgenie_source"):
            body["source"] = self.fill(o["opsgenie_source"], alert)[:SOURCE_LIMIT]
        if o.get("opsgenie_account"):
            body["user"] = o["opsgenie_account"][:USER_LIMIT]
        return body

    def url(self, alert: Alert) -> str:
        return base_url(self.fill(self.options["opsgenie_addr"], alert))

    def close_payload(self, alert: Alert) -> dict[str, Any]:
        """The close-alert request body (send_resolved)."""
        body: dict[str, Any] = {"source": "logalert", "note": alert.body[:NOTE_LIMIT]}
        if self.options.get("opsgenie_account"):
            body["user"] = self.options["opsgenie_account"][:USER_LIMIT]
        return body

    def send(self, alert: Alert) -> None:
        if alert.resolved:  # close the alert its trigger opened, found by alias
            url = f"{self.url(alert).rstrip('/')}/{quote(self.alias(alert), safe='')}/close?identifierType=alias"
            http.request("Opsgenie", "POST", url, json=self.close_payload(alert),
                         headers={"Authorization": f"GenieKey {self.options['opsgenie_key']}"},
                         transport=http.Transport.from_options(self.options, "opsgenie"))
            return
        http.request("Opsgenie", "POST", self.url(alert), json=self.payload(alert),
                     headers={"Authorization": f"GenieKey {self.options['opsgenie_key']}"},
                     transport=http.Transport.from_options(self.options, "opsgenie"))

    def describe(self) -> str:
        return f"opsgenie ({self.options['opsgenie_addr']})"
