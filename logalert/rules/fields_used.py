"""The fields a rule uses, each with the option that names it and what the engine needs
of it: ``validate --engine`` checks them against the mappings, ``test-rule`` shows them
as the columns of its table of documents. Pure: no engine here.

What a field must be:

- ``date``: the timestamp field (a date; a number for ``timestamp_type: unix``/``unix_ms``);
- ``exact``: ``term``/``terms`` filters compare whole values: keyword, numeric, date,
  boolean or ip (a text field holds lower-cased words, so ``term: {level: ERROR}``
  never matches);
- ``aggregate``: terms and cardinality aggregations (query_key with use_terms_query,
  top_count_keys, new_term's fields…): an aggregatable field (keyword, numeric…);
- ``numeric``: metrics (metric_agg_key, sums): a number (or a date);
- ``exists``: searched (query_string, match, range, exists…) or read from the documents
  (include, compare_key, a query_key counted in Python): any type.

Aggregation fields come from the rule type's own searches, so whatever a type asks
the engine for (with its ``.keyword`` suffixes) is what is checked.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Iterator, Mapping

from logalert import ruletypes
from logalert.model import Window
from logalert.rules.lint import query_string
from logalert.rules.model import Rule

# From the loosest to the strictest: one field named twice keeps the strictest need.
NEEDS = ("exists", "exact", "aggregate", "numeric", "date")

EXACT = frozenset({"term", "terms", "terms_set"})
SEARCHED = frozenset({"match", "match_phrase", "match_phrase_prefix", "match_bool_prefix", "prefix",
                      "wildcard", "regexp", "fuzzy", "range"})
NOT_FIELDS = frozenset({"boost", "_name", "minimum_should_match", "case_insensitive", "rewrite", "flags",
                        "max_determinized_states"})
LEAVES = frozenset({"ids", "match_all", "match_none", "script", "more_like_this"})
AGGREGATIONS = {"terms": "aggregate", "cardinality": "aggregate", "value_count": "aggregate",
                "significant_terms": "aggregate", "rare_terms": "aggregate", "avg": "numeric", "sum": "numeric",
                "min": "numeric", "max": "numeric", "percentiles": "numeric", "stats": "numeric",
                "extended_stats": "numeric", "median_absolute_deviation": "numeric", "histogram": "numeric",
                "range": "numeric", "date_histogram": "date", "date_range": "date"}
NOT_AGGREGATIONS = frozenset({"filter", "filters", "top_hits", "sort", "script", "bucket_sort", "bucket_selector"})
READ_OPTIONS = ("query_key", "compare_key", "include", "aggregation_key")
KEY_OPTIONS = ("query_key", "compare_key", "cardinality_field", "metric_agg_key", "fields", "top_count_keys")


@dataclass(frozen=True)
class FieldUse:
    option: str  # "query_key", "filter[0].term.level", "filter[1].query.query_string.query"
    field: str
    need: str  # one of NEEDS
    path: tuple[Any, ...] = ()  # inside filter: (0, "term", "level"), for the line of a filter option


def rule_fields(rule: Rule, window: Window | None = None) -> list[FieldUse]:
    """Every field ``rule`` uses, each (option, field) once with its strictest need."""
    uses = [FieldUse("timestamp_field", rule.timestamp_field, "date")]
    for option in READ_OPTIONS:
        uses += [FieldUse(option, name, "exists") for name in _names(rule.get(option))]
    uses += filter_fields(list(rule.filters))
    if isinstance(rule.get("match_bucket_filter"), list):
        uses += filter_fields(rule.get("match_bucket_filter"), "match_bucket_filter")
    uses += _aggregated(rule, window)
    best: dict[tuple[str, str], FieldUse] = {}
    for use in uses:
        if not use.field or "*" in use.field or "?" in use.field or use.field.startswith("_"):
            continue  # patterns and metadata fields (_id, _index) are not mapped fields
        key = (use.option, use.field)
        if key not in best or NEEDS.index(use.need) > NEEDS.index(best[key].need):
            best[key] = use
    return list(best.values())


def source_field(name: str) -> str:
    """The field in ``_source`` that a ``.keyword``/``.raw`` sub-field indexes."""
    return re.sub(r"\.(keyword|raw)$", "", name)


def filter_fields(filters: list[Any], root: str = "filter") -> list[FieldUse]:
    """The fields of a filter list (ElastAlert's shapes and the query DSL, at any depth)."""
    return list(_walk(filters, (), root))


def _walk(node: Any, path: tuple[Any, ...], root: str) -> Iterator[FieldUse]:
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _walk(item, path + (i,), root)
        return
    if not isinstance(node, Mapping):
        return
    for key, body in node.items():
        here = path + (key,)
        if key in EXACT or key in SEARCHED:
            if isinstance(body, Mapping):
                need = "exact" if key in EXACT else "exists"
                yield from (FieldUse(_option(root, here + (f,)), str(f), need, here + (f,))
                            for f in body if f not in NOT_FIELDS)
        elif key == "exists":
            if isinstance(body, Mapping) and isinstance(body.get("field"), str):
                yield FieldUse(_option(root, here + ("field",)), body["field"], "exists", here + ("field",))
        elif key == "query_string":
            if isinstance(body, Mapping):
                yield from _query_string(body, here, root)
        elif key in ("simple_query_string", "multi_match"):
            if isinstance(body, Mapping):
                for name in _names(body.get("fields")):
                    yield FieldUse(_option(root, here + ("fields",)), name.split("^")[0], "exists", here + ("fields",))
        elif key not in LEAVES:
            yield from _walk(body, here, root)


def _query_string(body: Mapping[str, Any], path: tuple[Any, ...], root: str) -> Iterator[FieldUse]:
    text = body.get("query")
    if isinstance(text, str):
        for name in query_string.fields(text):
            yield FieldUse(_option(root, path + ("query",)), name, "exists", path + ("query",))
    for param in ("default_field", "fields"):
        for name in _names(body.get(param)):
            yield FieldUse(_option(root, path + (param,)), name.split("^")[0], "exists", path + (param,))


def _option(root: str, path: tuple[Any, ...]) -> str:
    return root + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)


