"""Unit-test support for rule types: rule text, crafted documents, and a small
in-memory answerer for the queries a type asks (hits, count, and the handful of
aggregations the types use), so type logic is tested without a network. The real
engine's answers are checked in tests/integration/test_ruletypes.py."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Iterable, Mapping, Sequence

import yaml

from logalert.fields import lookup
from logalert.model import Event, Query, Window
from logalert.timeutil import iso, parse_doc_time

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def minutes(n: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def rule_text(type_name: str, **options: Any) -> str:
    base = {"name": f"{type_name} test", "type": type_name, "index": "logs-*", "alert": ["stdout"]}
    return yaml.safe_dump({**base, **options}, sort_keys=False)


def doc(at: dt.datetime, id: str | None = None, **fields: Any) -> dict[str, Any]:
    source = {"@timestamp": iso(at)}
    for key, value in fields.items():
        node = source
        parts = key.split("__")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    source["_id"] = id or f"d{abs(hash((iso(at), repr(sorted(fields.items()))))) % 10**8}"
    return source


class FakeEngine:
    """Answers a rule type's queries from a list of documents, like the runner would:
    hits are deduplicated across calls (``seen``, which a test may preset to play a
    restart with a persisted state) unless ``seen_too``; counts and aggregations never."""

    def __init__(self, rule, docs: Iterable[Mapping[str, Any]] = ()):
        self.rule = rule
        self.docs: list[dict[str, Any]] = []
        self.seen: set[str] = set()
        self.add(docs)

    def add(self, docs: Iterable[Mapping[str, Any]]) -> None:
        for d in docs:
            d = dict(d)
            d.setdefault("_id", f"auto{len(self.docs)}")
            self.docs.append(d)

    def _time(self, d: Mapping[str, Any]) -> dt.datetime | None:
        r = self.rule
        return parse_doc_time(lookup(d, r.timestamp_field), r.timestamp_type, r.timestamp_format)

    def _in(self, start: dt.datetime, end: dt.datetime) -> list[dict[str, Any]]:
        return sorted((d for d in self.docs if (t := self._time(d)) is not None and start <= t < end),
                      key=lambda d: (self._time(d), d["_id"]))

    def answer(self, q: Query, window: Window) -> Any:
        docs = self._in(q.start or window.start, q.end or window.end)
        if q.kind == "count":
            return len(docs)
        if q.kind == "aggs":
            return aggregate(q.aggs or {}, docs, self)
        out = []
        for d in docs:
            if d["_id"] in self.seen and not q.seen_too:
                continue
            source = {k: v for k, v in d.items() if k != "_id"}
            out.append(Event(self._time(d), source, "logs-1", d["_id"]))
        return out

    def run(self, rtype, window: Window) -> list:
        queries = rtype.queries(window)
        assert queries == rtype.queries(window), "queries() must not change the type's memory"
        answers = [self.answer(q, window) for q in queries]
        for q, a in zip(queries, answers):
            if q.kind == "hits":
                self.seen.update(e.id for e in a)
        return rtype.evaluate(window, answers)


# --- the aggregations the rule types use --------------------------------------------
def _values(d: Mapping[str, Any], field: str) -> list[Any]:
    for suffix in (".keyword", ".raw"):
        if field.endswith(suffix) and lookup(d, field) is None:
            field = field[: -len(suffix)]
    value = lookup(d, field)
    if value is None:
        return []
    return list(value) if isinstance(value, list) else [value]


def _numbers(docs: Sequence[Mapping[str, Any]], field: str) -> list[float]:
    return [float(v) for d in docs for v in _values(d, field) if isinstance(v, (int, float))]


def _ms(engine: FakeEngine, d: Mapping[str, Any]) -> float:
    return engine._time(d).timestamp() * 1000


def _field_time(engine: FakeEngine, d: Mapping[str, Any]) -> float:
    """The timestamp as the engine compares it: ms for dates, the field's unit for unix."""
    r = engine.rule
    if r.timestamp_type in ("unix", "unix_ms"):
        return float(lookup(d, r.timestamp_field))
    return _ms(engine, d)


def aggregate(aggs: Mapping[str, Any], docs: Sequence[Mapping[str, Any]], engine: FakeEngine) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, spec in aggs.items():
        sub = spec.get("aggs") or {}
        kind, body = next((k, v) for k, v in spec.items() if k != "aggs")
        out[name] = KINDS[kind](body, docs, sub, engine)
    return out


def _bucket(key: Any, docs: Sequence[Mapping[str, Any]], sub: Mapping[str, Any], engine: FakeEngine, **extra: Any) -> dict:
    return {"key": key, "doc_count": len(docs), **extra, **aggregate(sub, docs, engine)}


