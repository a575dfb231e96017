"""Cron expressions of rule options (``limit_execution``), read once and asked one question:
did the expression fire in a span of time?

A daemon tick does not land on every minute (run_every 5 minutes started at 10:02 ticks
at 10:07, 10:12 …), so "does the cron match now" would let ``0 * * * *`` never run; the
question is instead "did it fire since the previous tick". ElastAlert2 reads the
expression in UTC (croniter without a zone); ``zone`` names another one.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

EPSILON = dt.timedelta(microseconds=1)


def zone(name: str | None) -> dt.tzinfo:
    """An IANA zone such as ``Europe/Istanbul`` (or UTC for empty); ValueError says why not."""
    if not name or name.upper() in ("UTC", "Z", "GMT"):
        return dt.timezone.utc
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(f"unknown time zone {name!r} (an IANA name such as Europe/Istanbul or UTC)") from None


DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def crontab_weekdays(field: str) -> str:
    """Crontab's day-of-week numbers (0 and 7 Sunday, 1 Monday) as day names: APScheduler 3
    numbers from Monday = 0, so ``1-5`` would mean Tuesday to Saturday there. Names
    (``mon-fri``) mean the same in both and pass as they are."""
    if field == "*" or not any(c.isdigit() for c in field):
        return field
    days: set[int] = set()
    for item in field.split(","):
        part, _, step_text = item.partition("/")
        step = int(step_text) if step_text.isdigit() and int(step_text) > 0 else None
        if step_text and step is None:
            raise ValueError(f"bad step in day of week {item!r}")
        if part == "*":
            low, high = 0, 6
        elif "-" in part:
            a, _, b = part.partition("-")
            low, high = _day(a), _day(b, upper=True)
        else:
            low = high = _day(part)
            if step is not None:
                high = 6
        if low > high:
            raise ValueError(f"day-of-week range {part!r} runs backwards")
        days.update(d % 7 for d in range(low, high + 1, step or 1))
    return ",".join(DAY_NAMES[d] for d in sorted(days))


def _day(text: str, upper: bool = False) -> int:
    if text.isdigit() and int(text) <= 7:
        return int(text) if upper or int(text) < 7 else 0
    if text.lower() in DAY_NAMES:
        return DAY_NAMES.index(text.lower())
    raise ValueError(f"day of week {text!r} is not 0-7 or a day name")


@dataclass(frozen=True)
class Cron:
    """A five-field crontab expression in a zone."""

    expression: str
    trigger: Any  # apscheduler CronTrigger

    @classmethod
    def parse(cls, expression: str, zone_name: str | None = None) -> "Cron":
        from apscheduler.triggers.cron import CronTrigger  # the daemon's scheduler brings it

        tz = zone(zone_name)
        fields = expression.split()
        if len(fields) != 5:
            raise ValueError(f"{expression!r} is not a cron expression: it needs 5 fields "
                             "(minute hour day-of-month month day-of-week), e.g. '* 10-18 * * 1-5'")
        try:
            minute, hour, day, month, weekday = fields
            trigger = CronTrigger(minute=minute, hour=hour, day=day, month=month,
                                  day_of_week=crontab_weekdays(weekday), timezone=tz)
        except ValueError as exc:
            raise ValueError(f"{expression!r} is not a valid cron expression: {exc}") from None
        return cls(expression, trigger)

    def next_fire(self, after: dt.datetime) -> dt.datetime | None:
        """The first time at or after ``after`` the expression fires (UTC)."""
        fire = self.trigger.get_next_fire_time(None, after)
        return fire.astimezone(dt.timezone.utc) if fire is not None else None

    def fired(self, after: dt.datetime, until: dt.datetime) -> bool:
        """Whether it fires in ``(after, until]``."""
        fire = self.next_fire(after + EPSILON)
        return fire is not None and fire <= until
