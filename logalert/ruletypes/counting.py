"""What frequency, flatline and spike share: how many events (or the sum of a field)
each query_key value had in windows of ``timeframe``, tested at checkpoints.

The counts come from one of two places:

- the engine: one size-0 search per run, a histogram whose buckets are one *step*
  wide (a divisor of timeframe, so every window of one timeframe is a whole number of
  buckets) under a terms aggregation per query_key field, plus the newest document of
  each value. Documents never leave the engine.
- the documents (hits): each new document is remembered until it is older than any
  window still to be tested.

Checkpoints are the points of the step grid inside the window. A fresh instance (first
run after a start or a reload) also reads what came before its window, so memory such
as "this burst already fired" or "this key exists" is rebuilt from the engine instead
of being lost; checkpoints before the window are replayed without alerting.
"""

from __future__ import annotations

import bisect
import datetime as dt
from typing import Any, ClassVar, Mapping, Sequence

from logalert.fields import lookup
from logalert.model import Event, Query, Window
from logalert.rules.model import Rule
from logalert.ruletypes import kept
from logalert.ruletypes.base import RuleType, key_of
from logalert.ruletypes.common import (
    bucket_start,
    by_key,
    grid,
    hashable,
    histogram_agg,
    hits_queries,
    key_order,
    latest_doc_agg,
    latest_event,
    live_and_replay,
    pick_step,
    terms_size,
    to_ms,
    walk_keys,
)
from logalert.timeutil import pretty_span

EPSILON = dt.timedelta(microseconds=1)
NEVER = dt.datetime.min.replace(tzinfo=dt.timezone.utc)
# What a slimmed event of a plain count becomes: only its time (in EventSeries.times) matters.
SLIM = Event(NEVER, {}, "", "")


def _as_number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


class EventSeries:
    """Remembered documents per query_key value, in time order."""

    def __init__(self, rule: Rule, value_field: str | None = None):
        self.rule = rule
        self.value_field = value_field
        self.times: dict[tuple[Any, ...], list[dt.datetime]] = {}
        self.events: dict[tuple[Any, ...], list[Event]] = {}
        self.shape = kept.fetch_shape(rule)

    def add(self, events: Sequence[Event]) -> None:
        for e in events:
            key = hashable(key_of(self.rule, e.source))
            times = self.times.setdefault(key, [])
            i = bisect.bisect_right(times, e.timestamp)
            times.insert(i, e.timestamp)
            e = Event(e.timestamp, kept.shared(self.shape, e.index, e.id, e.source), e.index, e.id)
            self.events.setdefault(key, []).insert(i, e)

    def keys(self) -> list[tuple[Any, ...]]:
        return sorted(self.times, key=key_order)

    def total(self, key: tuple[Any, ...], start: dt.datetime, end: dt.datetime) -> float:
        times = self.times.get(key, [])
        i, j = bisect.bisect_left(times, start), bisect.bisect_left(times, end)
        if self.value_field is None:
            return j - i
        return sum(_as_number(lookup(e.source, self.value_field)) for e in self.events[key][i:j])

    def between(self, key: tuple[Any, ...], start: dt.datetime, end: dt.datetime) -> list[Event]:
        """Documents with ``start <= timestamp <= end``."""
        times = self.times.get(key, [])
        return self.events.get(key, [])[bisect.bisect_left(times, start):bisect.bisect_right(times, end)]

    def latest(self, key: tuple[Any, ...], before: dt.datetime) -> Event | None:
        j = bisect.bisect_left(self.times.get(key, []), before)
        return self.events[key][j - 1] if j else None

    def slim(self, before: dt.datetime) -> None:
        """Let go of the documents (keeping their time and, with a value field, its
        value) of events before ``before``, except the newest of each value: later runs
        count them, but only read the documents of events in their own window (a match
        is a new document, or one within a timeframe after it) and the newest document
        before a checkpoint (``latest``). The full documents of a busy value over the
        lookback were most of a counting rule's memory."""
        for key, times in self.times.items():
            events = self.events[key]
            for i in range(bisect.bisect_left(times, before) - 2, -1, -1):
                e = events[i]
                if not e.source or (self.value_field and len(e.source) == 1 and self.value_field in e.source):
                    break  # slimmed by an earlier run, and so is everything before it
                if self.value_field:
                    events[i] = Event(e.timestamp, {self.value_field: lookup(e.source, self.value_field)}, "", "")
                else:
                    events[i] = SLIM

    def prune(self, before: dt.datetime) -> None:
        for key in list(self.times):
            i = bisect.bisect_left(self.times[key], before)
            del self.times[key][:i], self.events[key][:i]
            if not self.times[key]:
                del self.times[key], self.events[key]


class EngineSeries:
    """Histogram buckets per query_key value from one aggregation answer."""

    def __init__(self, rule: Rule, answer: Mapping[str, Any], value_field: str | None = None):
        self.starts: dict[tuple[Any, ...], list[int]] = {}
        self.sums: dict[tuple[Any, ...], list[float]] = {}  # prefix sums
        self.docs: dict[tuple[Any, ...], Event | None] = {}
        for key, leaf in walk_keys(answer, len(rule.query_key)):
            key = hashable(key)
            starts, sums = [], [0.0]
            for b in (leaf.get("t") or {}).get("buckets", []):
                starts.append(to_ms(bucket_start(rule, b["key"])))
                value = (b.get("v") or {}).get("value") if value_field else b["doc_count"]
                sums.append(sums[-1] + _as_number(value))
            self.starts[key], self.sums[key] = starts, sums
            self.docs[key] = latest_event(rule, leaf)

    def keys(self) -> list[tuple[Any, ...]]:
        return sorted(self.starts, key=key_order)

    def total(self, key: tuple[Any, ...], start: dt.datetime, end: dt.datetime) -> float:
        starts = self.starts.get(key)
        if not starts:
            return 0
        i, j = bisect.bisect_left(starts, to_ms(start)), bisect.bisect_left(starts, to_ms(end))
        return self.sums[key][j] - self.sums[key][i]

    def latest(self, key: tuple[Any, ...], before: dt.datetime) -> Event | None:
        """The newest document of the value in the whole answer (the engine returns one
        per value), which may be a little younger than ``before``."""
        return self.docs.get(key)


