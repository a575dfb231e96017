"""``type: percentage_match`` — the share of documents matching ``match_bucket_filter``
among all the rule's documents, per query_key value, over the run's window or per
``bucket_interval``, computed by the engine (a filters aggregation). Above
``max_percentage`` or below ``min_percentage`` is a match; fewer documents than
``min_denominator`` are not judged."""

from __future__ import annotations

from typing import Any, Mapping

from logalert.model import Match
from logalert.options import STRING, Option
from logalert.rules.filters import normalise_filter
from logalert.ruletypes.bucketed import BUCKET_OPTIONS, BucketedRule, outside
from logalert.ruletypes.common import key_phrase, number
from logalert.ruletypes.metric_agg import bounds_check

OPTIONS = (
    Option("match_bucket_filter", {
        "type": "array", "minItems": 1,
        "items": {"type": "object", "minProperties": 1},
        "errorMessage": "must be a list of filters, like filter: e.g. '- term: {status: 500}'",
    }),
    Option("min_percentage", {"type": "number", "minimum": 0, "maximum": 100}),
    Option("max_percentage", {"type": "number", "minimum": 0, "maximum": 100}),
    Option("percentage_format_string", STRING, "{:.1f}"),
    Option("min_denominator", {"type": "integer", "minimum": 0}, 0),
) + BUCKET_OPTIONS
REQUIRED = ("match_bucket_filter",)


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
        if total == 0 or total < self.rule.get("min_denominator"):
            return None
        percentage = 100.0 * matching / total
        side = outside(percentage, self.rule.get("min_percentage"), self.rule.get("max_percentage"))
        return ({"percentage": percentage, "denominator": total, "numerator": matching}, side) if side else None

    def describe(self, match: Match) -> str:
        d, rule = match.details, self.rule
        pct = number(d["percentage"], rule.get("percentage_format_string"))
        limit = rule.get("max_percentage") if d["reason"] == "above" else rule.get("min_percentage")
        return (f"{pct}% of {d['denominator']} documents{key_phrase(rule, match.key)} matched match_bucket_filter "
                f"({d['numerator']}) from {d['start']} to {d['end']}, {d['reason']} the "
                f"{'maximum' if d['reason'] == 'above' else 'minimum'} of {number(limit)}%.")
