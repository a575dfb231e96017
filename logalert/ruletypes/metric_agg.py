"""The metric a metric_aggregation or spike_aggregation rule asks the engine for:
``metric_agg_type`` of ``metric_agg_key`` (or of ``metric_agg_script``), with
``percentile_range`` for percentiles."""

from __future__ import annotations

from typing import Any, Mapping

from logalert.options import NONEMPTY, Option
from logalert.rules.model import Rule

METRIC_TYPES = ("min", "max", "avg", "sum", "cardinality", "value_count", "percentiles")


# What metric_aggregation and spike_aggregation both declare.
METRIC_OPTIONS = (
    Option("metric_agg_key", NONEMPTY),
    Option("metric_agg_type", {"enum": ["min", "max", "avg", "sum", "cardinality", "value_count", "percentiles"]}),
    Option("metric_agg_script", {"type": "object"}),
    Option("percentile_range", {"type": "number", "exclusiveMinimum": 0, "maximum": 100}),
)


def metric_agg(rule: Rule) -> dict[str, Any]:
    kind = rule.get("metric_agg_type")
    source: dict[str, Any] = {"script": rule.get("metric_agg_script")} if rule.get("metric_agg_script") \
        else {"field": rule.get("metric_agg_key")}
    if kind == "percentiles":
        return {kind: {**source, "percents": [float(rule.get("percentile_range"))]}}
    return {kind: source}


def metric_value(node: Mapping[str, Any] | None) -> float | None:
    """The number in a metric aggregation's answer (percentiles: the one percentile)."""
    if not node:
        return None
    if "values" in node:
        values = node["values"]
        items = list(values.values()) if isinstance(values, Mapping) else [v.get("value") for v in values]
        return items[0] if items else None
    return node.get("value")


def metric_name(rule: Rule) -> str:
    """The match field ElastAlert users know: ``metric_<key>_<type>``."""
    return f"metric_{rule.get('metric_agg_key')}_{rule.get('metric_agg_type')}"


def metric_check(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    out = []
    if options.get("metric_agg_type") == "percentiles" and options.get("percentile_range") is None:
        out.append(("percentile_range", "required when metric_agg_type is percentiles (e.g. 95)"))
    return out


def bounds_check(options: Mapping[str, Any], low: str, high: str) -> list[tuple[str, str]]:
    """At least one of two thresholds, and the lower one below the higher one."""
    lo, hi = options.get(low), options.get(high)
    if lo is None and hi is None:
        return [(high, f"set {high}, {low} or both: without a threshold nothing can alert")]
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (lo, hi))
    if numbers and lo >= hi:
        return [(low, f"{low} ({lo}) must be below {high} ({hi}): every value would alert")]
    return []
