"""Time spans and timestamps in the forms ElastAlert rule files use.

Spans are ``{minutes: 5}``-style mappings; document timestamps can be ISO 8601
(with or without offset), unix seconds, unix milliseconds or a strftime format.
Everything inside logalert is an aware UTC datetime.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Callable, Mapping

UTC = dt.timezone.utc
SPAN_UNITS = ("weeks", "days", "hours", "minutes", "seconds", "milliseconds")


def to_timedelta(span: Mapping[str, Any] | dt.timedelta) -> dt.timedelta:
    """Turn a validated span mapping into a timedelta."""
    if isinstance(span, dt.timedelta):
        return span
    return dt.timedelta(**{unit: float(span[unit]) for unit in span})


def now() -> dt.datetime:
    return dt.datetime.now(UTC)


def ensure_utc(value: dt.datetime) -> dt.datetime:
    """Naive datetimes are taken as UTC, as ElastAlert does."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


_ISO_Z = re.compile(r"Z$")


def parse_iso(text: str) -> dt.datetime:
    """ISO 8601 incl. ``Z``, offsets and fractional seconds of any length."""
    try:  # Python 3.11+ reads the common forms directly (this runs once per document)
        return ensure_utc(dt.datetime.fromisoformat(text))
    except ValueError:
        pass
    text = text.strip()
    text = _ISO_Z.sub("+00:00", text)
    # Python before 3.11 accepts only 3 or 6 fraction digits; normalise to 6.
    text = re.sub(r"\.(\d+)", lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += "T00:00:00"
    return ensure_utc(dt.datetime.fromisoformat(text))


_SHORT_SPAN = re.compile(r"^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$")
SHORT_UNITS = {"ms": "milliseconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def short_span(text: str) -> dict[str, float] | None:
    """``30s``, ``5m``, ``2h``, ``1d``, ``1w`` (environment values, CLI durations) as a span
    mapping such as ``{minutes: 5.0}``; None when ``text`` is not one, so the caller can
    say which option it was."""
    match = _SHORT_SPAN.match(text.strip())
    if not match:
        return None
    return {SHORT_UNITS[match.group(2)]: float(match.group(1))}


def parse_short_span(text: str) -> dt.timedelta | None:
    span = short_span(text)
    return to_timedelta(span) if span is not None else None


def parse_cli_time(text: str) -> dt.datetime:
    """CLI ``--start/--end``: ISO 8601, or ``now``, or ``now-2h``-style offsets."""
    match = re.fullmatch(r"now(?:-(\d+)([smhdw]))?", text.strip())
    if match:
        if not match.group(1):
            return now()
        return now() - dt.timedelta(**{SHORT_UNITS[match.group(2)]: int(match.group(1))})
    return parse_iso(text)


def parse_doc_time(value: Any, ts_type: str = "iso", ts_format: str | None = None,
                   tz: dt.tzinfo | None = None) -> dt.datetime | None:
    """A document's timestamp in the rule's ``timestamp_type``; None when unreadable.
    ``tz`` (query_timezone): the zone of custom-format timestamps that carry none, the
    zone their query range is written in."""
    if value is None:
        return None
    try:
        if ts_type == "unix":
            return dt.datetime.fromtimestamp(float(value), UTC)
        if ts_type == "unix_ms":
            return dt.datetime.fromtimestamp(float(value) / 1000.0, UTC)
        if ts_type == "custom" and ts_format:
            moment = dt.datetime.strptime(str(value), ts_format)
            if moment.tzinfo is None and tz is not None:
                moment = moment.replace(tzinfo=tz)
            return ensure_utc(moment)
        if isinstance(value, (int, float)):
            # A date field mapped by the engine may come back as epoch millis.
            return dt.datetime.fromtimestamp(float(value) / 1000.0, UTC)
        return parse_iso(str(value))
    except (ValueError, OverflowError, OSError):
        return None


def format_doc_time(value: dt.datetime, ts_type: str = "iso", ts_format: str | None = None,
                    tz: dt.tzinfo | None = None, adjust: Callable[[str, dt.datetime], str] | None = None) -> Any:
    """The form the engine expects in a range query on the rule's timestamp field.
    ``tz`` (query_timezone): ISO and custom timestamps are written in that zone (ISO with
    its offset, the same instant; custom as that zone's wall time). ``adjust``
    (timestamp_format_expr, custom only): rewrites the formatted text."""
    value = ensure_utc(value)
    if ts_type == "unix":
        return int(value.timestamp())
    if ts_type == "unix_ms":
        return int(value.timestamp() * 1000)
    local = value.astimezone(tz) if tz is not None else value
    if ts_type == "custom" and ts_format:
        text = local.strftime(ts_format)
        return adjust(text, local) if adjust is not None else text
    return iso_in(local) if tz is not None else iso(value)


def iso(value: dt.datetime) -> str:
    """Millisecond ISO 8601 in UTC with a ``Z``: what both engines parse as a date."""
    value = ensure_utc(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def iso_in(value: dt.datetime) -> str:
    """Millisecond ISO 8601 with the value's own offset (``+03:00``), for query_timezone."""
    offset = value.strftime("%z") or "+0000"
    return (value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}"
            + offset[:3] + ":" + offset[3:5])


def pretty_span(delta: dt.timedelta) -> str:
    """``0:05:00`` is unfriendly in alert text; say ``5 minutes``."""
    seconds = int(delta.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            n = seconds // size
            return f"{n} {unit}{'s' if n != 1 else ''}"
    return f"{seconds} second{'s' if seconds != 1 else ''}"
