"""``alert: post``: the alert's first match as a JSON POST to one or more URLs.

ElastAlert2's HTTP POST alerter: the body is the match document (``http_post_all_values``,
on unless ``http_post_payload`` picks fields), the ``http_post_static_payload`` entries,
and ``http_post_payload`` keys filled from fields of the match. ElastAlert2 posts once per
match; an aggregated logalert alert is one notification, so it posts once per URL, from
its first match.

The helpers below are shared with ``post2``: the JSON body, the header defaults, which
header values are credentials, and remembering which URLs already took an alert so a
retry after a partial failure does not post it twice.
"""

from __future__ import annotations

import json
import re
import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Iterable, Mapping, Sequence
from urllib.parse import urlsplit

from logalert.fields import lookup
from logalert.model import Alert, Match
from logalert.notify.alerters import http
from logalert.notify.alerters.base import Alerter
from logalert.options import ALERTER, BOOLEAN, STRING_OR_LIST, Option
from logalert.secrets import register
from logalert.timeutil import iso

if TYPE_CHECKING:
    from logalert.rules.model import Rule

FIELD_MAP = {"type": "object", "additionalProperties": {"type": "string", "minLength": 1},
             "description": "payload key -> dotted field of the match, e.g. {ip: client.ip}"}
HEADERS = {"type": "object", "additionalProperties": {"type": ["string", "number", "boolean"]},
           "description": "header name -> value"}

OPTIONS = (
    Option("http_post_url", STRING_OR_LIST, scope=ALERTER, secret=True,
           description="one URL or a list; each receives the same POST"),
    Option("http_post_payload", FIELD_MAP, scope=ALERTER),
    Option("http_post_static_payload", {"type": "object"}, scope=ALERTER, secret=True,
           description="fixed keys and values added to every payload (may hold an API key)"),
    Option("http_post_all_values", BOOLEAN, scope=ALERTER,
           description="also send every field of the match; default true unless http_post_payload is set"),
    Option("http_post_headers", HEADERS, scope=ALERTER, secret=True),
    *http.transport_options("http_post"),
)
REQUIRED = ("http_post_url",)

DEFAULT_HEADERS = {"Content-Type": "application/json", "Accept": "application/json;charset=utf-8"}

_MISSING = object()
# Header and payload names whose values are credentials: masked wherever they would print.
_SENSITIVE = re.compile(r"auth|token|key|secret|passw|cookie|signature|credential", re.I)


def status_fields(alert: Alert) -> dict[str, Any]:
    """``status`` (firing/resolved) and, for a resolution, since when and how long it fired."""
    out: dict[str, Any] = {"status": alert.status}
    if alert.since is not None:
        out["firing_since"] = iso(alert.since)
    if alert.firing_seconds is not None:
        out["firing_seconds"] = alert.firing_seconds
    return out


def as_list(value: str | Sequence[str] | None) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def first_match(alert: Alert) -> Match | None:
    """ElastAlert fills fields from the first match; an alert re-read without its matches has none."""
    return alert.matches[0] if alert.matches else None


def field_value(match: Match | None, path: str, default: Any = None) -> Any:
    """A dotted field of the match document, else a number the rule type computed
    (``details``), as ElastAlert's match dictionaries carry both."""
    if match is None:
        return default
    value = lookup(match.fields, path, _MISSING)
    if value is _MISSING:
        value = match.details.get(path, _MISSING)
    return default if value is _MISSING else value


def json_body(payload: Any) -> bytes:
    """JSON of the payload; values JSON cannot hold (datetimes) as their text."""
    return json.dumps(payload, default=str, ensure_ascii=False).encode("utf-8")


def merge_headers(own: Mapping[str, Any]) -> dict[str, str]:
    """The JSON defaults ElastAlert2 sends, overridden by the rule's own (names compared
    without case, so ``content-type`` replaces ``Content-Type`` instead of doubling it)."""
    names = {str(k).lower() for k in own}
    merged = {k: v for k, v in DEFAULT_HEADERS.items() if k.lower() not in names}
    merged.update({str(k): str(v) for k, v in own.items()})
    return merged


