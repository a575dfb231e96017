"""The aggregations the rule types ask for, computed over the matched documents with the
engine's answer shapes: terms, date_histogram, histogram, range, date_range, filter,
filters, min, max, avg, sum, value_count, cardinality, percentiles and top_hits, nested
in any order. Scripts and other aggregations are refused (Unsupported).
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable, Mapping, Sequence

from logalert.engine.inprocess import dates, percentiles
from logalert.engine.inprocess.errors import BadRequest, Unsupported
from logalert.engine.inprocess.mapping import FLOATS, Field
from logalert.engine.inprocess.store import Doc

FIELDDATA = ("Text fields are not optimised for operations that require per-document field data like aggregations "
             "and sorting, so these operations are disabled by default. Please use a keyword field instead. "
             "Alternatively, set fielddata=true on [{0}] in order to load field data by uninverting the inverted "
             "index. Note that this can use significant memory.")


class Env:
    """What aggregations need besides the documents: each document's field mappings, a
    query compiler (filter, filters) and a hit renderer (top_hits)."""

    def __init__(self, leaf: Callable[[Doc, str], Field | None], compile_query: Callable[[Any, Doc], bool],
                 top_hits: Callable[[Mapping[str, Any], list[Doc]], dict[str, Any]], now_ms: int,
                 flavor: str = "opensearch"):
        self.flavor = flavor
        self.leaf = leaf
        self.matches = compile_query
        self.top_hits = top_hits
        self.now_ms = now_ms

    def field_type(self, docs: Sequence[Doc], path: str, agg: str) -> Field | None:
        """The one mapping of ``path`` among the documents' indices (None: unmapped)."""
        found: dict[str, Field] = {}
        for doc in docs:
            leaf = self.leaf(doc, path)
            if leaf is not None:
                found.setdefault(leaf.type, leaf)
        if len(found) > 1:
            raise Unsupported(f"a [{agg}] aggregation on [{path}], mapped differently in different indices")
        leaf = next(iter(found.values()), None)
        if leaf is not None and leaf.type == "text":
            raise BadRequest(FIELDDATA.format(path))
        if leaf is not None and not leaf.doc_values:
            raise BadRequest(f"Can't load fielddata on [{path}] because fielddata is unsupported on fields of type "
                             f"[{leaf.type}]. Use doc values instead.")
        return leaf


def run(spec: Mapping[str, Any], docs: list[Doc], env: Env) -> dict[str, Any]:
    """The ``aggregations`` answer for ``spec`` (a search's ``aggs``) over ``docs``."""
    out: dict[str, Any] = {}
    for name, body in (spec or {}).items():
        if not isinstance(body, Mapping):
            raise BadRequest(f"Expected [START_OBJECT] under [{name}]", "parsing_exception")
        kinds = [k for k in body if k not in ("aggs", "aggregations", "meta")]
        if len(kinds) != 1:
            raise BadRequest(f"Expected one aggregation type under [{name}], found {kinds}", "parsing_exception")
        kind = kinds[0]
        handler = _HANDLERS.get(kind)
        if handler is None:
            raise Unsupported(f"the aggregation type [{kind}]")
        params = body[kind]
        if not isinstance(params, Mapping):
            raise BadRequest(f"[{kind}] aggregation malformed", "parsing_exception")
        if "script" in params:
            raise Unsupported(f"scripts in aggregations ([{name}])")
        sub = body.get("aggs") or body.get("aggregations") or {}
        out[name] = handler(params, docs, env, sub)
    return out


def _with_sub(bucket: dict[str, Any], docs: list[Doc], env: Env, sub: Mapping[str, Any]) -> dict[str, Any]:
    bucket.update(run(sub, docs, env))
    return bucket


def _check(params: Mapping[str, Any], allowed: set[str], agg: str) -> None:
    unknown = set(params) - allowed
    if unknown:
        raise Unsupported(f"the parameter(s) {sorted(unknown)} of the [{agg}] aggregation")


def _values(doc: Doc, path: str, leaf: Field | None) -> list[Any]:
    if leaf is None:
        return []
    values = doc.values.get(path, [])
    if leaf.type == "boolean":
        return [1 if v else 0 for v in values]
    return list(values)


def _unique(values: list[Any]) -> list[Any]:
    return list(dict.fromkeys(values))