def _terms(body, docs, sub, engine):
    groups: dict[Any, list] = {}
    for d in docs:
        for v in _values(d, body["field"]):
            groups.setdefault(v, []).append(d)
    ordered = sorted(groups.items(), key=lambda kv: (-len(kv[1]), str(kv[0])))[: body.get("size", 10)]
    return {"buckets": [_bucket(k, g, sub, engine) for k, g in ordered]}


def _histogram(body, docs, sub, engine):
    if "fixed_interval" in body:
        size = float(body["fixed_interval"].rstrip("ms"))
        position = lambda d: _ms(engine, d)  # noqa: E731
    else:
        size = float(body["interval"])
        position = lambda d: float(lookup(d, body["field"]))  # noqa: E731
    groups: dict[float, list] = {}
    for d in docs:
        groups.setdefault(math.floor(position(d) / size) * size, []).append(d)
    return {"buckets": [_bucket(k, groups[k], sub, engine) for k in sorted(groups)]}


def _ranges(body, docs, sub, engine):
    buckets = {}
    for r in body["ranges"]:
        inside = [d for d in docs if r["from"] <= _field_time(engine, d) < r["to"]]
        buckets[r["key"]] = _bucket(None, inside, sub, engine, **{"from": r["from"], "to": r["to"]})
    return {"buckets": buckets}


def _top_hits(body, docs, sub, engine):
    ordered = sorted(docs, key=lambda d: _ms(engine, d), reverse=True)[: body.get("size", 3)]
    return {"hits": {"hits": [{"_index": "logs-1", "_id": d["_id"], "_source": {k: v for k, v in d.items() if k != "_id"}}
                              for d in ordered]}}


def _metric(fn, empty=None):
    def run(body, docs, sub, engine):
        if body.get("field") == engine.rule.timestamp_field:
            values = [_field_time(engine, d) for d in docs]
        else:
            values = _numbers(docs, body["field"])
        return {"value": fn(values) if values else empty}
    return run


def _cardinality(body, docs, sub, engine):
    return {"value": len({repr(v) for d in docs for v in _values(d, body["field"])})}


def _value_count(body, docs, sub, engine):
    return {"value": sum(len(_values(d, body["field"])) for d in docs)}


def _percentiles(body, docs, sub, engine):
    values = sorted(_numbers(docs, body["field"]))
    out = {}
    for p in body["percents"]:
        out[str(float(p))] = values[max(0, math.ceil(p / 100 * len(values)) - 1)] if values else None
    return {"values": out}


def matches_filter(clause: Mapping[str, Any], d: Mapping[str, Any]) -> bool:
    kind, body = next(iter(clause.items()))
    if kind == "bool":
        return all(matches_filter(c, d) for c in body.get("filter", []) + body.get("must", [])) and \
            not any(matches_filter(c, d) for c in body.get("must_not", []))
    if kind == "term":
        field, value = next(iter(body.items()))
        value = value["value"] if isinstance(value, Mapping) else value
        return value in _values(d, field)
    if kind == "terms":
        field, values = next(iter(body.items()))
        return any(v in values for v in _values(d, field))
    if kind == "range":
        field, bounds = next(iter(body.items()))
        vals = [v for v in _values(d, field) if isinstance(v, (int, float))]
        return any((("gte" not in bounds or v >= bounds["gte"]) and ("gt" not in bounds or v > bounds["gt"])
                    and ("lt" not in bounds or v < bounds["lt"]) and ("lte" not in bounds or v <= bounds["lte"]))
                   for v in vals)
    if kind == "match_all":
        return True
    raise NotImplementedError(kind)


def _filters(body, docs, sub, engine):
    buckets = {}
    taken = set()
    for name, clause in body["filters"].items():
        inside = [d for d in docs if matches_filter(clause, d)]
        taken.update(id(d) for d in inside)
        buckets[name] = {"doc_count": len(inside), **aggregate(sub, inside, engine)}
    if body.get("other_bucket_key"):
        rest = [d for d in docs if id(d) not in taken]
        buckets[body["other_bucket_key"]] = {"doc_count": len(rest), **aggregate(sub, rest, engine)}
    return {"buckets": buckets}


def _filter(body, docs, sub, engine):
    inside = [d for d in docs if matches_filter(body, d)]
    return {"doc_count": len(inside), **aggregate(sub, inside, engine)}


KINDS = {
    "terms": _terms, "date_histogram": _histogram, "histogram": _histogram, "date_range": _ranges, "range": _ranges,
    "top_hits": _top_hits, "sum": _metric(sum, 0.0), "min": _metric(min), "max": _metric(max),
    "avg": _metric(lambda v: sum(v) / len(v)),
    "cardinality": _cardinality, "value_count": _value_count, "percentiles": _percentiles, "filters": _filters,
    "filter": _filter,
}
