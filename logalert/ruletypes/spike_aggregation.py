"""``type: spike_aggregation`` — like spike, but comparing a metric (``metric_agg_type``
of ``metric_agg_key``, as in metric_aggregation) over the current ``timeframe``
(default: buffer_time) with the one before. The engine computes both windows for each
checkpoint of the run (a range aggregation with the metric under it), so nothing is
pulled into Python and a restart loses nothing. A zero or empty window on either side
never makes a spike; ``threshold_cur``/``threshold_ref`` are the least metric value each
side must have; a current window with fewer than ``min_doc_count`` documents is not
judged. After a spike the value waits one timeframe before the next one.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Sequence

from logalert.model import Match, Query, Window
from logalert.options import Option
from logalert.rules.model import Rule
from logalert.ruletypes.base import RuleType
from logalert.ruletypes.common import (
    MIN_DOC_COUNT,
    TERMS_SIZE,
    by_key,
    doc_fields,
    grid,
    hashable,
    latest_doc_agg,
    latest_event,
    pick_step,
    ranges_agg,
    terms_size,
    walk_keys,
)
from logalert.ruletypes.metric_agg import (
    METRIC_OPTIONS,
    metric_agg,
    metric_check,
    metric_name,
    metric_value,
)
from logalert.ruletypes.spike import (
    SPIKE_HEIGHT,
    SPIKE_TYPE,
    spike_details,
    spike_direction,
    spike_text,
)

OPTIONS = METRIC_OPTIONS + (
    SPIKE_HEIGHT,
    SPIKE_TYPE,
    Option("threshold_cur", {"type": "number"}, 0),
    Option("threshold_ref", {"type": "number"}, 0),
    MIN_DOC_COUNT,
    TERMS_SIZE,
)
REQUIRED = ("metric_agg_key", "metric_agg_type", "spike_height", "spike_type")


MAX_CHECKPOINTS = 30


class SpikeAggregationRule(RuleType):
    name = "spike_aggregation"
    count_refusal = "it always aggregates in the engine; the option does not apply"

    def __init__(self, rule: Rule):
        super().__init__(rule)
        self.timeframe: dt.timedelta = rule.span("timeframe") or rule.buffer_time
        self.blocked: dict[tuple[Any, ...], dt.datetime] = {}
        self.started = False

    @classmethod
    def check(cls, options: Mapping[str, Any], file: str | None = None) -> list[tuple[str, str]]:
        return super().check(options, file) + metric_check(options)

    def checkpoints(self, window: Window) -> list[dt.datetime]:
        """The run's checkpoints; a fresh instance also replays one timeframe before."""
        start = window.start if self.started else window.start - self.timeframe
        step = pick_step(self.rule, self.timeframe, min(self.rule.run_every, self.timeframe / 10),
                         window.end - start, MAX_CHECKPOINTS)
        return grid(start, window.end, step)

    def spans(self, points: Sequence[dt.datetime]) -> list[tuple[dt.datetime, dt.datetime]]:
        tf = self.timeframe
        return list(dict.fromkeys(s for c in points for s in ((c - 2 * tf, c - tf), (c - tf, c))))

    def own_queries(self, window: Window) -> list[Query]:
        points = self.checkpoints(window)
        leaf = {"w": ranges_agg(self.rule, self.spans(points), {"metric": metric_agg(self.rule)}),
                "latest": latest_doc_agg(self.rule)}
        option = "metric_agg_key" + (", query_key" if self.rule.query_key else "")
        return [Query("aggs", aggs=by_key(self.rule.query_key, leaf, terms_size(self.rule)),
                      start=points[0] - 2 * self.timeframe, option=option)]

    def find_matches(self, window: Window, results: Sequence[Any]) -> list[Match]:
        points = self.checkpoints(window)
        index = {s: str(i) for i, s in enumerate(self.spans(points))}
        tf, least = self.timeframe, int(self.rule.get("min_doc_count"))
        what = f"the {self.rule.get('metric_agg_type')} of {self.rule.get('metric_agg_key')}"
        out = []
        for key, node in walk_keys(results[0], len(self.rule.query_key)):
            key = hashable(key)
            ranges = (node.get("w") or {}).get("buckets") or {}
            doc = latest_event(self.rule, node)
            for c in points:
                if c < self.blocked.get(key, window.start - 3 * tf):
                    continue
                cur_b, ref_b = ranges.get(index[(c - tf, c)]) or {}, ranges.get(index[(c - 2 * tf, c - tf)]) or {}
                if cur_b.get("doc_count", 0) < least or not ref_b.get("doc_count"):
                    continue
                cur, ref = metric_value(cur_b.get("metric")), metric_value(ref_b.get("metric"))
                direction = spike_direction(self.rule, cur, ref, counts=False)
                if direction is None:
                    continue
                self.blocked[key] = c + tf
                if c >= window.start:
                    extra = {metric_name(self.rule): cur, "spike_count": cur, "reference_count": ref}
                    out.append(Match(c, doc_fields(self.rule, doc, c, key, extra), key=key,
                                     details=spike_details(self.rule, c, tf, direction, cur, ref, what)))
        self.started = True
        horizon = window.end - self.rule.buffer_time - tf
        self.blocked = {k: v for k, v in self.blocked.items() if v >= horizon}
        return out

    def describe(self, match: Match) -> str:
        return spike_text(self.rule, match)
