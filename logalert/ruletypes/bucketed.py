"""What metric_aggregation and percentage_match share: one value per query_key value,
computed by the engine over the run's window, or per ``bucket_interval`` bucket.

The range is the run's window (``use_run_every_query_size``: its last run_every). With
``bucket_interval`` it starts at a bucket boundary, only complete buckets are judged and
each (value, bucket) alerts once, however many overlapping runs see it. Without it the
whole range is judged every run, as ElastAlert does (realert limits the alerts).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, ClassVar, Mapping, Sequence

from logalert.model import Match, Query, Window
from logalert.options import BOOLEAN, SPAN, Option
from logalert.rules.model import Rule
from logalert.ruletypes.base import RuleType
from logalert.ruletypes.common import (
    MIN_DOC_COUNT,
    TERMS_SIZE,
    bucket_start,
    by_key,
    doc_fields,
    floor_to,
    hashable,
    histogram_agg,
    terms_size,
    walk_keys,
)
from logalert.timeutil import iso

# What metric_aggregation and percentage_match both declare.
BUCKET_OPTIONS = (
    Option("bucket_interval", SPAN),
    Option("sync_bucket_interval", BOOLEAN, False,
           unimplemented="changes nothing: buckets always start on bucket_interval boundaries"),
    Option("allow_buffer_time_overlap", BOOLEAN, False,
           unimplemented="changes nothing: only complete buckets are judged, each once"),
    Option("use_run_every_query_size", BOOLEAN, False),
    MIN_DOC_COUNT,
    TERMS_SIZE,
)


class BucketedRule(RuleType):
    count_refusal = "it always aggregates in the engine; the option does not apply"
    value_options: ClassVar[str]  # the options the value is built from, for engine errors

    def __init__(self, rule: Rule):
        super().__init__(rule)
        self.interval = rule.span("bucket_interval")
        self.fired: set[tuple[tuple[Any, ...], dt.datetime]] = set()

    def span(self, window: Window) -> Window:
        start = window.end - self.rule.run_every if self.rule.get("use_run_every_query_size") else window.start
        if self.interval:
            start = floor_to(start, self.interval)
        return Window(start, window.end)

    def leaf(self) -> dict[str, Any]:
        """The aggregations under each bucket that make its value."""
        raise NotImplementedError

    def judge(self, bucket: Mapping[str, Any]) -> tuple[dict[str, Any], str] | None:
        """For one bucket: (numbers for the match, why it alerts) or None."""
        raise NotImplementedError

    def own_queries(self, window: Window) -> list[Query]:
        if self.interval:
            inner = {"buckets": histogram_agg(self.rule, self.interval, self.leaf())}
        else:
            inner = {"all": {"filter": {"match_all": {}}, "aggs": self.leaf()}}
        options = ", ".join(o for o in (self.value_options, "query_key" if self.rule.query_key else None) if o)
        return [Query("aggs", aggs=by_key(self.rule.query_key, inner, terms_size(self.rule)),
                      start=self.span(window).start, option=options)]

    def find_matches(self, window: Window, results: Sequence[Any]) -> list[Match]:
        span = self.span(window)
        out = []
        for key, node in walk_keys(results[0], len(self.rule.query_key)):
            key = hashable(key)
            if not self.interval:
                out += self._judge(key, span.start, span.end, node.get("all") or {})
                continue
            for bucket in (node.get("buckets") or {}).get("buckets", []):
                start = bucket_start(self.rule, bucket["key"])
                if start < span.start or start + self.interval > window.end or (key, start) in self.fired:
                    continue  # incomplete, or judged by an earlier run
                found = self._judge(key, start, start + self.interval, bucket)
                if found:
                    self.fired.add((key, start))
                out += found
        horizon = window.end - self.rule.buffer_time - 2 * (self.interval or dt.timedelta(0))
        self.fired = {(k, t) for k, t in self.fired if t >= horizon}
        return out

    def _judge(self, key: tuple[Any, ...], start: dt.datetime, end: dt.datetime,
               bucket: Mapping[str, Any]) -> list[Match]:
        if bucket.get("doc_count", 0) < int(self.rule.get("min_doc_count")):
            return []
        verdict = self.judge(bucket)
        if verdict is None:
            return []
        numbers, reason = verdict
        moment = start if self.interval else end
        details = {**numbers, "reason": reason, "start": iso(start), "end": iso(end)}
        return [Match(moment, doc_fields(self.rule, None, moment, key, numbers), key=key, details=details)]


def outside(value: float, low: float | None, high: float | None) -> str | None:
    """"above" when value > high, "below" when value < low, else None."""
    if high is not None and value > high:
        return "above"
    if low is not None and value < low:
        return "below"
    return None
