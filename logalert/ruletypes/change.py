"""``type: change`` — per query_key value, a document whose ``compare_key`` (one field
or a list) differs from what the previous document of that value had is a match; with
``timeframe``, only when the previous document is at most that old. ``ignore_null``:
documents missing a compare_key field are skipped.

Memory: the last compare values per query_key value (within timeframe; at most
MAX_KEYS values, the least recently seen forgotten first). A fresh instance (after a restart
or a reload) first reads the documents of one ``timeframe`` (``buffer_time`` when there
is none) before its window to learn them, without alerting on those.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

from logalert.fields import lookup
from logalert.model import Event, Match, Query, Window
from logalert.options import BOOLEAN, STRING_OR_LIST, Option
from logalert.rules.model import Rule
from logalert.ruletypes.base import RuleType, key_of
from logalert.ruletypes.common import hits_queries, key_phrase, live_and_replay, newest
from logalert.timeutil import iso

OPTIONS = (
    Option("compare_key", STRING_OR_LIST),
    Option("ignore_null", BOOLEAN, description="true: documents missing a compare_key field are skipped"),
)
REQUIRED = ("compare_key", "ignore_null", "query_key")


class ChangeRule(RuleType):
    name = "change"
    count_refusal = "it compares compare_key between consecutive documents, so it needs them"

    def __init__(self, rule: Rule):
        super().__init__(rule)
        compare = rule.get("compare_key")
        self.fields: tuple[str, ...] = (compare,) if isinstance(compare, str) else tuple(compare)
        self.timeframe = rule.span("timeframe")
        self.last: dict[tuple[Any, ...], tuple[tuple[Any, ...], dt.datetime]] = {}
        self.started = False

    def own_queries(self, window: Window) -> list[Query]:
        return hits_queries(self.started, window.start - (self.timeframe or self.rule.buffer_time))

    def find_matches(self, window: Window, results: Sequence[Any]) -> list[Match]:
        live, replay = live_and_replay(results)
        replayed = {(e.index, e.id) for e in replay}
        out = []
        for event in sorted(live + replay, key=lambda e: e.timestamp):
            match = self._see(event)
            if match is not None and (event.index, event.id) not in replayed:
                out.append(match)
        self.started = True
        if self.timeframe is not None:  # older values can no longer make a match
            horizon = window.end - self.rule.buffer_time - self.timeframe
            self.last = {k: v for k, v in self.last.items() if v[1] >= horizon}
        self.last = newest(self.last, lambda v: v[1])
        return out

    def _see(self, event: Event) -> Match | None:
        values = tuple(lookup(event.source, f) for f in self.fields)
        if self.rule.get("ignore_null") and any(v is None for v in values):
            return None
        key = key_of(self.rule, event.source)
        previous = self.last.get(key)
        if previous is not None and event.timestamp < previous[1]:
            return None  # indexed late and older than what we already know: not a change now
        self.last[key] = (values, event.timestamp)
        if previous is None or previous[0] == values:
            return None
        if self.timeframe is not None and event.timestamp - previous[1] > self.timeframe:
            return None
        single = len(self.fields) == 1
        old, new = (previous[0][0], values[0]) if single else (list(previous[0]), list(values))
        fields = {**event.source, "old_value": old, "new_value": new}
        return Match(event.timestamp, fields, event.index, event.id, key,
                     {"compare_key": list(self.fields), "old_value": old, "new_value": new,
                      "previous_at": iso(previous[1])})

    def describe(self, match: Match) -> str:
        d = match.details
        return (f"{', '.join(d['compare_key'])} changed from {d['old_value']!r} to {d['new_value']!r}"
                f"{key_phrase(self.rule, match.key)} (the previous value was seen at {d['previous_at']}).")