def _names(value: Any) -> list[str]:
    """Field names in an option's value: a name, a list of names, nested lists (new_term)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [name for item in value for name in _names(item)]
    return []


def _aggregated(rule: Rule, window: Window | None) -> list[FieldUse]:
    """Fields the rule type aggregates on, from the searches it asks for."""
    if rule.type not in ruletypes.RULE_TYPES:
        return []
    end = window.end if window else dt.datetime.now(dt.timezone.utc)
    try:
        queries = ruletypes.get(rule.type)(rule).queries(window or Window(end - dt.timedelta(days=1), end))
    except Exception:  # noqa: BLE001 - a check must not fail where the run itself reports it
        return []
    uses = []
    for q in queries:
        for kind, name in _aggs(q.aggs or {}):
            if name != rule.timestamp_field:  # checked as the timestamp, with its own type rules
                uses.append(FieldUse(_owner(rule, name, q.option), name, AGGREGATIONS[kind]))
    return uses


def _aggs(node: Any) -> Iterator[tuple[str, str]]:
    if not isinstance(node, Mapping):
        return
    for key, value in node.items():
        if key in AGGREGATIONS and isinstance(value, Mapping) and isinstance(value.get("field"), str):
            yield key, value["field"]
        elif key not in NOT_AGGREGATIONS:
            yield from _aggs(value)


def _owner(rule: Rule, name: str, options: str | None) -> str:
    """The option that names ``name`` among those a query says it was built from."""
    candidates = [o.strip() for o in (options or "").split(",") if o.strip()]
    for option in candidates + list(KEY_OPTIONS):  # a count per query_key is built from query_key too
        if {name, source_field(name)} & set(_names(rule.get(option))):
            return option
    return candidates[0] if candidates else "type"
