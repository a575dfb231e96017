"""``type: cardinality`` — the number of distinct ``cardinality_field`` values within
``timeframe`` (per query_key value) above ``max_cardinality`` or below
``min_cardinality`` is a match.

The engine counts the distinct values (a cardinality aggregation, exact up to its
precision threshold, which is set above the limits) for the windows of one timeframe
ending at each checkpoint of the run; nothing is kept in memory, so a restart loses
nothing. A value alerts where it crosses a limit and once per run while it stays across.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Sequence

from logalert.model import Match, Query, Window
from logalert.options import NONEMPTY, Option
from logalert.rules.model import Rule
from logalert.ruletypes.base import RuleType
from logalert.ruletypes.bucketed import outside
from logalert.ruletypes.common import (
    TERMS_SIZE,
    by_key,
    doc_fields,
    grid,
    hashable,
    key_phrase,
    latest_doc_agg,
    latest_event,
    pick_step,
    ranges_agg,
    terms_size,
    time_of_value,
    turning_points,
    walk_keys,
)
from logalert.ruletypes.metric_agg import bounds_check
from logalert.timeutil import iso, pretty_span

OPTIONS = (
    Option("cardinality_field", NONEMPTY, description="an aggregatable (keyword, numeric, date) field"),
    Option("max_cardinality", {"type": "integer", "minimum": 0}),
    Option("min_cardinality", {"type": "integer", "minimum": 0}),
    TERMS_SIZE,
)
REQUIRED = ("cardinality_field", "timeframe")


MAX_CHECKPOINTS = 60


class CardinalityRule(RuleType):
    name = "cardinality"
    count_refusal = "it counts distinct values in the engine; the option does not apply"

    def __init__(self, rule: Rule):
        super().__init__(rule)
        self.timeframe: dt.timedelta = rule.span("timeframe")
        self.fired: set[tuple[tuple[Any, ...], dt.datetime]] = set()

    @classmethod
    def check(cls, options: Mapping[str, Any], file: str | None = None) -> list[tuple[str, str]]:
        return super().check(options, file) + bounds_check(options, "min_cardinality", "max_cardinality")

    def checkpoints(self, window: Window) -> list[dt.datetime]:
        target = min(self.rule.run_every, self.timeframe / 10)
        step = pick_step(self.rule, self.timeframe, target, window.span, MAX_CHECKPOINTS)
        return grid(window.start - step, window.end, step)

    def own_queries(self, window: Window) -> list[Query]:
        points = self.checkpoints(window)
        limit = max(v for v in (self.rule.get("max_cardinality"), self.rule.get("min_cardinality")) if v is not None)
        distinct = {"cardinality": {"field": self.rule.get("cardinality_field"),
                                    "precision_threshold": int(min(40000, max(100, 2 * limit + 100)))}}
        leaf = {"w": ranges_agg(self.rule, [(c - self.timeframe, c) for c in points], {"distinct": distinct}),
                "latest": latest_doc_agg(self.rule), "first": {"min": {"field": self.rule.timestamp_field}}}
        option = "cardinality_field" + (", query_key" if self.rule.query_key else "")
        # one timeframe more than the windows need: whether a value has been around that long
        return [Query("aggs", aggs=by_key(self.rule.query_key, leaf, terms_size(self.rule)),
                      start=points[0] - 2 * self.timeframe, option=option)]

    def find_matches(self, window: Window, results: Sequence[Any]) -> list[Match]:
        points = self.checkpoints(window)
        low, high = self.rule.get("min_cardinality"), self.rule.get("max_cardinality")
        out = []
        for key, node in walk_keys(results[0], len(self.rule.query_key)):
            key = hashable(key)
            ranges = (node.get("w") or {}).get("buckets") or {}
            first = time_of_value(self.rule, (node.get("first") or {}).get("value"))
            sides = []
            for i, c in enumerate(points):
                bucket = ranges.get(str(i)) or {}
                side = outside((bucket.get("distinct") or {}).get("value"), low, high) if bucket.get("doc_count") else None
                if side == "below" and (first is None or first > c - self.timeframe):
                    side = None  # too new to be below: its first timeframe is not over
                sides.append(side)
            doc = latest_event(self.rule, node)
            for i in turning_points(sides, lambda i: (key, points[i]) in self.fired):
                self.fired.add((key, points[i]))
                value = int(ranges[str(i)]["distinct"]["value"])
                c = points[i]
                details = {"cardinality": value, "reason": sides[i], "field": self.rule.get("cardinality_field"),
                           "timeframe": pretty_span(self.timeframe), "start": iso(c - self.timeframe), "end": iso(c)}
                out.append(Match(c, doc_fields(self.rule, doc, c, key, {"cardinality": value}), key=key,
                                 details=details))
        horizon = window.end - self.rule.buffer_time - self.timeframe
        self.fired = {(k, t) for k, t in self.fired if t >= horizon}
        return out

    def describe(self, match: Match) -> str:
        d = match.details
        limit = self.rule.get("max_cardinality") if d["reason"] == "above" else self.rule.get("min_cardinality")
        return (f"{d['cardinality']} distinct values of {d['field']}{key_phrase(self.rule, match.key)} within "
                f"{d['timeframe']} (from {d['start']} to {d['end']}), {d['reason']} the "
                f"{'maximum' if d['reason'] == 'above' else 'minimum'} of {limit}.")
