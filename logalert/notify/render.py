"""Alert subject and body from a rule and its matches.

Formats follow ElastAlert: ``alert_subject``/``alert_text`` with ``*_args`` filled
positionally via ``str.format``, ``alert_text_type`` choosing what follows the text,
and ``alert_text_jinja`` rendered in a sandbox (rule authors are not trusted with
Python attribute access).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from jinja2.sandbox import SandboxedEnvironment

from logalert.fields import flatten, lookup
from logalert.model import Match
from logalert.rules.model import Rule
from logalert.timeutil import iso

_jinja = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def arg_values(rule: Rule, match: Match | None, names: Sequence[str]) -> list[Any]:
    """Values for ``*_args`` as ElastAlert reads them: the match's field (or detail), else
    a rule option of that name, else ``alert_missing_value``. Without a match (an alert
    re-sent from the outbox) every value comes from the rule or is missing."""
    missing = rule.get("alert_missing_value")
    values = []
    for name in names:
        value = None
        if match is not None:
            value = lookup(match.fields, name)
            if value is None:
                value = match.details.get(name)
        if value is None:
            value = rule.get(name)
        values.append(missing if value is None else value)
    return values


def _format(template: str, args: Sequence[Any], kwargs: Mapping[str, Any] | None = None) -> str:
    try:
        return template.format(*args, **(kwargs or {}))
    except (IndexError, KeyError, ValueError, TypeError, AttributeError) as exc:
        # A broken template must still deliver the alert; show the raw text and why.
        return f"{template} [template error: {exc}]"


def subject(rule: Rule, match: Match) -> str:
    template = rule.get("alert_subject")
    if template is None:
        text = f"logalert: {rule.name}"
        if rule.query_key and any(v is not None for v in match.key):
            text += " - " + ", ".join(str(v) for v in match.key)
    else:
        text = _format(template, arg_values(rule, match, rule.get("alert_subject_args") or []))
    limit = rule.get("alert_subject_max_len")
    if limit and len(text) > limit:
        text = text[: limit - 3] + "..." if limit > 3 else text[:limit]
    return text


def _custom_text(rule: Rule, match: Match) -> str:
    template = rule.get("alert_text")
    if template is None:
        return ""
    if rule.get("alert_text_type") == "alert_text_jinja":
        context = dict(match.fields)
        context["_data"] = match.fields
        context["rule"] = {k: v for k, v in rule.options.items() if isinstance(v, (str, int, float, bool))}
        try:
            return _jinja.from_string(template).render(context)
        except Exception as exc:  # noqa: BLE001 - any template failure must not lose the alert
            return f"{template} [template error: {exc}]"
    kw_names = rule.get("alert_text_kw") or {}
    kwargs = dict(zip(kw_names.values(), arg_values(rule, match, list(kw_names.keys()))))
    return _format(template, arg_values(rule, match, rule.get("alert_text_args") or []), kwargs)


def _fields_text(match: Match) -> str:
    lines = []
    for key, value in sorted(flatten(match.fields)):
        if isinstance(value, (list, dict)):
            value = json.dumps(value, default=str)
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


def body(rule: Rule, match: Match, describe: str = "") -> str:
    text_type = rule.get("alert_text_type")
    custom = _custom_text(rule, match)
    if text_type in ("alert_text_only", "alert_text_jinja"):
        return custom
    parts = []
    parts.append(custom if rule.get("alert_text") is not None else rule.name)
    if describe:
        parts.append(describe)
    if text_type != "exclude_fields":
        parts.append(_fields_text(match))
    return "\n\n".join(p.rstrip("\n") for p in parts if p) + "\n"


def render(rule: Rule, matches: Sequence[Match], describe: str = "") -> Rendered:
    """One alert for one or more matches (several when aggregated): subject from the
    first match, bodies joined by a separator line."""
    first = matches[0]
    bodies = [body(rule, m, describe) for m in matches]
    return Rendered(subject(rule, first), "\n----------------------------------------\n".join(bodies))


RESOLVED_PREFIX = "[RESOLVED] "


def duration_text(span: dt.timedelta) -> str:
    """``1h 5m``, ``12m 30s``, ``45s``: how long an alert fired, for people."""
    seconds = max(0, int(span.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] * bool(days) + [f"{hours}h"] * bool(hours) + [f"{minutes}m"] * bool(minutes)
    if secs or not parts:
        parts.append(f"{secs}s")
    return " ".join(parts[:2])


def resolved(rule: Rule, match: Match, since: dt.datetime, last: dt.datetime, end: dt.datetime) -> Rendered:
    """The notification that an alert cleared: the trigger's subject behind ``[RESOLVED]``
    (so chat and mail threads pair up), and since when, until when, for how long."""
    text = subject(rule, match)
    key = ", ".join(str(v) for v in match.key if v is not None)
    lines = [f"{rule.name}: resolved" + (f" for {key}" if key else ""),
             f"firing since {iso(since)}, last match {iso(last)}, no new match until {iso(end)}",
             f"firing for {duration_text(last - since)}"]
    return Rendered(RESOLVED_PREFIX + text, "\n".join(lines) + "\n")


def match_summary(match: Match) -> dict[str, Any]:
    """A compact JSON-able view of a match for test-rule output and webhook payloads."""
    return {"@timestamp": iso(match.timestamp), "index": match.index, "id": match.doc_id,
            "key": list(match.key) or None, "fields": dict(match.fields)}
