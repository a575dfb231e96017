"""``alert: post2``: a JSON POST whose payload and headers are Jinja templates.

ElastAlert2's "HTTP POST 2" alerter, and the way to reach a service logalert has no
notifier for. ``http_post2_payload`` and ``http_post2_headers`` come in two forms:

* a mapping: every key and every string value (at any depth) is a template. Each one is
  rendered to a string and the payload is built as data and serialised once, so a quote,
  backslash or newline in a log line cannot break the JSON and the template may use any
  quotes (ElastAlert2 rendered these inside JSON text, where a ``"`` in the template
  broke it).
* a string: one template of JSON text. Here the output of every ``{{ … }}`` is escaped
  for use inside a JSON string (numbers, true/false and null come out as JSON literals,
  so they may also stand outside quotes; ``| tojson`` emits a value as raw JSON), and the
  result must parse as a JSON object, or the alert fails without a request.

Templates see the fields of the alert's first match as variables (plus the numbers its
rule type added and the Discover links the rule asks for, ``kibana_discover_url`` /
``opensearch_discover_url``), and the whole document as ``jinja_root_name`` (``_data``,
a rule option) for field names with dots. They run in Jinja's sandbox: rule files are not trusted with Python.
"""

from __future__ import annotations

import functools
import json
import re
from typing import TYPE_CHECKING, Any, Iterator, Mapping

from logalert.errors import DeliveryError
from logalert.model import Alert, Match
from logalert.notify.alerters import http
from logalert.notify.alerters.base import Alerter
from logalert.notify.alerters.post import (FIELD_MAP, PartialDeliveries, as_list, field_value, first_match,
                                          json_body, merge_headers, post_to_all, register_credentials, register_urls,
                                          status_fields)
from logalert.notify import discover
from logalert.options import ALERTER, BOOLEAN, BY_NAME, STRING_OR_LIST, Option
from logalert.secrets import mask
from logalert.timeutil import iso

if TYPE_CHECKING:
    from jinja2 import Template
    from jinja2.sandbox import SandboxedEnvironment

    from logalert.rules.model import Rule

TEMPLATES = {"anyOf": [{"type": "object"}, {"type": "string"}],
             "description": "a mapping whose keys and values are Jinja templates, or one template of JSON text",
             "errorMessage": "must be a mapping (keys and values may be Jinja templates) or a string of JSON text"}

OPTIONS = (
    Option("http_post2_url", STRING_OR_LIST, scope=ALERTER, secret=True,
           description="one URL or a list; each receives the same POST"),
    Option("http_post2_payload", TEMPLATES, scope=ALERTER),
    Option("http_post2_raw_fields", FIELD_MAP, scope=ALERTER,
           description="payload key -> dotted field of the match, sent with its JSON type; "
                       "wins over http_post2_payload"),
    Option("http_post2_all_values", BOOLEAN, scope=ALERTER,
           description="also send every field of the match; default true unless http_post2_payload is set"),
    Option("http_post2_headers", TEMPLATES, scope=ALERTER, secret=True),
    BY_NAME["jinja_root_name"],  # a rule option (alert_text_jinja reads it too); an alert: entry may override it
    *http.transport_options("http_post2"),
)
REQUIRED = ("http_post2_url",)

TEMPLATED = ("http_post2_payload", "http_post2_headers")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # an RFC 9110 token


def _json_text(value: Any) -> Any:
    """Jinja ``finalize`` for JSON-text templates: what ``{{ … }}`` emits is safe inside
    a JSON string. Markup (from ``| tojson`` or ``| safe``) is the author's raw JSON."""
    from jinja2 import Undefined
    from markupsafe import Markup

    if isinstance(value, (Undefined, Markup)):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return value
    if not isinstance(value, str):
        value = json.dumps(value, default=str, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)[1:-1]


@functools.lru_cache(maxsize=None)
def _environment(json_text: bool) -> SandboxedEnvironment:
    from jinja2.sandbox import SandboxedEnvironment

    return SandboxedEnvironment(autoescape=False, finalize=_json_text if json_text else None)


@functools.lru_cache(maxsize=1024)
def _template(source: str, json_text: bool) -> Template:
    return _environment(json_text).from_string(source)


def _sources(value: Any) -> Iterator[tuple[str, str]]:
    """(where, template source) of every template in an option's value."""
    if isinstance(value, str):
        yield "", value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield f" (key {key!r})", str(key)
            for where, source in _sources(item):
                yield where or f" (value of {key!r})", source
    elif isinstance(value, list):
        for item in value:
            yield from _sources(item)


