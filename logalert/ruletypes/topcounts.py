"""``top_count_keys``: the most common values of some fields next to each match.

One terms aggregation per field over the last ``timeframe`` (or ``buffer_time``) of the
run's window, split per query_key value when the rule has one. As in ElastAlert,
``raw_count_keys`` (default true) aggregates ``FIELD.keyword`` for fields that are not
already a ``.keyword``/``.raw`` sub-field; set it to false for keyword or numeric fields.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Sequence

from logalert.model import Match, Query, Window
from logalert.rules.model import Rule
from logalert.ruletypes.common import by_key, walk_keys


def raw_field(rule: Rule, name: str) -> str:
    if rule.get("raw_count_keys") is False or name.endswith((".keyword", ".raw")):
        return name
    return name + ".keyword"


def queries(rule: Rule, window: Window, span: dt.timedelta) -> list[Query]:
    keys = rule.get("top_count_keys")
    if not keys:
        return []
    size = int(rule.get("top_count_number"))
    inner = {f"top{i}": {"terms": {"field": raw_field(rule, k), "size": size}} for i, k in enumerate(keys)}
    aggs = by_key([raw_field(rule, f) for f in rule.query_key], inner, size=max(100, int(rule.get("terms_size") or 0)))
    return [Query("aggs", aggs=aggs, start=window.end - span, option="top_count_keys")]


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def attach(rule: Rule, matches: Sequence[Match], answers: Sequence[Any]) -> list[Match]:
    """Each match with ``top_events_<field>: {value: count}`` in its fields."""
    if not answers or not matches:
        return list(matches)
    keys = rule.get("top_count_keys") or []
    per_key = {tuple(_text(v) for v in key): leaf for key, leaf in walk_keys(answers[0], len(rule.query_key))}
    out = []
    for match in matches:
        leaf = per_key.get(tuple(_text(v) for v in match.key), {})
        top = {f"top_events_{name}": {b.get("key_as_string", b["key"]): b["doc_count"]
                                      for b in (leaf.get(f"top{i}") or {}).get("buckets", [])}
               for i, name in enumerate(keys)}
        out.append(dataclasses.replace(match, fields={**match.fields, **top}))
    return out
