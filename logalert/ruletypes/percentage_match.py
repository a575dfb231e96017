"""``type: percentage_match`` — the share of documents matching ``match_bucket_filter``
among all the rule's documents, per query_key value, over the run's window or per
``bucket_interval``, computed by the engine (a filters aggregation). Above
``max_percentage`` or below ``min_percentage`` is a match; fewer documents than
``min_denominator`` are not judged."""

from __future__ import annotations

from typing import Any, Mapping

from logalert.engine.query import normalise_filter
from logalert.model import Match
from logalert.ruletypes.bucketed import BucketedRule, outside
from logalert.ruletypes.common import key_phrase, number
from logalert.ruletypes.metric_agg import bounds_check


class PercentageMatchRule(BucketedRule):
    name = "percentage_match"
    value_options = "match_bucket_filter"

    @classmethod
    def check(cls, options: Mapping[str, Any], file: str | None = None) -> list[tuple[str, str]]:
        return super().check(options, file) + bounds_check(options, "min_percentage", "max_percentage")

    def leaf(self) -> dict[str, Any]:
        clauses = [normalise_filter(f) for f in self.rule.get("match_bucket_filter") or []]
        return {"pct": {"filters": {"filters": {"match_bucket": {"bool": {"filter": clauses}}},
                                    "other_bucket_key": "_other_"}}}

    def judge(self, bucket: Mapping[str, Any]) -> tuple[dict[str, Any], str] | None:
        parts = (bucket.get("pct") or {}).get("buckets") or {}
        matching = (parts.get("match_bucket") or {}).get("doc_count", 0)
        total = matching + (parts.get("_other_") or {}).get("doc_count", 0)
        if total == 0 or total < (self.rule.get("min_denominator") or 0):
            return None
        percentage = 100.0 * matching / total
        side = outside(percentage, self.rule.get("min_percentage"), self.rule.get("max_percentage"))
        return ({"percentage": percentage, "denominator": total, "numerator": matching}, side) if side else None

    def describe(self, match: Match) -> str:
        d, rule = match.details, self.rule
        pct = number(d["percentage"], rule.get("percentage_format_string") or "{:.1f}")
        limit = rule.get("max_percentage") if d["reason"] == "above" else rule.get("min_percentage")
        return (f"{pct}% of {d['denominator']} documents{key_phrase(rule, match.key)} matched match_bucket_filter "
                f"({d['numerator']}) from {d['start']} to {d['end']}, {d['reason']} the "
                f"{'maximum' if d['reason'] == 'above' else 'minimum'} of {number(limit)}%.")