# --- bucket aggregations ---------------------------------------------------------------
def _key_fields(leaf: Field, key: Any) -> dict[str, Any]:
    if leaf.type == "date":
        return {"key": int(key), "key_as_string": dates.format_ms(key)}
    if leaf.type == "boolean":
        return {"key": int(key), "key_as_string": "true" if key else "false"}
    if leaf.type in FLOATS:
        return {"key": float(key)}
    return {"key": key}


def _terms(params: Mapping[str, Any], docs: list[Doc], env: Env, sub: Mapping[str, Any]) -> dict[str, Any]:
    _check(params, {"field", "size", "shard_size", "min_doc_count", "order", "show_term_doc_count_error",
                    "execution_hint", "collect_mode"}, "terms")
    path = params.get("field")
    size = int(params.get("size", 10))
    least = int(params.get("min_doc_count", 1))
    if least < 1:
        raise Unsupported("terms with min_doc_count 0")
    leaf = env.field_type(docs, path, "terms")
    groups: dict[Any, list[Doc]] = {}
    for doc in docs:
        for value in _unique(_values(doc, path, leaf)):
            groups.setdefault(value, []).append(doc)
    order = params.get("order") or {"_count": "desc"}
    orders = order if isinstance(order, list) else [order]
    ordering = [next(iter(o.items())) for o in orders]
    if any(k not in ("_count", "_key") for k, _ in ordering):
        raise Unsupported("terms ordered by a sub-aggregation")

    def sort_key(key: Any) -> tuple[Any, ...]:
        parts: list[Any] = []
        for what, direction in ordering + ([("_key", "asc")] if all(k != "_key" for k, _ in ordering) else []):
            value = len(groups[key]) if what == "_count" else (key.encode() if isinstance(key, str) else key)
            parts.append(_Desc(value) if str(direction).lower() == "desc" else value)
        return tuple(parts)
    keys = sorted((k for k in groups if len(groups[k]) >= least), key=sort_key)
    shown = keys[:size]
    other = sum(len(groups[k]) for k in keys[size:])
    buckets = [_with_sub({**_key_fields(leaf, k), "doc_count": len(groups[k])}, groups[k], env, sub)
               for k in shown] if leaf is not None else []
    return {"doc_count_error_upper_bound": 0, "sum_other_doc_count": other, "buckets": buckets}


class _Desc:
    """Reverses the order of a value inside a sort key."""

    def __init__(self, value: Any):
        self.value = value

    def __lt__(self, other: "_Desc") -> bool:
        return self.value > other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and self.value == other.value


_INTERVAL = re.compile(r"(\d+)(ms|s|m|h|d)")
_UNIT_MS = {"ms": 1, "s": 1000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}


def _histogram_buckets(params: Mapping[str, Any], docs: list[Doc], env: Env, sub: Mapping[str, Any],
                       interval: float, leaf: Field | None, path: str, *, date: bool) -> dict[str, Any]:
    least = int(params.get("min_doc_count", 0))
    groups: dict[float, list[Doc]] = {}
    for doc in docs:
        for value in _unique([math.floor(v / interval) * interval for v in _values(doc, path, leaf)]):
            groups.setdefault(value, []).append(doc)
    keys = sorted(groups)
    if least == 0 and keys:
        count = int(round((keys[-1] - keys[0]) / interval))
        keys = [keys[0] + i * interval for i in range(count + 1)]
    buckets = []
    for key in keys:
        members = groups.get(key, [])
        if len(members) < least:
            continue
        head = {"key_as_string": dates.format_ms(key), "key": int(key)} if date else {"key": float(key)}
        buckets.append(_with_sub({**head, "doc_count": len(members)}, members, env, sub))
    return {"buckets": buckets}


