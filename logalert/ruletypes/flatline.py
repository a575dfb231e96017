"""``type: flatline`` — fewer than ``threshold`` documents within ``timeframe`` is a
match: logs that stopped. With a query_key, every value seen before is watched on its
own (at most MAX_KEYS values: those silent the longest are dropped first); ``forget_keys``
stops watching a value once it alerted, until it shows up again.

The engine counts whenever it can (no query_key, or use_count_query/use_terms_query);
otherwise the documents are read for their query_key values. A match is made where a
value turns flat, and at the newest checkpoint of each run while it stays flat (realert
then limits how often that becomes an alert).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

from logalert.model import Event, Match, Window
from logalert.options import BOOLEAN, Option
from logalert.rules.model import Rule
from logalert.ruletypes.common import (
    TERMS_SIZE,
    doc_fields,
    key_order,
    key_phrase,
    newest,
    turning_points,
)
from logalert.ruletypes.counting import CountingRule
from logalert.timeutil import iso

OPTIONS = (
    Option("threshold", {"type": "integer", "minimum": 1}),
    TERMS_SIZE,
    Option("forget_keys", BOOLEAN, False,
           description="stop watching a query_key value once it alerted, until it shows up again"),
)
REQUIRED = ("threshold", "timeframe")


class FlatlineRule(CountingRule):
    name = "flatline"
    replays = False
    extra_history = 1  # a fresh instance learns the values seen one timeframe earlier
    context_steps = 1  # the checkpoint before the window says whether a value just turned flat
    wants_doc = False

    def __init__(self, rule: Rule):
        super().__init__(rule)
        self.threshold = rule.get("threshold")
        self.known: dict[tuple[Any, ...], dt.datetime] = {}  # query_key value -> last checkpoint it had events
        self.forgotten: dict[tuple[Any, ...], dt.datetime] = {}
        self.fired: set[tuple[tuple[Any, ...], dt.datetime]] = set()

    @classmethod
    def counts_in_engine(cls, rule: Rule) -> bool:
        return not rule.query_key or super().counts_in_engine(rule)

    def test(self, window: Window, series: Any, step: dt.timedelta, new: Sequence[Event],
             replayed: set[tuple[str, str]]) -> list[Match]:
        points = self.checkpoints(window, step)
        if not points:
            return []
        for key in series.keys():
            if series.total(key, points[0] - self.timeframe, window.end) > 0:
                self.known[key] = window.end
                since = self.forgotten.get(key)
                if since is not None and series.total(key, since, window.end) > 0:
                    del self.forgotten[key]  # it came back: watch it again
        self.known = newest(self.known, lambda t: t)  # values silent the longest go first
        self.forgotten = {k: t for k, t in self.forgotten.items() if k in self.known}
        keys = [()] if not self.rule.query_key else sorted(
            (k for k in self.known if k not in self.forgotten), key=key_order)
        out = []
        for key in keys:
            counts = [series.total(key, c - self.timeframe, c) for c in points]
            flat = [n < self.threshold for n in counts]
            for i in turning_points(flat, lambda i: (key, points[i]) in self.fired):
                self.fired.add((key, points[i]))
                out.append(self._match(points[i], key, counts[i]))
                if self.rule.get("forget_keys") and self.rule.query_key:
                    self.forgotten[key] = points[i]
                    break
        return out

    def _match(self, c: dt.datetime, key: tuple[Any, ...], count: float) -> Match:
        details = {"count": int(count), "threshold": self.threshold, "timeframe": self.timeframe_text(),
                   "start": iso(c - self.timeframe), "end": iso(c)}
        extra: dict[str, Any] = {"count": int(count)}
        if self.rule.query_key:
            extra["key"] = ", ".join(map(str, key))
        fields = doc_fields(self.rule, None, c, key, extra)
        return Match(c, fields, key=key, details=details)

    def forget_before(self, horizon: dt.datetime) -> None:
        self.fired = {(k, c) for k, c in self.fired if c >= horizon}

    def describe(self, match: Match) -> str:
        d = match.details
        return (f"Only {d['count']} matching events{key_phrase(self.rule, match.key)} within {d['timeframe']} "
                f"(from {d['start']} to {d['end']}); fewer than {d['threshold']} makes an alert.")
