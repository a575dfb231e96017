"""The immutable Rule every later stage reads; nothing mutates it during runs."""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

from logalert import cronspec, tsexpr
from logalert.options import CONNECTION_OPTIONS
from logalert.timeutil import format_doc_time, parse_doc_time, to_timedelta


@dataclass(frozen=True, repr=False)
class AlertTarget:
    """One entry of ``alert:``: a notifier name and the options it sees."""

    name: str
    options: Mapping[str, Any]

    def __repr__(self) -> str:  # options hold secrets: never print them
        return f"AlertTarget({self.name!r})"


@dataclass(frozen=True, repr=False)
class Rule:
    name: str
    file: str
    type: str
    index: str
    filters: tuple[Mapping[str, Any], ...]
    alerts: tuple[AlertTarget, ...]
    options: Mapping[str, Any]  # every option after import:, config.yaml and registry defaults; read-only
    positions: Mapping[str, tuple[str, int]] = field(default_factory=lambda: MappingProxyType({}))  # option -> (file, line)

    def where(self, option: str) -> str:
        """``FILE:LINE`` of an option, for run-time errors that point back at the rule."""
        file, line = self.positions.get(option, (self.file, 0))
        return f"{file}:{line}" if line else file

    def __repr__(self) -> str:  # options hold secrets: never print them
        return f"Rule({self.name!r}, type={self.type!r}, file={self.file!r})"

    def get(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    def span(self, key: str, default: dt.timedelta | None = None) -> dt.timedelta | None:
        value = self.options.get(key)
        return to_timedelta(value) if value is not None else default

    @property
    def timestamp_field(self) -> str:
        return self.options["timestamp_field"]

    @property
    def timestamp_type(self) -> str:
        return self.options["timestamp_type"]

    @property
    def timestamp_format(self) -> str | None:
        return self.options.get("timestamp_format")

    @property
    def query_zone(self) -> dt.tzinfo | None:
        """query_timezone: the zone query ranges are written in (None: UTC)."""
        name = self.options.get("query_timezone")
        return cronspec.zone(name) if name else None

    @functools.cached_property
    def _time_reading(self) -> tuple[str, str | None, dt.tzinfo | None]:
        # Read once: doc_time runs for every document every rule receives.
        return self.timestamp_type, self.timestamp_format, self.query_zone

    def doc_time(self, value: Any) -> dt.datetime | None:
        """A document's timestamp value as an aware UTC datetime (None: unreadable)."""
        return parse_doc_time(value, *self._time_reading)

    def query_time(self, moment: dt.datetime) -> Any:
        """``moment`` as the engine expects it in a range on the timestamp field: the
        timestamp_type, query_timezone and (custom only) timestamp_format_expr."""
        expr = self.options.get("timestamp_format_expr")
        adjust = None
        if expr and self.timestamp_type == "custom":
            code = tsexpr.compile_expr(expr)  # checked at load; cached by its text
            adjust = lambda ts, moment: tsexpr.apply(code, ts, moment)  # noqa: E731
        return format_doc_time(moment, self.timestamp_type, self.timestamp_format, self.query_zone, adjust)

    @property
    def realert_key(self) -> str:
        """The name realert silences are kept under: realert_key, default the rule's name.
        Rules sharing a realert_key silence each other (per query_key value)."""
        return self.options.get("realert_key") or self.name

    @property
    def limit_execution(self) -> "cronspec.Cron | None":
        """limit_execution: the cron outside of which the rule does not run (None: always)."""
        expr = self.options.get("limit_execution")
        return _cron(expr, self.options.get("limit_execution_timezone")) if expr else None

    @property
    def run_every(self) -> dt.timedelta:
        return to_timedelta(self.options["run_every"])

    @property
    def buffer_time(self) -> dt.timedelta:
        return to_timedelta(self.options["buffer_time"])

    @property
    def query_delay(self) -> dt.timedelta:
        return to_timedelta(self.options["query_delay"])

    @property
    def resolve_after(self) -> dt.timedelta:
        """How long without a new match before a firing alert resolves (send_resolved)."""
        return self.span("resolve_after") or self.span("timeframe") or 2 * self.run_every

    @property
    def max_query_size(self) -> int:
        return int(self.options["max_query_size"])

    @property
    def query_key(self) -> tuple[str, ...]:
        key = self.options.get("query_key")
        if not key:
            return ()
        return (key,) if isinstance(key, str) else tuple(key)

    @property
    def connection(self) -> tuple[Any, ...]:
        """Identity of the engine this rule talks to; rules sharing it share a client
        (hashable: a list such as es_hosts becomes a tuple)."""
        return tuple(tuple(v) if isinstance(v, list) else v for v in (self.options.get(k) for k in CONNECTION_OPTIONS))


@functools.lru_cache(maxsize=1024)
def _cron(expr: str, zone_name: str | None) -> cronspec.Cron:
    return cronspec.Cron.parse(expr, zone_name)
