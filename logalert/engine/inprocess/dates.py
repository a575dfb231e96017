"""Dates as the engine reads them: the formats of date fields
(``strict_date_optional_time||epoch_millis`` and friends), date math (``now-1h/d``,
``2024-01-15||+1M``) with its rounding, and the "round up" reading of upper bounds
(``lte: 2024-01-15`` means the end of that day). Everything is epoch milliseconds.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logalert.engine.inprocess.errors import BadRequest, Unsupported

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
DEFAULT_FORMAT = "strict_date_optional_time||epoch_millis"

_ISO = re.compile(
    r"(?P<y>\d{4})(?:-(?P<M>\d{2})(?:-(?P<d>\d{2})(?:T(?P<H>\d{2})(?::(?P<m>\d{2})(?::(?P<s>\d{2})"
    r"(?:[.,](?P<f>\d{1,9}))?)?)?(?P<z>Z|[+-]\d{2}(?::?\d{2})?)?)?)?)?")
_LOOSE_ISO = re.compile(
    r"(?P<y>[+-]?\d{1,9})(?:-(?P<M>\d{1,2})(?:-(?P<d>\d{1,2})(?:[Tt ](?P<H>\d{1,2})(?::(?P<m>\d{1,2})(?::(?P<s>\d{1,2})"
    r"(?:[.,](?P<f>\d{1,9}))?)?)?(?P<z>[Zz]|[+-]\d{1,2}(?::?\d{2})?)?)?)?)?")
_SLASH = re.compile(r"(?P<y>\d{4})/(?P<M>\d{2})/(?P<d>\d{2})(?: (?P<H>\d{2}):(?P<m>\d{2}):(?P<s>\d{2}))?")
_SLASH_DAY = re.compile(r"(?P<y>\d{4})/(?P<M>\d{2})/(?P<d>\d{2})")
_SLASH_TIME = re.compile(r"(?P<y>\d{4})/(?P<M>\d{2})/(?P<d>\d{2}) (?P<H>\d{2}):(?P<m>\d{2}):(?P<s>\d{2})")
_NUMBER = re.compile(r"[+-]?\d+(?:\.\d+)?")

NAMED: dict[str, re.Pattern[str] | None] = {
    "strict_date_optional_time": _ISO, "date_optional_time": _LOOSE_ISO,
    "strict_date_time": _ISO, "date_time": _LOOSE_ISO, "strict_date": _ISO, "date": _LOOSE_ISO,
    "yyyy/MM/dd HH:mm:ss": _SLASH_TIME, "yyyy/MM/dd": _SLASH_DAY,
    "epoch_millis": None, "epoch_second": None,
}


def to_ms(moment: dt.datetime) -> int:
    return (moment - EPOCH) // dt.timedelta(milliseconds=1)


def from_ms(value: int) -> dt.datetime:
    return EPOCH + dt.timedelta(milliseconds=value)


def format_ms(value: int | float) -> str:
    """``strict_date_optional_time`` output: ``2024-01-15T10:00:00.000Z``."""
    moment = from_ms(int(value))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def zone(name: str | None) -> dt.tzinfo:
    if not name or name in ("Z", "UTC", "utc"):
        return UTC
    match = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})?", name)
    if match:
        minutes = int(match.group(2)) * 60 + int(match.group(3) or 0)
        return dt.timezone((1 if match.group(1) == "+" else -1) * dt.timedelta(minutes=minutes))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadRequest(f"Unknown time-zone ID: {name}", "illegal_argument_exception") from None


def check_format(fmt: str) -> None:
    for part in fmt.split("||"):
        if part.strip() not in NAMED:
            raise Unsupported(f"date format [{part}]")


def _fields(match: re.Match[str], round_up: bool, tz: dt.tzinfo) -> int:
    g = match.groupdict()
    year = int(g["y"])
    # Rounding up fills the missing time of day with its maximum, never the date: the
    # engine reads "lte: 2024-01" as the end of January 1st.
    month = int(g.get("M") or 1)
    day = int(g.get("d") or 1)
    hour = int(g["H"]) if g.get("H") else (23 if round_up else 0)
    minute = int(g["m"]) if g.get("m") else (59 if round_up else 0)
    second = int(g["s"]) if g.get("s") else (59 if round_up else 0)
    frac = g.get("f")
    if frac:
        micro = int((frac + "000000")[:6])
    else:
        micro = 999000 if round_up else 0
    if not (1 <= month <= 12 and 1 <= day <= _month_days(year, month) and hour <= 23 and minute <= 59 and second <= 59):
        raise ValueError("field out of range")
    offset = g.get("z")
    moment_zone = zone("Z" if offset in ("Z", "z") else offset) if offset else tz
    moment = dt.datetime(year, month, day, hour, minute, second, micro // 1000 * 1000, tzinfo=moment_zone)
    return to_ms(moment)


def _month_days(year: int, month: int) -> int:
    if month == 12:
        return 31
    if not 1 <= month <= 12:
        return 31
    return (dt.date(year, month + 1, 1) - dt.date(year, month, 1)).days


def parse(text: Any, fmt: str | None = None, *, round_up: bool = False, tz: dt.tzinfo = UTC) -> int:
    """A date in one of ``fmt``'s formats (``||``-separated) as epoch milliseconds;
    ValueError when none reads it."""
    fmt = fmt or DEFAULT_FORMAT
    if isinstance(text, bool):
        raise ValueError("not a date")
    for part in fmt.split("||"):
        part = part.strip()
        if part not in NAMED:
            raise Unsupported(f"date format [{part}]")
        if part in ("epoch_millis", "epoch_second"):
            if isinstance(text, (int, float)):
                number = float(text)
            elif isinstance(text, str) and _NUMBER.fullmatch(text.strip()):
                number = float(text)
            else:
                continue
            return int(number * (1000 if part == "epoch_second" else 1))
        if not isinstance(text, str):
            continue
        match = NAMED[part].fullmatch(text)  # type: ignore[union-attr]
        if match is None:
            continue
        try:
            return _fields(match, round_up, tz)
        except (ValueError, OverflowError):
            continue
    raise ValueError(f"failed to parse date field [{text}] with format [{fmt}]")


def detect(text: str) -> str | None:
    """The format dynamic mapping gives a string that looks like a date, else None."""
    if _ISO.fullmatch(text) and "-" in text:
        try:
            parse(text, "strict_date_optional_time")
            return "strict_date_optional_time"
        except ValueError:
            return None
    if _SLASH.fullmatch(text):
        try:
            parse(text, "yyyy/MM/dd HH:mm:ss||yyyy/MM/dd")
            return "yyyy/MM/dd HH:mm:ss||yyyy/MM/dd||epoch_millis"
        except ValueError:
            return None
    return None


# --- date math -----------------------------------------------------------------------
_UNITS = {"y": "years", "M": "months", "w": "weeks", "d": "days", "h": "hours", "H": "hours", "m": "minutes",
          "s": "seconds"}


def _add(moment: dt.datetime, amount: int, unit: str) -> dt.datetime:
    if unit in ("y", "M"):
        months = moment.month - 1 + amount * (12 if unit == "y" else 1)
        year, month = moment.year + months // 12, months % 12 + 1
        return moment.replace(year=year, month=month, day=min(moment.day, _month_days(year, month)))
    return moment + dt.timedelta(**{_UNITS[unit]: amount})


def _round(moment: dt.datetime, unit: str, up: bool) -> dt.datetime:
    if unit == "y":
        start = moment.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "M":
        start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    elif unit == "w":
        start = (moment - dt.timedelta(days=moment.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit == "d":
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    elif unit in ("h", "H"):
        start = moment.replace(minute=0, second=0, microsecond=0)
    elif unit == "m":
        start = moment.replace(second=0, microsecond=0)
    else:
        start = moment.replace(microsecond=0)
    if not up:
        return start
    return _add(start, 1, unit) - dt.timedelta(milliseconds=1)


_MATH = re.compile(r"([+-])(\d*)([yMwdhHms])|/([yMwdhHms])")


def math(text: str, now_ms: int, fmt: str | None = None, *, round_up: bool = False,
         tz: dt.tzinfo = UTC) -> int:
    """A date-math expression (``now-1h/d``, ``2024-01-15||+1d``, or a plain date)."""
    if not isinstance(text, str):
        return parse(text, fmt, round_up=round_up, tz=tz)
    if text.startswith("now"):
        base, expression = now_ms, text[3:]
    elif "||" in text and not (fmt and "||" in fmt and text in fmt):
        date_part, _, expression = text.partition("||")
        base = parse(date_part, fmt, round_up=round_up, tz=tz)
        if not expression:
            return base
    else:
        return parse(text, fmt, round_up=round_up, tz=tz)
    if not expression:
        return base
    moment = from_ms(base).astimezone(tz) if not isinstance(tz, dt.timezone) or tz != UTC else from_ms(base)
    pos = 0
    while pos < len(expression):
        step = _MATH.match(expression, pos)
        if step is None:
            raise ValueError(f"operator not supported for date math [{expression}]")
        if step.group(4):
            moment = _round(moment, step.group(4), round_up)
        else:
            amount = int(step.group(2) or 1)
            moment = _add(moment, amount if step.group(1) == "+" else -amount, step.group(3))
        pos = step.end()
    return to_ms(moment)


def bounds(low: Any, high: Any, include_low: bool, include_high: bool, now_ms: int, fmt: str | None,
           tz: dt.tzinfo) -> tuple[int | None, int | None]:
    """Inclusive [low, high] in ms for a range on a date field, as the engine rounds:
    ``gt``/``lte`` read their bound rounded up, ``gte``/``lt`` rounded down."""
    lo = hi = None
    if low is not None:
        lo = math(low, now_ms, fmt, round_up=not include_low, tz=tz) + (0 if include_low else 1)
    if high is not None:
        hi = math(high, now_ms, fmt, round_up=include_high, tz=tz) - (0 if include_high else 1)
    return lo, hi
