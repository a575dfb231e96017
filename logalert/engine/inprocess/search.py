"""One search body over some indices, answered in the engine's JSON shapes: matching,
sorting (field values, ``_id``, ``_doc``; missing values last), ``search_after``,
``from``/``size``, ``_source`` filtering, ``track_total_hits``, ``terminate_after``
and aggregations. Without a sort, hits come in index order (the engine's order for
filters, whose scores are all equal)."""

from __future__ import annotations

import copy
import fnmatch
from typing import Any, Mapping, Sequence

from logalert.engine.inprocess import aggs
from logalert.engine.inprocess.aggs import FIELDDATA
from logalert.engine.inprocess.errors import BadRequest, Unsupported
from logalert.engine.inprocess.fieldops import Ctx, Pred
from logalert.engine.inprocess.mapping import FLOATS, Field
from logalert.engine.inprocess.queries import compile_query
from logalert.engine.inprocess.store import Doc, Index

MAX_WINDOW = 10_000
LONG_MAX, LONG_MIN = 2 ** 63 - 1, -(2 ** 63)
_BODY_KEYS = {"query", "size", "from", "sort", "_source", "track_total_hits", "aggs", "aggregations",
              "terminate_after", "search_after", "pit", "seq_no_primary_term", "version", "timeout", "track_scores"}


