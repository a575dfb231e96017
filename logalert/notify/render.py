"""Alert subject and body from a rule and its matches.

Formats follow ElastAlert: ``alert_subject``/``alert_text`` with ``*_args`` filled
positionally via ``str.format``, ``alert_text_type`` choosing what follows the text,
and ``alert_text_jinja`` rendered in a sandbox (rule authors are not trusted with
Python attribute access).

What a template can name, in this order: a field of the match (dotted paths), a number
the rule type added (``count``, ``start``…), a value logalert computed for the match
(``kibana_discover_url``/``opensearch_discover_url``), a rule option (``name``,
``owner``, ``priority``, ``description``, ``category``…), else ``alert_missing_value``.

Timestamps logalert writes into alert text are ISO 8601 UTC, unless the rule sets
``use_local_time: true`` (the process's local zone, ISO 8601 with its offset) or
``custom_pretty_ts_format`` (a strftime format). ElastAlert2 defaults use_local_time to
true; logalert defaults it to false, so an alert reads the same on every replica and
host, and the text of alerts already waiting in the outbox does not change.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from jinja2.sandbox import SandboxedEnvironment

import re

from logalert.fields import flatten, lookup
from logalert.model import Match
from logalert.notify import discover
from logalert.rules.model import Rule
from logalert.secrets import is_secret
from logalert.timeutil import iso

_jinja = SandboxedEnvironment(autoescape=False, keep_trailing_newline=True)


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str


def computed(rule: Rule, match: Match | None) -> dict[str, Any]:
    """Values logalert adds to a match for alert text (ElastAlert2 adds them to the match
    document): the Discover links the rule asks for."""
    return discover.urls(rule, match)


def arg_values(rule: Rule, match: Match | None, names: Sequence[str],
               extra: Mapping[str, Any] | None = None) -> list[Any]:
    """Values for ``*_args`` as ElastAlert reads them: the match's field (or detail, or a
    computed value), else a rule option of that name, else ``alert_missing_value``.
    Without a match (an alert re-sent from the outbox) every value comes from the rule or
    is missing. ``extra``: the computed values, when the caller has them already."""
    missing = rule.get("alert_missing_value")
    if extra is None:
        extra = computed(rule, match)
    values = []
    for name in names:
        value = None
        if match is not None:
            value = lookup(match.fields, name)
            if value is None:
                value = match.details.get(name)
        if value is None:
            value = extra.get(name)
        if value is None:
            value = rule.get(name)
        values.append(missing if value is None else value)
    return values


def _local_zone() -> dt.tzinfo:
    zone = dt.datetime.now().astimezone().tzinfo
    return zone if zone is not None else dt.timezone.utc


def pretty_ts(rule: Rule, moment: dt.datetime) -> str:
    """A timestamp for alert text: ``custom_pretty_ts_format`` (strftime) if set, in the
    local zone with ``use_local_time``, else UTC; without a format, ISO 8601."""
    fmt = rule.get("custom_pretty_ts_format")
    if not rule.get("use_local_time"):
        return moment.astimezone(dt.timezone.utc).strftime(fmt) if fmt else iso(moment)
    local = moment.astimezone(_local_zone())
    if fmt:
        return local.strftime(fmt)
    return local.isoformat(timespec="milliseconds")


# What timeutil.iso writes: the only timestamp shape logalert's own texts contain.
_ISO_TEXT = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z\b")


def localise(rule: Rule, text: str) -> str:
    """The timestamps logalert wrote into ``text`` (a rule type's description) shown as
    ``use_local_time``/``custom_pretty_ts_format`` ask; unchanged when neither is set."""
    if not text or not (rule.get("use_local_time") or rule.get("custom_pretty_ts_format")):
        return text
    return _ISO_TEXT.sub(lambda m: pretty_ts(rule, dt.datetime.fromisoformat(m.group(0).replace("Z", "+00:00"))),
                         text)


def _format(template: str, args: Sequence[Any], kwargs: Mapping[str, Any] | None = None) -> str:
    try:
        return template.format(*args, **(kwargs or {}))
    except (IndexError, KeyError, ValueError, TypeError, AttributeError) as exc:
        # A broken template must still deliver the alert; show the raw text and why.
        return f"{template} [template error: {exc}]"


def _jinja_subject(rule: Rule, template: str) -> bool:
    """ElastAlert2 documents alert_subject as a Jinja template under alert_text_jinja; a
    subject without Jinja markup (or with args) stays a str.format template."""
    return (rule.get("alert_text_type") == "alert_text_jinja" and not rule.get("alert_subject_args")
            and ("{{" in template or "{%" in template))


def subject(rule: Rule, match: Match) -> str:
    template = rule.get("alert_subject")
    if template is None:
        text = f"logalert: {rule.name}"
        if rule.query_key and any(v is not None for v in match.key):
            text += " - " + ", ".join(str(v) for v in match.key)
    elif _jinja_subject(rule, template):
        text = _jinja_render(template, jinja_context(rule, match)).replace("\n", " ")
    else:
        text = _format(template, arg_values(rule, match, rule.get("alert_subject_args") or []))
    limit = rule.get("alert_subject_max_len")
    if limit and len(text) > limit:
        text = text[: limit - 3] + "..." if limit > 3 else text[:limit]
    return text


def rule_values(rule: Rule) -> dict[str, Any]:
    """The rule's options a template may read (owner, priority, description, name…);
    secrets (webhook URLs, passwords) are left out."""
    return {k: v for k, v in rule.options.items() if not is_secret(k)}


def jinja_context(rule: Rule, match: Match | None, extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Variables of an ``alert_text_jinja`` template, as ElastAlert2 gives them: the rule's
    options overlaid by the match (its numbers, computed values, then its fields), the
    same again under ``jinja_root_name`` (``_data``) for field names with dots, and the
    rule's scalar options under ``rule``."""
    if extra is None:
        extra = computed(rule, match)
    options = rule_values(rule)
    context: dict[str, Any] = dict(options)
    if match is not None:
        context.update(match.details)
    context.update(extra)
    if match is not None:
        context.update(match.fields)
    context[rule.get("jinja_root_name") or "_data"] = {**extra, **(match.fields if match is not None else {})}
    context["rule"] = {k: v for k, v in options.items() if isinstance(v, (str, int, float, bool))}
    return context


def _jinja_render(template: str, context: Mapping[str, Any]) -> str:
    try:
        return _jinja.from_string(template).render(context)
    except Exception as exc:  # noqa: BLE001 - any template failure must not lose the alert
        return f"{template} [template error: {exc}]"


def _custom_text(rule: Rule, match: Match, extra: Mapping[str, Any]) -> str:
    template = rule.get("alert_text")
    if template is None:
        return ""
    if rule.get("alert_text_type") == "alert_text_jinja":
        return _jinja_render(template, jinja_context(rule, match, extra))
    kw_names = rule.get("alert_text_kw") or {}
    kwargs = dict(zip(kw_names.values(), arg_values(rule, match, list(kw_names.keys()), extra)))
    return _format(template, arg_values(rule, match, rule.get("alert_text_args") or [], extra), kwargs)


def _fields_text(match: Match, extra: Mapping[str, Any]) -> str:
    lines = []
    shown = dict(flatten(match.fields))
    shown.update((k, v) for k, v in extra.items() if k not in shown)
    for key, value in sorted(shown.items()):
        if isinstance(value, (list, dict)):
            value = json.dumps(value, default=str)
        lines.append(f"{key}: {value}")
    return "\n".join(lines)


def body(rule: Rule, match: Match, describe: str = "") -> str:
    text_type = rule.get("alert_text_type")
    extra = computed(rule, match)
    custom = _custom_text(rule, match, extra)
    if text_type in ("alert_text_only", "alert_text_jinja"):
        return custom
    parts = []
    parts.append(custom if rule.get("alert_text") is not None else rule.name)
    if describe:
        parts.append(localise(rule, describe))
    if text_type != "exclude_fields":
        parts.append(_fields_text(match, extra))
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
             f"firing since {pretty_ts(rule, since)}, last match {pretty_ts(rule, last)}, "
             f"no new match until {pretty_ts(rule, end)}",
             f"firing for {duration_text(last - since)}"]
    return Rendered(RESOLVED_PREFIX + text, "\n".join(lines) + "\n")


def summary(rule: Rule, table: str) -> str:
    """An aggregation's summary table between ``summary_prefix`` and ``summary_suffix``
    (taken as written, as in ElastAlert2); nothing without a table."""
    if not table:
        return ""
    prefix, suffix = rule.get("summary_prefix"), rule.get("summary_suffix")
    return (prefix.rstrip("\n") + "\n" if prefix else "") + table + ("\n" + suffix.rstrip("\n") if suffix else "")


def match_summary(match: Match) -> dict[str, Any]:
    """A compact JSON-able view of a match for test-rule output and webhook payloads."""
    return {"@timestamp": iso(match.timestamp), "index": match.index, "id": match.doc_id,
            "key": list(match.key) or None, "fields": dict(match.fields)}