def _date_histogram(params: Mapping[str, Any], docs: list[Doc], env: Env, sub: Mapping[str, Any]) -> dict[str, Any]:
    _check(params, {"field", "fixed_interval", "interval", "calendar_interval", "min_doc_count", "time_zone"},
           "date_histogram")
    if params.get("time_zone") not in (None, "UTC", "Z", "+00:00"):
        raise Unsupported("date_histogram with a time_zone")
    calendar = {"minute": "1m", "hour": "1h", "day": "1d"}
    text = str(params.get("fixed_interval") or params.get("interval") or "")
    if params.get("calendar_interval"):
        text = calendar.get(params["calendar_interval"], params["calendar_interval"])
        if text not in ("1m", "1h", "1d"):
            raise Unsupported(f"the calendar_interval [{text}]")
    match = _INTERVAL.fullmatch(text)
    if not match:
        raise Unsupported(f"the date_histogram interval [{text}]")
    interval = int(match.group(1)) * _UNIT_MS[match.group(2)]
    path = params.get("field")
    leaf = env.field_type(docs, path, "date_histogram")
    return _histogram_buckets(params, docs, env, sub, interval, leaf, path, date=leaf is None or leaf.type == "date")


def _histogram(params: Mapping[str, Any], docs: list[Doc], env: Env, sub: Mapping[str, Any]) -> dict[str, Any]:
    _check(params, {"field", "interval", "min_doc_count"}, "histogram")
    path = params.get("field")
    leaf = env.field_type(docs, path, "histogram")
    return _histogram_buckets(params, docs, env, sub, float(params["interval"]), leaf, path,
                              date=leaf is not None and leaf.type == "date")


def _range_agg(params: Mapping[str, Any], docs: list[Doc], env: Env, sub: Mapping[str, Any],
               date: bool) -> dict[str, Any]:
    kind = "date_range" if date else "range"
    _check(params, {"field", "ranges", "keyed", "format"} if date else {"field", "ranges", "keyed"}, kind)
    if params.get("format"):
        raise Unsupported("date_range with a format")
    path = params.get("field")
    leaf = env.field_type(docs, path, kind)

    def bound(value: Any, round_up: bool) -> float | None:
        if value is None:
            return None
        if date and isinstance(value, str):
            return float(dates.math(value, env.now_ms, leaf.format if leaf else None, round_up=round_up))
        return float(value)
    ranges = []
    for spec in params.get("ranges") or []:
        lo, hi = bound(spec.get("from"), False), bound(spec.get("to"), False)
        ranges.append((spec.get("key"), lo, hi))
    ranges.sort(key=lambda r: (-math.inf if r[1] is None else r[1], math.inf if r[2] is None else r[2]))
    buckets = []
    for key, lo, hi in ranges:
        members = [d for d in docs if any((lo is None or v >= lo) and (hi is None or v < hi)
                                          for v in _values(d, path, leaf))]
        bucket: dict[str, Any] = {}
        if key is None:
            bucket["key"] = _range_key(lo, hi, date)
        if lo is not None:
            bucket["from"] = lo
            if date:
                bucket["from_as_string"] = dates.format_ms(lo)
        if hi is not None:
            bucket["to"] = hi
            if date:
                bucket["to_as_string"] = dates.format_ms(hi)
        bucket["doc_count"] = len(members)
        buckets.append((key, _with_sub(bucket, members, env, sub)))
    if params.get("keyed"):
        return {"buckets": {(k if k is not None else b["key"]): {x: y for x, y in b.items() if x != "key"}
                            for k, b in buckets}}
    return {"buckets": [({"key": k, **b} if k is not None else b) for k, b in buckets]}


def _range_key(lo: float | None, hi: float | None, date: bool) -> str:
    def text(v: float | None) -> str:
        return "*" if v is None else dates.format_ms(v) if date else repr(float(v))
    return f"{text(lo)}-{text(hi)}"


def _filter(params: Mapping[str, Any], docs: list[Doc], env: Env, sub: Mapping[str, Any]) -> dict[str, Any]:
    members = [d for d in docs if env.matches(params, d)]
    return _with_sub({"doc_count": len(members)}, members, env, sub)


def _filters(params: Mapping[str, Any], docs: list[Doc], env: Env, sub: Mapping[str, Any]) -> dict[str, Any]:
    _check(params, {"filters", "other_bucket_key", "other_bucket"}, "filters")
    filters = params.get("filters")
    if not isinstance(filters, Mapping):
        raise Unsupported("anonymous (list) filters")
    buckets: dict[str, Any] = {}
    matched: set[int] = set()
    for name, query in filters.items():
        members = [d for d in docs if env.matches(query, d)]
        matched.update(id(d) for d in members)
        buckets[name] = _with_sub({"doc_count": len(members)}, members, env, sub)
    other = params.get("other_bucket_key") or ("_other_" if params.get("other_bucket") else None)
    if other:
        rest = [d for d in docs if id(d) not in matched]
        buckets[other] = _with_sub({"doc_count": len(rest)}, rest, env, sub)
    return {"buckets": buckets}


