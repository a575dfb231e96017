"""``alert: alertmanager``: the alert posted to Prometheus Alertmanager (API v2, or v1
for old servers).

Alertmanager identifies an alert by its label set and merges repeated posts of the same
one, so re-sending is harmless. The alert goes to every host of
``alertmanager_hosts`` (the members of one HA cluster each need it, as Prometheus sends
to all); it is delivered when at least one accepted it. ElastAlert stopped at the first
host that failed and skipped the rest.

Labels are ``alertmanager_labels`` (texts, ``{field: x}``, or Jinja templates as in
ElastAlert 2.24), then ``alertmanager_fields``, then ``alertname`` and
``elastalert_rule`` — the label ElastAlert sets, kept so existing Alertmanager routes
still match — and, for a rule with ``query_key`` (or a digest's ``aggregation_key``),
one label per key field with its value: Alertmanager tells alerts apart by labels only,
so without them the alerts of every key would be one alert, and resolving one key
would resolve them all. Annotations carry the subject and text.
"""

from __future__ import annotations

import functools
import json
import logging
import re
from typing import TYPE_CHECKING, Any, Mapping
from urllib.parse import urlsplit

from logalert.errors import DeliveryError
from logalert.fields import lookup
from logalert.model import Alert
from logalert.notify.alerters import http
from logalert.notify import digest
from logalert.notify.alerters.base import Alerter
from logalert.options import ALERTER, NONEMPTY, SPAN, STRING, STRING_OR_LIST, Option
from logalert.timeutil import iso, now, to_timedelta

if TYPE_CHECKING:
    from jinja2.sandbox import SandboxedEnvironment

log = logging.getLogger(__name__)

_FIELD = {"type": "object", "required": ["field"], "additionalProperties": False,
          "properties": {"field": {"type": "string", "minLength": 1}}}
_VALUES = {
    "type": "object",
    "errorMessage": "must map names to a text, a Jinja template or {field: FIELD}",
    "additionalProperties": {"anyOf": [{"type": ["string", "number", "boolean"]}, _FIELD]},
}
_FIELDS = {
    "type": "object",
    "errorMessage": "must map label names to field names, e.g. {host: host.name}",
    "additionalProperties": {"anyOf": [{"type": "string", "minLength": 1}, _FIELD]},
}

OPTIONS = (
    Option("alertmanager_hosts", STRING_OR_LIST, scope=ALERTER,
           description="Alertmanager base URLs, e.g. http://alertmanager:9093; the alert goes to each"),
    Option("alertmanager_api_version", {"enum": ["v1", "v2"]}, "v2", ALERTER,
           description="v1 only for Alertmanager before 0.16 (ElastAlert's default was v1)"),
    Option("alertmanager_alertname", NONEMPTY, scope=ALERTER, description="the alertname label; default the rule name"),
    Option("alertmanager_labels", _VALUES, scope=ALERTER),
    Option("alertmanager_annotations", _VALUES, scope=ALERTER),
    Option("alertmanager_fields", _FIELDS, scope=ALERTER, description="label name -> field of the match"),
    Option("alertmanager_alert_subject_labelname", NONEMPTY, "summary", ALERTER,
           description="the annotation holding the alert subject"),
    Option("alertmanager_alert_text_labelname", NONEMPTY, "description", ALERTER,
           description="the annotation holding the alert text"),
    Option("alertmanager_resolve_time", SPAN, scope=ALERTER,
           description="endsAt = now + this: resolved unless posted again; default Alertmanager's resolve_timeout"),
    Option("alertmanager_basic_auth_login", STRING, scope=ALERTER),
    Option("alertmanager_basic_auth_password", STRING, scope=ALERTER, secret=True),
    *http.transport_options("alertmanager"),
)
REQUIRED = ("alertmanager_hosts",)


@functools.lru_cache(maxsize=1)
def _jinja() -> "SandboxedEnvironment":
    # Sandboxed as alert_text_jinja is: rule authors are not trusted with Python attributes.
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(autoescape=False)


def _is_template(value: Any) -> bool:
    return isinstance(value, str) and any(mark in value for mark in ("{{", "{%", "{#"))


def _hosts(options: Mapping[str, Any]) -> list[str]:
    hosts = options.get("alertmanager_hosts") or []
    return [hosts] if isinstance(hosts, str) else list(hosts)


def label_name(field: str) -> str:
    """A field name as a label name Alertmanager accepts everywhere
    (``[a-zA-Z_][a-zA-Z0-9_]*``): ``kubernetes.namespace_name`` → ``kubernetes_namespace_name``."""
    name = re.sub(r"[^A-Za-z0-9_]", "_", field)
    return name if name and not name[0].isdigit() else f"_{name}"


def key_fields(alert: Alert) -> dict[str, Any]:
    """The fields that tell this rule's alerts apart (query_key, or aggregation_key for a
    digest) with their values in the alert's first match."""
    rule = alert.rule
    if not alert.matches:
        return {}
    match = alert.matches[0]
    if digest.enabled(rule) and digest.agg_fields(rule):
        return {n: lookup(match.fields, n) for n in digest.agg_fields(rule)}
    if match.key and len(match.key) == len(rule.query_key):
        return dict(zip(rule.query_key, match.key))
    return {n: lookup(match.fields, n) for n in rule.query_key}


def _base(host: str) -> str:
    host = host.strip().rstrip("/")
    return host if "://" in host else f"http://{host}"


