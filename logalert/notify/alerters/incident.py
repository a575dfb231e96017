"""What the notifiers that open incidents (PagerDuty, Opsgenie) share: ElastAlert's
``*_args`` templates and a stable per-rule-and-key identity mean the same thing for
both services, so they are computed in one place."""

from __future__ import annotations

import hashlib
import string
from typing import Any, Sequence

from logalert.model import Alert
from logalert.notify import render


def format_args(template: str, names: Sequence[str] | None, alert: Alert) -> str:
    """``template.format(*values of names)``; without names the template is literal (as
    in ElastAlert). A template that does not fit its args is sent as written: an odd
    key beats a lost page."""
    if not names:
        return template
    try:
        return template.format(*render.arg_values(alert.rule, alert.matches[0] if alert.matches else None, names))
    except (IndexError, KeyError, ValueError, TypeError, AttributeError):
        return template


def alert_key(alert: Alert, limit: int) -> str:
    """``logalert/<rule>[/<query_key value>…]``: the same for every alert of one rule and
    key, so the service deduplicates them (and can close that one later). Too long a key
    keeps its start and ends in a digest of the whole, so it stays unique and stable."""
    parts = ["logalert", alert.rule.name]
    if alert.matches:
        parts += ["" if value is None else str(value) for value in alert.matches[0].key]
    key = "/".join(parts)
    if len(key) > limit:
        digest = hashlib.sha1(key.encode()).hexdigest()
        key = key[: limit - len(digest) - 1] + "/" + digest
    return key


def template_error(template: Any) -> str | None:
    """Why ``str.format`` cannot parse ``template`` (unbalanced braces…), else None."""
    if not isinstance(template, str):
        return None
    try:
        list(string.Formatter().parse(template))
    except ValueError as exc:
        return f"not a valid format string: {exc}"
    return None


def base_url(value: str, scheme: str = "https") -> str:
    """A configured address without trailing slash, with ``scheme`` when it has none."""
    value = value.strip().rstrip("/")
    return value if "://" in value else f"{scheme}://{value}"