def check(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Templates that do not compile, reported at load time (``validate``) with the option's line."""
    out: list[tuple[str, str]] = []
    from jinja2 import TemplateSyntaxError

    for name in TEMPLATED:
        value = options.get(name)
        for where, source in _sources(value):
            try:
                _template(source, isinstance(value, str))
            except TemplateSyntaxError as exc:
                out.append((name, f"Jinja template error{where}: {exc.message} (template line {exc.lineno})"))
                break
    return out


class HttpPost2Alerter(Alerter):
    name = "post2"

    def __init__(self, rule: Rule, options: Mapping[str, Any]) -> None:
        super().__init__(rule, options)
        headers = self.options.get("http_post2_headers")
        if isinstance(headers, Mapping):
            register_credentials({k: v for k, v in headers.items() if isinstance(v, str) and not _templated(v)})
        register_urls(as_list(self.options.get("http_post2_url")))
        self._memory = PartialDeliveries()

    def context(self, match: Match | None, alert: Alert | None = None) -> dict[str, Any]:
        """The match's fields, the whole document under jinja_root_name, and the alert's
        ``status`` (firing/resolved), ``firing_since`` and ``firing_seconds``."""
        links = discover.urls(self.rule, match)
        context: dict[str, Any] = {} if match is None else {**match.details, **links, **match.fields}
        context[self.options.get("jinja_root_name") or "_data"] = {**links, **match.fields} if match is not None else {}
        if alert is not None:
            context.setdefault("status", alert.status)
            context.setdefault("firing_since", iso(alert.since) if alert.since else None)
            context.setdefault("firing_seconds", alert.firing_seconds)
        return context

    def _render(self, option: str, context: Mapping[str, Any]) -> Any:
        """The option's value rendered: data from a mapping, parsed JSON from a string.
        Any failure is the template's (a retry renders the same), so none is retryable."""
        value = self.options.get(option)
        try:
            if not isinstance(value, str):
                return _render_tree(value, context)
            text = _template(value, True).render(context)
        except Exception as exc:  # noqa: BLE001 - sandbox refusals, undefined names, 1/0 in a template…
            raise DeliveryError(mask(f"{option}: template error: {type(exc).__name__}: {exc}"),
                                retryable=False) from None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise DeliveryError(f"{option}: the rendered template is not valid JSON "
                                f"({exc.msg} at line {exc.lineno} column {exc.colno})", retryable=False) from None

    def payload(self, alert: Alert) -> dict[str, Any]:
        o = self.options
        template = o.get("http_post2_payload")
        all_values = o.get("http_post2_all_values")
        if all_values is None:
            all_values = not template
        match = first_match(alert)
        body: dict[str, Any] = dict(match.fields) if all_values and match is not None else {}
        if template:
            rendered = self._render("http_post2_payload", self.context(match, alert))
            if not isinstance(rendered, dict):
                raise DeliveryError(f"http_post2_payload must render to a JSON object, not {_json_type(rendered)}",
                                    retryable=False)
            body.update(rendered)
        for key, path in (o.get("http_post2_raw_fields") or {}).items():
            body[key] = field_value(match, path)
        if o.get("send_resolved"):
            body.update(status_fields(alert))
        return body

    def headers(self, alert: Alert) -> dict[str, str]:
        if not self.options.get("http_post2_headers"):
            return merge_headers({})
        rendered = self._render("http_post2_headers", self.context(first_match(alert), alert))
        if not isinstance(rendered, dict):
            raise DeliveryError(f"http_post2_headers must render to a JSON object, not {_json_type(rendered)}",
                                retryable=False)
        headers: dict[str, str] = {}
        for key, value in rendered.items():
            name = str(key)
            # Values are never quoted here: they may be credentials.
            if not _HEADER_NAME.fullmatch(name):
                raise DeliveryError(f"http_post2_headers: {name!r} is not a valid header name", retryable=False)
            if value is None or isinstance(value, (dict, list)):
                raise DeliveryError(f"http_post2_headers: the value of {name} must be text, not {_json_type(value)}",
                                    retryable=False)
            text = str(value)
            if any(c in text for c in "\r\n\0"):
                raise DeliveryError(f"http_post2_headers: the value of {name} contains a line break "
                                    "(a field of the match?); refusing to send it", retryable=False)
            headers[name] = text
        return merge_headers(headers)

    def send(self, alert: Alert) -> None:
        body = json_body(self.payload(alert))
        headers = self.headers(alert)
        post_to_all("HTTP POST 2", alert, as_list(self.options["http_post2_url"]), body, headers,
                    http.Transport.from_options(self.options, "http_post2"), self._memory)

    def describe(self) -> str:
        n = len(as_list(self.options.get("http_post2_url")))
        return f"post2 ({n} URL{'s' if n != 1 else ''}: <secret>)"


def _render_tree(node: Any, context: Mapping[str, Any]) -> Any:
    """Every string of a YAML mapping/list rendered as a template, keys too; other values kept."""
    if isinstance(node, str):
        return _template(node, False).render(context)
    if isinstance(node, Mapping):
        return {_template(str(k), False).render(context): _render_tree(v, context) for k, v in node.items()}
    if isinstance(node, list):
        return [_render_tree(v, context) for v in node]
    return node


def _templated(text: str) -> bool:
    return "{{" in text or "{%" in text


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(type(value), "a number")