class Searcher:
    """Searches over a fixed set of indices and documents (live, or a point in time)."""

    def __init__(self, indices: Sequence[Index], docs: Mapping[str, list[Doc]], now_ms: int,
                 flavor: str = "opensearch"):
        self.indices = {i.name: i for i in indices}
        self.docs = docs
        self.now_ms = now_ms
        self.flavor = flavor
        self._compiled: dict[tuple[int, str], Pred] = {}

    def _pred(self, query: Any, index: str) -> Pred:
        key = (id(query), index)
        if key not in self._compiled:
            self._compiled[key] = compile_query(query, Ctx(self.indices[index].mapping, self.now_ms, self.flavor))
        return self._compiled[key]

    def matching(self, query: Any) -> list[Doc]:
        out: list[Doc] = []
        for name in self.indices:
            pred = self._pred(query, name)
            out.extend(d for d in self.docs.get(name, []) if pred(d))
        return out

    def count(self, body: Mapping[str, Any] | None) -> dict[str, Any]:
        unknown = set(body or {}) - {"query"}
        if unknown:
            raise Unsupported(f"the _count parameter(s) {sorted(unknown)}")
        return {"count": len(self.matching((body or {}).get("query"))), "_shards": self.shards()}

    def shards(self) -> dict[str, int]:
        n = len(self.indices)
        return {"total": n, "successful": n, "skipped": 0, "failed": 0}

    def search(self, body: Mapping[str, Any] | None) -> dict[str, Any]:
        body = dict(body or {})
        unknown = set(body) - _BODY_KEYS
        if unknown:
            raise Unsupported(f"the search parameter(s) {sorted(unknown)}")
        size, start = int(body.get("size", 10)), int(body.get("from", 0))
        if size + start > MAX_WINDOW:
            raise BadRequest(f"Result window is too large, from + size must be less than or equal to: [{MAX_WINDOW}] "
                             f"but was [{size + start}].")
        matched = self.matching(body.get("query"))
        terminated = False
        limit = body.get("terminate_after")
        if limit is not None and len(matched) > int(limit):
            matched, terminated = matched[: int(limit)], True
        sort = _sort_spec(body.get("sort"))
        ordered = self.ordered(matched, sort) if sort else [(d, ()) for d in matched]
        after = body.get("search_after")
        if after is not None:
            if not sort:
                raise BadRequest("Sort must contain at least one field.", "action_request_validation_exception")
            wanted = _cmp_key(sort, list(after))
            ordered = [(d, k) for d, k in ordered if _cmp_key(sort, list(k)) > wanted]
        page = ordered[start:start + size]
        hits = [self.hit(d, k, body, scored=not sort) for d, k in page]
        answer: dict[str, Any] = {"took": 0, "timed_out": False, "_shards": self.shards()}
        if terminated:
            answer["terminated_early"] = True
        hits_part: dict[str, Any] = {}
        tracked = body.get("track_total_hits", MAX_WINDOW)
        if tracked is not False:
            cap = len(matched) if tracked is True else int(tracked)
            hits_part["total"] = {"value": min(len(matched), cap), "relation": "eq" if len(matched) <= cap else "gte"}
        hits_part["max_score"] = None if sort or not hits else 1.0
        hits_part["hits"] = hits
        answer["hits"] = hits_part
        spec = body.get("aggs") or body.get("aggregations")
        if spec:
            env = aggs.Env(self._leaf, lambda q, d: self._pred(q, d.index)(d), self._top_hits, self.now_ms,
                           self.flavor)
            answer["aggregations"] = aggs.run(spec, matched, env)
        return answer

    def _leaf(self, doc: Doc, path: str) -> Field | None:
        return self.indices[doc.index].mapping.field(path)

    def _top_hits(self, params: Mapping[str, Any], docs: list[Doc]) -> dict[str, Any]:
        unknown = set(params) - {"size", "sort", "_source", "from"}
        if unknown:
            raise Unsupported(f"the top_hits parameter(s) {sorted(unknown)}")
        sort = _sort_spec(params.get("sort"))
        ordered = self.ordered(docs, sort) if sort else [(d, ()) for d in docs]
        start, size = int(params.get("from", 0)), int(params.get("size", 3))
        hits = [self.hit(d, k, params, scored=not sort) for d, k in ordered[start:start + size]]
        return {"hits": {"total": {"value": len(docs), "relation": "eq"}, "max_score": None if sort else 1.0,
                         "hits": hits}}

    # --- sorting -----------------------------------------------------------------------
    def ordered(self, docs: list[Doc], sort: list[tuple[str, str, str | None]]) -> list[tuple[Doc, tuple[Any, ...]]]:
        for name, _, unmapped in sort:
            if name in ("_doc", "_id", "_shard_doc", "_score"):
                continue
            leaves = [i.mapping.field(name) for i in self.indices.values()]
            if not any(leaves) and unmapped is None and self.indices:
                raise BadRequest(f"No mapping found for [{name}] in order to sort on", "query_shard_exception")
            for leaf in leaves:
                if leaf is not None and leaf.type == "text":
                    raise BadRequest(FIELDDATA.format(name))
        position = {id(d): i for i, d in enumerate(docs)}
        keyed = [(d, tuple(self._sort_value(d, name, order, unmapped, position) for name, order, unmapped in sort))
                 for d in docs]
        keyed.sort(key=lambda item: _cmp_key(sort, list(item[1])))
        return keyed

    def _sort_value(self, doc: Doc, name: str, order: str, unmapped: str | None, position: dict[int, int]) -> Any:
        if name == "_id":
            return doc.id
        if name in ("_doc", "_shard_doc"):
            return position[id(doc)]
        if name == "_score":
            return 1.0
        leaf = self._leaf(doc, name)
        kind = leaf.type if leaf is not None else unmapped or "keyword"
        values = list(doc.values.get(name, [])) if leaf is not None else []
        if kind == "boolean":
            values = [1 if v else 0 for v in values]
        if values:
            value = min(values) if order == "asc" else max(values)
            return float(value) if kind in FLOATS else value
        if kind in ("keyword", "text"):
            return None
        if kind in FLOATS:
            return float("inf") if order == "asc" else float("-inf")
        return LONG_MAX if order == "asc" else LONG_MIN

    # --- hits --------------------------------------------------------------------------
    def hit(self, doc: Doc, sort_values: tuple[Any, ...], body: Mapping[str, Any], *, scored: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"_index": doc.index, "_id": doc.id}
        if body.get("version"):
            out["_version"] = doc.version
        if body.get("seq_no_primary_term"):
            out["_seq_no"], out["_primary_term"] = doc.seq_no, doc.primary_term
        out["_score"] = 1.0 if scored else None
        source = filter_source(doc.source, body.get("_source", True))
        if source is not None:
            out["_source"] = copy.deepcopy(source)  # like a fresh answer: callers may change it
        if not scored:
            out["sort"] = list(sort_values)
        return out