def _shown(host: str) -> str:
    """A host URL without the user:password it may carry, for messages."""
    parts = urlsplit(_base(host))
    netloc = parts.hostname or ""
    if parts.port:
        netloc += f":{parts.port}"
    return f"{parts.scheme}://{netloc}{parts.path}"


def check(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Jinja templates among label and annotation values that do not compile."""
    problems = []
    for option in ("alertmanager_labels", "alertmanager_annotations"):
        for name, value in (options.get(option) or {}).items():
            if _is_template(value):
                from jinja2 import TemplateSyntaxError

                try:
                    _jinja().parse(value)
                except TemplateSyntaxError as exc:
                    problems.append((option, f"{name}: the Jinja template does not compile: {exc.message}"))
    return problems


class AlertmanagerAlerter(Alerter):
    name = "alertmanager"
    renews = True  # Alertmanager resolves an alert on its own unless it is posted again

    def _text(self, value: Any, alert: Alert) -> str:
        """A label or annotation value as the string Alertmanager requires."""
        fields = alert.matches[0].fields if alert.matches else {}
        if isinstance(value, dict):  # {field: name}
            value = lookup(fields, value["field"])
            if value is None:
                value = alert.rule.get("alert_missing_value")
        elif _is_template(value):
            try:
                value = _jinja().from_string(value).render({**fields, "_data": fields})
            except Exception as exc:  # noqa: BLE001 - a broken template must not lose the alert
                log.warning("rule %r: Alertmanager label template failed: %s", alert.rule.name, exc)
        if isinstance(value, str):
            return value
        if isinstance(value, bool):
            return str(value).lower()
        return json.dumps(value, default=str)

    def labels(self, alert: Alert) -> dict[str, str]:
        o = self.options
        labels = {name: self._text(value, alert) for name, value in (o.get("alertmanager_labels") or {}).items()}
        for name, field in (o.get("alertmanager_fields") or {}).items():
            labels[name] = self._text(field if isinstance(field, dict) else {"field": field}, alert)
        labels["alertname"] = o.get("alertmanager_alertname") or alert.rule.name
        labels["elastalert_rule"] = alert.rule.name
        for field, value in key_fields(alert).items():
            # Not through _text: a log's value is data, never a template.
            text = "" if value is None else value if isinstance(value, str) else json.dumps(value, default=str)
            labels.setdefault(label_name(field), text)
        return labels

    def annotations(self, alert: Alert) -> dict[str, str]:
        o = self.options
        notes = {name: self._text(value, alert) for name, value in (o.get("alertmanager_annotations") or {}).items()}
        notes[o["alertmanager_alert_subject_labelname"]] = alert.subject
        notes[o["alertmanager_alert_text_labelname"]] = alert.body
        return notes

    def payload(self, alert: Alert) -> dict[str, Any]:
        """One alert of the list Alertmanager takes (the same shape for v1 and v2)."""
        moment = now()
        body: dict[str, Any] = {"labels": self.labels(alert), "annotations": self.annotations(alert)}
        start = alert.since or (alert.matches[0].timestamp if alert.matches else None)
        if start is not None:
            # Not after now: Alertmanager refuses an alert that starts after it ends.
            body["startsAt"] = iso(min(start, moment))
        if alert.resolved:  # the same labels with endsAt now: Alertmanager marks it resolved
            body["endsAt"] = iso(moment)
        elif self.options.get("alertmanager_resolve_time"):
            body["endsAt"] = iso(moment + to_timedelta(self.options["alertmanager_resolve_time"]))
        elif self.options.get("send_resolved"):
            # logalert says when it ends; until then each run re-posts it (renews), so it
            # must outlive the quiet stretch before logalert resolves it.
            rule = alert.rule
            body["endsAt"] = iso(moment + rule.resolve_after + 2 * rule.run_every)
        return body

    def send(self, alert: Alert) -> None:
        o = self.options
        version = o["alertmanager_api_version"]
        transport = http.Transport.from_options(o, "alertmanager")
        login = o.get("alertmanager_basic_auth_login")
        auth = (login, o.get("alertmanager_basic_auth_password") or "") if login else None
        body = [self.payload(alert)]
        hosts = _hosts(o)
        if not hosts:
            raise DeliveryError("alertmanager_hosts is empty", retryable=False)
        failures: list[DeliveryError] = []
        for host in hosts:
            service = f"Alertmanager {_shown(host)}"
            try:
                response = http.request(service, "POST", f"{_base(host)}/api/{version}/alerts", json=body,
                                        auth=auth, transport=transport, ok=(410,) if version == "v1" else ())
                if response.status_code == 410:
                    raise DeliveryError(f"{service} answered HTTP 410: it has no v1 API any more; "
                                        "set alertmanager_api_version: v2", retryable=False)
            except DeliveryError as exc:
                failures.append(exc)
        if len(failures) < len(hosts):
            for exc in failures:  # another member of the cluster has the alert
                log.warning("rule %r: %s", alert.rule.name, exc)
            return
        if len(failures) == 1:
            raise failures[0]
        waits = [f.retry_after for f in failures if f.retry_after is not None]
        raise DeliveryError("; ".join(str(f) for f in failures), retryable=any(f.retryable for f in failures),
                            retry_after=max(waits) if waits else None)

    def describe(self) -> str:
        version = self.options["alertmanager_api_version"]
        return f"alertmanager (API {version}: {', '.join(_shown(h) for h in _hosts(self.options))})"
