"""The in-process engine as a Backend: the one raw call (``_call``) answers the REST
paths the Backend methods use, with the engine's JSON answers and error bodies, so
everything above — msearch batching, paging through a point in time, the runner, the
rule types — runs unchanged and cannot tell it from a cluster."""

from __future__ import annotations

import datetime as dt
import fnmatch
import itertools
import json
import threading
from typing import Any, Callable, Mapping
from urllib.parse import unquote

from logalert.engine.base import Backend, Refused
from logalert.engine.inprocess import dates
from logalert.engine.inprocess.errors import BadRequest
from logalert.engine.inprocess.search import Searcher
from logalert.engine.inprocess.store import Doc, Index, Store

# The engines whose behaviour the differential suite checks; where they differ (a regexp
# on a text field in query_string, percentiles) the evaluator follows the one asked for.
VERSIONS = {"opensearch": ("OpenSearch", "2.19.0"), "elasticsearch": ("Elasticsearch", "9.2.0")}


class InProcessBackend(Backend):
    """An engine in memory. ``clock`` is its ``now`` (date math such as ``now-1h``);
    ``semantics``: "opensearch" (2.x) or "elasticsearch" (8/9) where the two differ."""

    flavor = "in-process"
    pit_open_path = "_search/point_in_time"
    pit_id_key = "pit_id"
    tiebreaker = {"_id": "asc"}

    def __init__(self, clock: Callable[[], dt.datetime] | None = None, semantics: str = "opensearch"):
        if semantics not in VERSIONS:
            raise ValueError(f"semantics: opensearch or elasticsearch, not {semantics!r}")
        super().__init__({"name": "in-process", "cluster_name": "logalert-offline",
                          "version": {"number": VERSIONS[semantics][1], "distribution": "in-process"},
                          "tagline": "logalert's offline evaluator"})
        self.semantics = semantics
        self.store = Store()
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self._pits: dict[str, Searcher] = {}
        self._pit_ids = itertools.count(1)
        self._lock = threading.RLock()

    def describe(self) -> str:
        name, version = VERSIONS[self.semantics]
        return f"in-process evaluator ({name} {version} semantics)"

    def now_ms(self) -> int:
        return dates.to_ms(self.clock())

    def _close_pit(self, pit_id: str) -> None:
        self._call("DELETE", "/_search/point_in_time", body={"pit_id": [pit_id]})

    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              body: Any = None, ndjson: bool = False) -> Any:
        params = dict(params or {})
        parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
        if isinstance(body, (str, bytes)) and not ndjson:
            body = json.loads(body)
        try:
            with self._lock:
                answer = self._route(method, parts, params, body)
        except BadRequest as exc:
            raise Refused(f"{method} {path} refused (HTTP {exc.status})", status=exc.status, body=exc.body()) from None
        if params.get("filter_path"):
            answer = filter_path(answer, [p.strip().split(".") for p in str(params["filter_path"]).split(",")])
        return answer

    # --- routing -----------------------------------------------------------------------
    def _route(self, method: str, parts: list[str], params: dict[str, Any], body: Any) -> Any:
        if not parts:
            return dict(self._info)
        first, rest = parts[0], parts[1:]
        if first == "_msearch":
            return self._msearch(body)
        if first == "_bulk":
            return self._bulk(body, params)
        if first == "_resolve" and rest[:1] == ["index"]:
            names = [i.name for i in self.store.resolve(rest[1] if len(rest) > 1 else "*")]
            return {"indices": [{"name": n, "attributes": ["open"]} for n in names], "aliases": [], "data_streams": []}
        if first == "_search" and rest == ["point_in_time"] and method == "DELETE":
            for pit_id in (body or {}).get("pit_id") or []:
                self._pits.pop(pit_id, None)
            return {"pits": []}
        if first == "_search":
            pit = (body or {}).get("pit") or {}
            searcher = self._pits.get(pit.get("id", ""))
            if searcher is None:
                raise BadRequest("No search context found for id [pit]", "search_context_missing_exception", 404)
            answer = searcher.search({k: v for k, v in body.items() if k != "pit"})
            answer["pit_id"] = pit["id"]
            return answer
        ignore = str(params.get("ignore_unavailable", "false")) == "true"
        if not rest:
            return self._index_level(method, first, body)
        action = rest[0]
        if action == "_search" and rest[1:] == ["point_in_time"]:
            return self._open_pit(first, ignore)
        if action == "_search":
            return self._searcher(first, ignore).search(body)
        if action == "_count":
            return self._searcher(first, ignore).count(body)
        if action == "_refresh":
            for index in self._existing(first):
                index.refresh()
            return {"_shards": {"total": 1, "successful": 1, "failed": 0}}
        if action == "_mapping":
            return {i.name: {"mappings": i.mapping.json} for i in self._existing(first)}
        if action == "_doc":
            return self._doc(method, first, rest[1] if len(rest) > 1 else None, params, body)
        if action == "_mget":
            return self._mget(first, body)
        if action == "_delete_by_query":
            return self._delete_by_query(first, params, body)
        if action == "_field_caps":
            return self._field_caps(first, str(params.get("fields", "*")))
        if action == "_validate" and rest[1:] == ["query"]:
            return self._validate(first, body)
        raise BadRequest(f"no handler found for uri [/{'/'.join(parts)}] and method [{method}]",
                         "illegal_argument_exception", 405)

    def _existing(self, expression: str) -> list[Index]:
        found = self.store.resolve(expression, ignore_unavailable=False)
        if not found:
            raise BadRequest(f"no such index [{expression}]", "index_not_found_exception", 404)
        return found

    def _searcher(self, expression: str, ignore_unavailable: bool) -> Searcher:
        indices = self.store.resolve(expression, ignore_unavailable=ignore_unavailable)
        return Searcher(indices, {i.name: i.searchable() for i in indices}, self.now_ms(), self.semantics)

    def _open_pit(self, expression: str, ignore_unavailable: bool) -> dict[str, Any]:
        pit_id = f"pit-{next(self._pit_ids)}"
        self._pits[pit_id] = self._searcher(expression, ignore_unavailable)
        return {"pit_id": pit_id, "_shards": self._pits[pit_id].shards(), "creation_time": self.now_ms()}

    def _index_level(self, method: str, name: str, body: Any) -> Any:
        if method == "PUT":
            body = body or {}
            self.store.create(name, body.get("settings"), body.get("mappings"))
            return {"acknowledged": True, "shards_acknowledged": True, "index": name}
        if method == "DELETE":
            for index in self._existing(name):
                del self.store.indices[index.name]
            return {"acknowledged": True}
        if method in ("GET", "HEAD"):
            return {i.name: {"mappings": i.mapping.json, "settings": {"index": i.settings}} for i in self._existing(name)}
        raise BadRequest(f"no handler found for uri [/{name}] and method [{method}]", "illegal_argument_exception", 405)

    # --- searching -----------------------------------------------------------------------
    def _msearch(self, body: Any) -> dict[str, Any]:
        lines = [line for line in (body.decode() if isinstance(body, bytes) else str(body)).split("\n") if line.strip()]
        responses = []
        for header_line, body_line in zip(lines[0::2], lines[1::2]):
            header, search_body = json.loads(header_line), json.loads(body_line)
            try:
                searcher = self._searcher(str(header.get("index", "_all")), bool(header.get("ignore_unavailable")))
                responses.append({**searcher.search(search_body), "status": 200})
            except BadRequest as exc:
                responses.append(exc.body())
        return {"took": 0, "responses": responses}

    def _field_caps(self, expression: str, fields: str) -> dict[str, Any]:
        indices = self.store.resolve(expression)
        wanted = [f.strip() for f in fields.split(",") if f.strip()]
        out: dict[str, dict[str, Any]] = {}
        for index in indices:
            mapping = index.mapping
            named = {**{p: (f.type, f.index, f.doc_values and f.type != "text") for p, f in mapping.fields.items()},
                     **{p: ("object", False, False) for p in mapping.objects}}
            for path, (kind, searchable, aggregatable) in named.items():
                if any(fnmatch.fnmatchcase(path, w) for w in wanted):
                    out.setdefault(path, {})[kind] = {"type": kind, "searchable": searchable,
                                                      "aggregatable": aggregatable}
        return {"indices": [i.name for i in indices], "fields": out}

    def _validate(self, expression: str, body: Any) -> dict[str, Any]:
        searcher = self._searcher(expression, True)
        explanations = []
        for name in searcher.indices:
            try:
                Searcher([self.store.indices[name]], {}, self.now_ms(), self.semantics).matching(
                    (body or {}).get("query"))
                explanations.append({"index": name, "valid": True})
            except BadRequest as exc:
                explanations.append({"index": name, "valid": False, "error": f"{exc.type}: {exc.reason}"})
        return {"valid": all(e["valid"] for e in explanations), "explanations": explanations}

    # --- documents -----------------------------------------------------------------------
    def _doc(self, method: str, index_name: str, doc_id: str | None, params: dict[str, Any], body: Any) -> Any:
        if method == "GET":
            index = self._existing(index_name)[0]
            doc = index.docs.get(doc_id or "")
            if doc is None:
                raise BadRequest(f"[{doc_id}] not found", "not_found", 404)
            return self._got(doc)
        if method == "DELETE":
            index = self.store.indices.get(index_name)
            doc = index.remove(doc_id or "") if index is not None else None
            if index is None:
                raise BadRequest(f"no such index [{index_name}]", "index_not_found_exception", 404)
            if doc is None:
                raise BadRequest(f"[{doc_id}] not found", "not_found", 404)
            self._maybe_refresh(index, params)
            return {"_index": index_name, "_id": doc_id, "result": "deleted"}
        index = self.store.get_or_create(index_name)
        doc = index.put(doc_id or self.store.new_id(), dict(body or {}), self.store.next_seq(),
                        create=params.get("op_type") == "create")
        self._maybe_refresh(index, params)
        return {"_index": index_name, "_id": doc.id, "_version": doc.version,
                "result": "created" if doc.version == 1 else "updated", "_seq_no": doc.seq_no, "_primary_term": 1}

    @staticmethod
    def _maybe_refresh(index: Index, params: Mapping[str, Any]) -> None:
        if str(params.get("refresh", "false")) in ("true", "wait_for", ""):
            index.refresh()

    @staticmethod
    def _got(doc: Doc) -> dict[str, Any]:
        return {"_index": doc.index, "_id": doc.id, "_version": doc.version, "_seq_no": doc.seq_no,
                "_primary_term": doc.primary_term, "found": True, "_source": doc.source}

    def _mget(self, index_name: str, body: Any) -> dict[str, Any]:
        index = self._existing(index_name)[0]
        docs = []
        for doc_id in (body or {}).get("ids") or []:
            doc = index.docs.get(str(doc_id))
            docs.append(self._got(doc) if doc else {"_index": index_name, "_id": str(doc_id), "found": False})
        return {"docs": docs}

    def _bulk(self, body: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        lines = [line for line in (body.decode() if isinstance(body, bytes) else str(body)).split("\n") if line.strip()]
        items: list[dict[str, Any]] = []
        touched: dict[str, Index] = {}
        i = 0
        while i < len(lines):
            action, meta = next(iter(json.loads(lines[i]).items()))
            i += 1
            source = None
            if action in ("index", "create", "update"):
                source = json.loads(lines[i])
                i += 1
            items.append({action: self._bulk_item(action, meta, source, touched)})
        for index in touched.values():
            self._maybe_refresh(index, params)
        return {"took": 0, "errors": any("error" in next(iter(x.values())) for x in items), "items": items}

    def _bulk_item(self, action: str, meta: Mapping[str, Any], source: Any, touched: dict[str, Index]) -> dict[str, Any]:
        name = str(meta.get("_index", ""))
        doc_id = str(meta["_id"]) if meta.get("_id") is not None else None
        try:
            if action == "update":
                raise BadRequest("the in-process engine does not take bulk updates", "illegal_argument_exception")
            if action == "delete":
                index = self.store.indices.get(name)
                doc = index.docs.get(doc_id or "") if index else None
                if doc is None:
                    return {"_index": name, "_id": doc_id, "result": "not_found", "status": 404}
                if "if_seq_no" in meta and (meta["if_seq_no"] != doc.seq_no or meta.get("if_primary_term", 1) != 1):
                    raise BadRequest(f"[{doc_id}]: version conflict, required seqNo [{meta['if_seq_no']}], "
                                     f"current document has seqNo [{doc.seq_no}]", "version_conflict_engine_exception",
                                     409)
                index.remove(doc.id)
                touched[name] = index
                return {"_index": name, "_id": doc_id, "result": "deleted", "status": 200}
            index = self.store.get_or_create(name)
            touched[name] = index
            doc = index.put(doc_id or self.store.new_id(), dict(source or {}), self.store.next_seq(),
                            create=action == "create")
            return {"_index": name, "_id": doc.id, "_version": doc.version,
                    "result": "created" if doc.version == 1 else "updated", "_seq_no": doc.seq_no,
                    "_primary_term": 1, "status": 201 if doc.version == 1 else 200}
        except BadRequest as exc:
            return {"_index": name, "_id": doc_id, "status": exc.status,
                    "error": {"type": exc.type, "reason": exc.reason}}

    def _delete_by_query(self, expression: str, params: Mapping[str, Any], body: Any) -> dict[str, Any]:
        indices = self.store.resolve(expression, ignore_unavailable=str(params.get("ignore_unavailable")) == "true")
        searcher = Searcher(indices, {i.name: i.searchable() for i in indices}, self.now_ms(), self.semantics)
        found = searcher.matching((body or {}).get("query"))
        limit = params.get("max_docs")
        if limit is not None:
            found = found[: int(limit)]
        for doc in found:
            self.store.indices[doc.index].remove(doc.id)
        if str(params.get("refresh", "false")) == "true":
            for index in indices:
                index.refresh()
        return {"took": 0, "timed_out": False, "total": len(found), "deleted": len(found), "failures": []}


def filter_path(node: Any, paths: list[list[str]]) -> Any:
    """The parts of an answer that ``filter_path`` keeps (``a.b``, ``*``, ``**``; lists
    are walked through); {} when nothing is kept."""
    if isinstance(node, list):
        kept = [filter_path(item, paths) for item in node]
        return [k for k in kept if k not in (None, {}, [])]
    if not isinstance(node, dict):
        return node if any(not p for p in paths) else None
    if any(not p for p in paths):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        rest = []
        for path in paths:
            if path[0] == "**":
                rest += [path, path[1:]]
            elif fnmatch.fnmatchcase(key, path[0]):
                rest.append(path[1:])
        if not rest:
            continue
        kept = filter_path(value, rest)
        if kept is not None and (kept not in ({}, []) or any(not p for p in rest)):
            out[key] = kept
    return out


__all__ = ["InProcessBackend", "filter_path"]