def _sort_spec(raw: Any) -> list[tuple[str, str, str | None]]:
    """``[(field, "asc"|"desc", unmapped_type)]`` from the forms a sort may take."""
    if raw is None:
        return []
    items = raw if isinstance(raw, list) else [raw]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append((item, "desc" if item == "_score" else "asc", None))
            continue
        if not isinstance(item, Mapping) or len(item) != 1:
            raise BadRequest(f"malformed sort [{item}]", "parsing_exception")
        name, spec = next(iter(item.items()))
        if isinstance(spec, str):
            out.append((name, spec.lower(), None))
            continue
        unknown = set(spec) - {"order", "unmapped_type", "format", "numeric_type"}
        if unknown:
            raise Unsupported(f"the sort option(s) {sorted(unknown)}")
        out.append((name, str(spec.get("order", "desc" if name == "_score" else "asc")).lower(),
                    spec.get("unmapped_type")))
    return out


class _Key:
    """One sort value in an order: missing values (None) last either way."""

    def __init__(self, value: Any, descending: bool):
        self.value = value.encode() if isinstance(value, str) else value
        self.descending = descending

    def __lt__(self, other: "_Key") -> bool:
        if self.value is None or other.value is None:
            return self.value is not None and other.value is None
        if self.descending:
            return self.value > other.value
        return self.value < other.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Key) and self.value == other.value

    def __gt__(self, other: "_Key") -> bool:
        return other < self


def _cmp_key(sort: list[tuple[str, str, str | None]], values: list[Any]) -> tuple[_Key, ...]:
    return tuple(_Key(v, order == "desc") for (_, order, _), v in zip(sort, values))


def filter_source(source: Mapping[str, Any], spec: Any) -> dict[str, Any] | None:
    """``_source`` as a search returns it: everything, nothing, or the fields asked for
    (dotted names and wildcards, in nested or already-dotted documents)."""
    if spec is True or spec is None:
        return dict(source)
    if spec is False:
        return None
    if isinstance(spec, (str, list)):
        includes, excludes = ([spec] if isinstance(spec, str) else list(spec)), []
    elif isinstance(spec, Mapping):
        includes = spec.get("includes", spec.get("include")) or []
        excludes = spec.get("excludes", spec.get("exclude")) or []
        includes = [includes] if isinstance(includes, str) else list(includes)
        excludes = [excludes] if isinstance(excludes, str) else list(excludes)
    else:
        raise BadRequest(f"malformed _source [{spec}]", "parsing_exception")
    return _filter(source, "", includes, excludes)


def _wanted(path: str, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(path, p) or fnmatch.fnmatchcase(path, p + ".*") for p in patterns)


def _could_hold(path: str, patterns: list[str]) -> bool:
    """Whether something under object ``path`` may still be included."""
    return any(p.startswith(path + ".") or fnmatch.fnmatchcase(path, p.split(".")[0]) or "*" in p for p in patterns)


def _filter(node: Mapping[str, Any], prefix: str, includes: list[str], excludes: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in node.items():
        path = prefix + key
        if excludes and _wanted(path, excludes):
            continue
        if not includes or _wanted(path, includes):
            if isinstance(value, Mapping) and excludes:
                out[key] = _filter(value, path + ".", [], excludes)
            else:
                out[key] = value
            continue
        if isinstance(value, Mapping) and _could_hold(path, includes):
            inner = _filter(value, path + ".", includes, excludes)
            if inner:
                out[key] = inner
        elif isinstance(value, list) and any(isinstance(v, Mapping) for v in value) and _could_hold(path, includes):
            inner_list = [_filter(v, path + ".", includes, excludes) for v in value if isinstance(v, Mapping)]
            inner_list = [v for v in inner_list if v]
            if inner_list:
                out[key] = inner_list
    return out