class CountingRule(RuleType):
    count_options = frozenset({"use_count_query", "use_terms_query"})
    lookback: ClassVar[int] = 1  # timeframes before a checkpoint that its test reads
    replays: ClassVar[bool] = True  # a fresh instance replays the timeframe before its window
    extra_history: ClassVar[int] = 0  # more timeframes a fresh instance reads (known keys)
    context_steps: ClassVar[int] = 0  # checkpoints before the window tested for context
    wants_doc: ClassVar[bool] = True  # the engine also returns the newest document per key

    def __init__(self, rule: Rule):
        super().__init__(rule)
        self.timeframe: dt.timedelta = rule.span("timeframe")
        self.engine = self.counts_in_engine(rule)
        self.events = EventSeries(rule, self.value_field())
        self.started = False

    @classmethod
    def counts_in_engine(cls, rule: Rule) -> bool:
        return bool(rule.get("use_count_query") or rule.get("use_terms_query"))

    @classmethod
    def check(cls, options: Mapping[str, Any], file: str | None = None) -> list[tuple[str, str]]:
        out = super().check(options, file)
        if options.get("use_terms_query") is True and not options.get("query_key"):
            out.append(("use_terms_query", "needs query_key: the terms aggregation counts per query_key value"))
        if options.get("use_terms_query") is True and options.get("use_count_query") is True:
            out.append(("use_count_query", "set use_count_query or use_terms_query, not both"))
        timeframe = options.get("timeframe")
        if isinstance(timeframe, Mapping) and not any(v for v in timeframe.values() if isinstance(v, (int, float))):
            out.append(("timeframe", "must be longer than zero"))
        return out

    def value_field(self) -> str | None:
        return None

    # --- checkpoints ---------------------------------------------------------------
    def step(self, window: Window) -> dt.timedelta:
        target = min(self.rule.run_every, self.timeframe / 10)
        span = window.span + (self.lookback + 1 + self.extra_history) * self.timeframe
        return pick_step(self.rule, self.timeframe, target, span)

    def first_checkpoint(self, window: Window, step: dt.timedelta) -> dt.datetime:
        start = window.start - (self.timeframe if self.replays and not self.started else dt.timedelta(0))
        return grid(start, start + step, step)[0] - self.context_steps * step

    def checkpoints(self, window: Window, step: dt.timedelta) -> list[dt.datetime]:
        return grid(self.first_checkpoint(window, step), window.end, step)

    def span_start(self, window: Window, step: dt.timedelta) -> dt.datetime:
        extra = self.extra_history * self.timeframe if not self.started else dt.timedelta(0)
        return self.first_checkpoint(window, step) - self.lookback * self.timeframe - extra

    # --- queries and answers -------------------------------------------------------
    def own_queries(self, window: Window) -> list[Query]:
        step = self.step(window)
        start = self.span_start(window, step)
        if not self.engine:
            return hits_queries(self.started, start)
        value = self.value_field()
        leaf: dict[str, Any] = {"t": histogram_agg(self.rule, step, {"v": {"sum": {"field": value}}} if value else None)}
        if self.wants_doc:
            leaf["latest"] = latest_doc_agg(self.rule)
        options = [o for o in ("query_key" if self.rule.query_key else None, "field_value" if value else None) if o]
        return [Query("aggs", aggs=by_key(self.rule.query_key, leaf, terms_size(self.rule)), start=start,
                      option=", ".join(options) or "timestamp_field")]

    def find_matches(self, window: Window, results: Sequence[Any]) -> list:
        step = self.step(window)
        new: list[Event] = []
        replayed: set[tuple[str, str]] = set()
        if self.engine:
            series: EventSeries | EngineSeries = EngineSeries(self.rule, results[0], self.value_field())
        else:
            live, replay = live_and_replay(results)
            new, replayed = live + replay, {(e.index, e.id) for e in replay}
            self.events.add(new)
            series = self.events
        matches = self.test(window, series, step, new, replayed)
        # What a later run may still need: windows reaching back from its first checkpoint.
        horizon = window.end - self.rule.buffer_time - (self.lookback + 1) * self.timeframe - step
        self.events.prune(horizon)
        if not self.engine:
            self.events.slim(window.end - self.rule.buffer_time)
        self.forget_before(horizon)
        self.started = True
        return matches

    def test(self, window: Window, series: Any, step: dt.timedelta, new: Sequence[Event],
             replayed: set[tuple[str, str]]) -> list:
        """Matches at the checkpoints of ``window``. ``new``: documents read this run
        (hits mode), ``replayed`` the ids among them only read back, never to alert on."""
        raise NotImplementedError

    def forget_before(self, horizon: dt.datetime) -> None:
        """Drop per-key memory older than ``horizon``."""

    def timeframe_text(self) -> str:
        return pretty_span(self.timeframe)
