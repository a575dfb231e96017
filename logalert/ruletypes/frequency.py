"""``type: frequency`` — at least ``num_events`` documents within ``timeframe`` (per
query_key value) is a match. After a match that value starts counting afresh, as in
ElastAlert, so one burst alerts once.

Without use_count_query/use_terms_query the documents are read and every window that
ends at a document is tested (the match is that document). With either option the
engine counts: the windows ending at each checkpoint of the step grid are tested and
the match carries the count and the newest document of that value.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

from logalert.model import Event, Match, Window
from logalert.options import BOOLEAN, Option
from logalert.rules.model import Rule
from logalert.ruletypes.base import key_of
from logalert.ruletypes.common import TERMS_SIZE, doc_fields, hashable, key_phrase
from logalert.ruletypes.counting import EPSILON, NEVER, CountingRule, EventSeries
from logalert.timeutil import iso

OPTIONS = (
    Option("num_events", {"type": "integer", "minimum": 1}),
    TERMS_SIZE,
    Option("attach_related", BOOLEAN, False, unimplemented="the other events of the window are not attached to the match"),
)
REQUIRED = ("num_events", "timeframe")


class FrequencyRule(CountingRule):
    name = "frequency"

    def __init__(self, rule: Rule):
        super().__init__(rule)
        self.num_events = int(rule.get("num_events"))
        self.since: dict[tuple[Any, ...], dt.datetime] = {}  # documents before this were used by a match

    def test(self, window: Window, series: Any, step: dt.timedelta, new: Sequence[Event],
             replayed: set[tuple[str, str]]) -> list[Match]:
        if not self.engine:
            return self._test_documents(window, series, new, replayed)
        out = []
        for c in self.checkpoints(window, step):
            for key in series.keys():
                count = int(series.total(key, max(c - self.timeframe, self.since.get(key, NEVER)), c))
                if count >= self.num_events:
                    self.since[key] = c
                    if c >= window.start:
                        doc = series.latest(key, c)
                        out.append(self._match(c, key, count, doc_fields(self.rule, doc, c, key, {"count": count})))
        return out

    def _test_documents(self, window: Window, series: EventSeries, new: Sequence[Event],
                        replayed: set[tuple[str, str]]) -> list[Match]:
        """Every window that ends at a document and holds a new one: windows ending at the
        new documents, and at older documents up to one timeframe after a new one (a
        document indexed late). Windows ending at a document only read back (before the
        window, or evaluated before a restart) update the memory without alerting."""
        times: dict[tuple[Any, ...], list[dt.datetime]] = {}
        for event in new:
            times.setdefault(self._key(event), []).append(event.timestamp)
        out = []
        for key, stamps in times.items():
            for end in self._window_ends(series, key, sorted(stamps)):
                c = end.timestamp
                since = self.since.get(key, NEVER)
                if c < since:
                    continue
                count = int(series.total(key, max(c - self.timeframe, since), c + EPSILON))
                if count >= self.num_events:
                    self.since[key] = c + EPSILON
                    if c >= window.start and (end.index, end.id) not in replayed:
                        out.append(self._match(c, key, count, end.source, end))
        return sorted(out, key=lambda m: m.timestamp)

    def _window_ends(self, series: EventSeries, key: tuple[Any, ...], stamps: list[dt.datetime]) -> list[Event]:
        """Documents of ``key`` within one timeframe after one of ``stamps`` (sorted)."""
        ends: list[Event] = []
        lo, hi = stamps[0], stamps[0] + self.timeframe
        for t in stamps[1:] + [None]:
            if t is not None and t <= hi:
                hi = t + self.timeframe
                continue
            ends += series.between(key, lo, hi)
            if t is not None:
                lo, hi = t, t + self.timeframe
        return ends

    def _key(self, event: Event) -> tuple[Any, ...]:
        return hashable(key_of(self.rule, event.source))

    def _match(self, c: dt.datetime, key: tuple[Any, ...], count: float, fields: Any,
               doc: Event | None = None) -> Match:
        details = {"count": int(count), "num_events": self.num_events, "timeframe": self.timeframe_text(),
                   "start": iso(c - self.timeframe), "end": iso(c)}
        return Match(c, fields, doc.index if doc else None, doc.id if doc else None, key, details)

    def forget_before(self, horizon: dt.datetime) -> None:
        self.since = {k: v for k, v in self.since.items() if v >= horizon}

    def describe(self, match: Match) -> str:
        d = match.details
        return (f"{d['count']} matching events{key_phrase(self.rule, match.key)} within {d['timeframe']} "
                f"(from {d['start']} to {d['end']}); the rule alerts at {d['num_events']}.")