def register_credentials(mapping: Mapping[str, Any] | None) -> None:
    """Mask values of credential-like entries (``Authorization``, ``apikey``…) from now on.
    For ``Basic xyz`` / ``Bearer xyz`` the bare credential is masked too: a service may
    quote only that."""
    for name, value in (mapping or {}).items():
        if not isinstance(value, str) or not _SENSITIVE.search(str(name)):
            continue
        register(value)
        scheme, _, credential = value.partition(" ")
        if credential and scheme.isalpha():
            register(credential.strip())


def register_urls(urls: Iterable[str]) -> None:
    """Mask each URL's path on its own too: the registry masks the path with its query
    string, and a service may quote only the path."""
    for url in urls:
        parts = urlsplit(url)
        if parts.query and len(parts.path) > 1:
            register(parts.path)


class PartialDeliveries:
    """Which URLs already accepted an alert whose send failed at a later URL. The retry
    then posts only to the rest. Entries go once the alert is delivered everywhere, and
    the oldest go first past ``limit``: a restart forgets them (the alert goes to every
    URL again, as without this memory)."""

    def __init__(self, limit: int = 1024) -> None:
        self._done: OrderedDict[str, set[str]] = OrderedDict()
        self._lock = threading.Lock()
        self._limit = limit

    def pending(self, alert_id: str, urls: Iterable[str]) -> list[str]:
        with self._lock:
            done = self._done.get(alert_id, set())
        return [u for u in urls if u not in done]

    def delivered(self, alert_id: str, url: str) -> None:
        with self._lock:
            self._done.setdefault(alert_id, set()).add(url)
            self._done.move_to_end(alert_id)
            while len(self._done) > self._limit:
                self._done.popitem(last=False)

    def complete(self, alert_id: str) -> None:
        with self._lock:
            self._done.pop(alert_id, None)


def post_to_all(service: str, alert: Alert, urls: Sequence[str], body: bytes, headers: Mapping[str, str],
                transport: http.Transport, memory: PartialDeliveries) -> None:
    """POST ``body`` to each URL not yet done for this alert; the first failure raises
    (http.request's DeliveryError) and the URLs that succeeded are remembered."""
    for url in memory.pending(alert.id, urls):
        http.request(service, "POST", url, data=body, headers=headers, transport=transport)
        memory.delivered(alert.id, url)
    memory.complete(alert.id)


class HttpPostAlerter(Alerter):
    name = "post"

    def __init__(self, rule: Rule, options: Mapping[str, Any]) -> None:
        super().__init__(rule, options)
        register_credentials(self.options.get("http_post_headers"))
        register_credentials(self.options.get("http_post_static_payload"))
        register_urls(as_list(self.options.get("http_post_url")))
        self._memory = PartialDeliveries()

    def payload(self, alert: Alert) -> dict[str, Any]:
        o = self.options
        fields: Mapping[str, str] = o.get("http_post_payload") or {}
        all_values = o.get("http_post_all_values")
        if all_values is None:
            all_values = not fields
        match = first_match(alert)
        body: dict[str, Any] = dict(match.fields) if all_values and match is not None else {}
        body.update(o.get("http_post_static_payload") or {})
        for key, path in fields.items():
            body[key] = field_value(match, path)
        if o.get("send_resolved"):  # receivers tell a trigger from its resolution
            body.update(status_fields(alert))
        return body

    def headers(self) -> dict[str, str]:
        return merge_headers(self.options.get("http_post_headers") or {})

    def send(self, alert: Alert) -> None:
        post_to_all("HTTP POST", alert, as_list(self.options["http_post_url"]), json_body(self.payload(alert)),
                    self.headers(), http.Transport.from_options(self.options, "http_post"), self._memory)

    def describe(self) -> str:
        n = len(as_list(self.options.get("http_post_url")))
        return f"post ({n} URL{'s' if n != 1 else ''}: <secret>)"
