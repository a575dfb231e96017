"""Load-time checks of option values a schema cannot read: cron expressions, time zone
names (limit_execution, aggregation schedules), timestamp_format_expr, and what search_extra_index needs. A value that would
only fail in the first run (hours later, in the daemon's log) fails the load instead,
with the file:line of the option."""

from __future__ import annotations

from typing import Any, Callable

from logalert import cronspec, tsexpr
from logalert.errors import Problem


def check(rule: Any, at: Callable[[str], tuple[str, int | None]]) -> list[Problem]:
    """``rule``: the merged options (a LineMap); ``at(option)``: its file and line."""
    out: list[Problem] = []

    def bad(option: str, message: str, fatal: bool = True) -> None:
        out.append(Problem(*at(option), option, message, fatal=fatal))

    for option in ("query_timezone", "limit_execution_timezone"):
        value = rule.get(option)
        if isinstance(value, str) and value:
            try:
                cronspec.zone(value)
            except ValueError as exc:
                bad(option, str(exc))
    cron = rule.get("limit_execution")
    if isinstance(cron, str) and cron:
        zone = rule.get("limit_execution_timezone")
        try:
            cronspec.Cron.parse(cron, zone if isinstance(zone, str) else None)
        except ValueError as exc:
            if "time zone" not in str(exc):  # said once, at limit_execution_timezone
                bad("limit_execution", str(exc))
    aggregation = rule.get("aggregation")
    if isinstance(aggregation, dict) and isinstance(aggregation.get("schedule"), str):
        try:
            cronspec.Cron.parse(aggregation["schedule"])
        except ValueError as exc:
            bad("aggregation", str(exc))
    expr = rule.get("timestamp_format_expr")
    if isinstance(expr, str) and expr:
        try:
            tsexpr.compile_expr(expr)
        except ValueError as exc:
            bad("timestamp_format_expr", f"refused: {exc}")
        else:
            if rule.get("timestamp_type") != "custom":
                bad("timestamp_format_expr", "only used with timestamp_type: custom; ignored", fatal=False)
    if rule.get("search_extra_index"):
        index = rule.get("index")
        if not rule.get("use_strftime_index"):
            bad("search_extra_index", "only used with use_strftime_index: true; ignored", fatal=False)
        elif isinstance(index, str) and "%" not in index:
            bad("search_extra_index", f"needs a %-pattern in index (such as logs-%Y.%m.%d); {index!r} "
                                      "is one static index, there is no index before it")
    return out
