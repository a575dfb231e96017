"""``type: metric_aggregation`` — ``metric_agg_type`` (min, max, avg, sum, cardinality,
value_count, percentiles with ``percentile_range``) of ``metric_agg_key`` computed by
the engine per query_key value, over the run's window or per ``bucket_interval``; a
value above ``max_threshold`` or below ``min_threshold`` is a match. Buckets with fewer
than ``min_doc_count`` documents (default 1) are not judged."""

from __future__ import annotations

from typing import Any, Mapping

from logalert.model import Match
from logalert.options import STRING, Option
from logalert.ruletypes.bucketed import BUCKET_OPTIONS, BucketedRule, outside
from logalert.ruletypes.common import key_phrase, number
from logalert.ruletypes.metric_agg import (
    METRIC_OPTIONS,
    bounds_check,
    metric_agg,
    metric_check,
    metric_name,
    metric_value,
)

OPTIONS = METRIC_OPTIONS + (
    Option("max_threshold", {"type": "number"}),
    Option("min_threshold", {"type": "number"}),
    Option("metric_format_string", STRING),
) + BUCKET_OPTIONS
REQUIRED = ("metric_agg_key", "metric_agg_type")


class MetricAggregationRule(BucketedRule):
    name = "metric_aggregation"
    value_options = "metric_agg_key"

    @classmethod
    def check(cls, options: Mapping[str, Any], file: str | None = None) -> list[tuple[str, str]]:
        return (super().check(options, file) + metric_check(options)
                + bounds_check(options, "min_threshold", "max_threshold"))

    def leaf(self) -> dict[str, Any]:
        return {"metric": metric_agg(self.rule)}

    def judge(self, bucket: Mapping[str, Any]) -> tuple[dict[str, Any], str] | None:
        value = metric_value(bucket.get("metric"))
        if value is None:
            return None
        side = outside(value, self.rule.get("min_threshold"), self.rule.get("max_threshold"))
        return ({metric_name(self.rule): value}, side) if side else None

    def describe(self, match: Match) -> str:
        d, rule = match.details, self.rule
        value = number(d[metric_name(rule)], rule.get("metric_format_string"))
        limit = rule.get("max_threshold") if d["reason"] == "above" else rule.get("min_threshold")
        what = f"{rule.get('metric_agg_type')} of {rule.get('metric_agg_key') or 'the script'}"
        if rule.get("metric_agg_type") == "percentiles":
            what = f"{number(rule.get('percentile_range'))}th percentile of {rule.get('metric_agg_key')}"
        return (f"The {what}{key_phrase(rule, match.key)} was {value} from {d['start']} to {d['end']}, "
                f"{d['reason']} the {'maximum' if d['reason'] == 'above' else 'minimum'} of {number(limit)}.")