# --- metrics -------------------------------------------------------------------------------
def _numbers(params: Mapping[str, Any], docs: list[Doc], env: Env, agg: str) -> tuple[list[float], Field | None]:
    _check(params, {"field", "percents", "keyed", "precision_threshold", "tdigest", "format"} if agg in (
        "percentiles", "cardinality") else {"field", "format"}, agg)
    if params.get("format"):
        raise Unsupported(f"[{agg}] with a format")
    path = params.get("field")
    leaf = env.field_type(docs, path, agg)
    if leaf is not None and leaf.type == "keyword" and agg not in ("cardinality", "value_count"):
        raise BadRequest(f"Field [{path}] of type [keyword] is not supported for aggregation [{agg}]")
    values = [v for d in docs for v in _values(d, path, leaf)]
    return values, leaf


def _as_string(leaf: Field | None, value: float | None) -> dict[str, Any]:
    if value is None or leaf is None:
        return {}
    if leaf.type == "date":
        return {"value_as_string": dates.format_ms(value)}
    if leaf.type == "boolean":
        return {"value_as_string": "true" if value else "false"}
    return {}


def _kahan(values: list[float]) -> float:
    """A compensated sum, as the engine adds doubles."""
    total, delta = 0.0, 0.0
    for value in values:
        value = float(value)
        if not math.isfinite(value):
            total += value
            continue
        corrected = value + delta
        updated = total + corrected
        delta = corrected - (updated - total)
        total = updated
    return total


def _metric(kind: str) -> Callable[..., dict[str, Any]]:
    def handler(params: Mapping[str, Any], docs: list[Doc], env: Env, sub: Mapping[str, Any]) -> dict[str, Any]:
        values, leaf = _numbers(params, docs, env, kind)
        if kind == "value_count":
            return {"value": len(values)}
        if kind == "cardinality":
            return {"value": len(set(values))}
        if kind == "sum":
            value: float | None = _kahan(values)
        elif not values:
            value = None
        elif kind == "min":
            value = float(min(values))
        elif kind == "max":
            value = float(max(values))
        else:
            value = _kahan(values) / len(values)
        return {"value": value, **_as_string(leaf, value)}
    return handler


def _percentiles(params: Mapping[str, Any], docs: list[Doc], env: Env, sub: Mapping[str, Any]) -> dict[str, Any]:
    values, leaf = _numbers(params, docs, env, "percentiles")
    if params.get("keyed", True) is False or params.get("tdigest"):
        raise Unsupported("percentiles with keyed: false or tdigest options")
    percents = [float(p) for p in params.get("percents") or (1, 5, 25, 50, 75, 95, 99)]
    out = {}
    for p in percents:
        value = percentiles.percentile([float(v) for v in values], p, env.flavor)
        out[str(p)] = value
        if leaf is not None and leaf.type == "date" and value is not None:
            out[f"{p}_as_string"] = dates.format_ms(value)
    return {"values": out}


def _top_hits(params: Mapping[str, Any], docs: list[Doc], env: Env, sub: Mapping[str, Any]) -> dict[str, Any]:
    if sub:
        raise BadRequest("Aggregator [top_hits] of type [top_hits] cannot accept sub-aggregations",
                         "aggregation_initialization_exception")
    return env.top_hits(params, docs)


_HANDLERS: dict[str, Callable[..., dict[str, Any]]] = {
    "terms": _terms,
    "date_histogram": _date_histogram,
    "histogram": _histogram,
    "range": lambda p, d, e, s: _range_agg(p, d, e, s, date=False),
    "date_range": lambda p, d, e, s: _range_agg(p, d, e, s, date=True),
    "filter": _filter,
    "filters": _filters,
    "min": _metric("min"),
    "max": _metric("max"),
    "avg": _metric("avg"),
    "sum": _metric("sum"),
    "value_count": _metric("value_count"),
    "cardinality": _metric("cardinality"),
    "percentiles": _percentiles,
    "top_hits": _top_hits,
}

__all__ = ["Env", "run"]
