"""The search-engine interface every other stage uses, and the shared logic on top of
one raw call per engine flavour (OpenSearch via opensearch-py, Elasticsearch via its
official client). Engine errors become EngineError carrying the engine's own reason;
answers are read into the typed values of ``logalert.engine.results``, so no caller
outside this package sees the engine's JSON shapes or its URL paths."""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from typing import Any, Iterable, Iterator, Mapping, Sequence
from urllib.parse import quote

from logalert.engine.cluster import ClusterInfo
from logalert.engine.results import BulkResult, Hit, SearchResult, check_shards, engine_reason, total_of
from logalert.errors import EngineError

__all__ = ["Backend", "BulkResult", "Hit", "Refused", "SearchResult", "check_shards", "engine_reason",
           "total_of"]

log = logging.getLogger(__name__)

PIT_KEEP_ALIVE = "2m"
# What _msearch answers carry back: per search its hits' _index, _id and _source, the
# total, the aggregations, shard failures and errors (not _score, sort, took…: less to
# send and parse). Every answer keeps "status", so none is dropped from the list.
MSEARCH_FIELDS = ",".join("responses." + f for f in (
    "status", "error", "_shards", "hits.total", "hits.hits._index", "hits.hits._id", "hits.hits._source",
    "hits.hits.fields", "aggregations"))  # fields: include_fields


class Refused(EngineError):
    """The engine answered an HTTP error. ``status`` and ``error_type`` (e.g.
    ``index_not_found_exception``) let the methods below tell "not there" and "already
    there" from real failures without matching message text."""

    def __init__(self, message: str, *, status: int, body: Any, fallback: str | None = None):
        super().__init__(message, reason=engine_reason(body) or fallback)
        self.status = status
        error = body.get("error") if isinstance(body, Mapping) else None
        self.error_type = str(error.get("type")) if isinstance(error, Mapping) and error.get("type") else None

    @property
    def not_found(self) -> bool:
        return self.status == 404


class Backend(ClusterInfo, ABC):
    """One engine connection. Thread-safe: the underlying clients pool connections."""

    flavor: str = "?"
    pit_open_path: str  # relative to the index: where a point in time is opened
    pit_id_key: str  # the key of the id in that answer
    # search_after needs a unique sort; Elasticsearch has _shard_doc under a point in time,
    # OpenSearch 2.x does not (and still allows sorting on _id).
    tiebreaker: Mapping[str, str] = {"_shard_doc": "asc"}
    _has_delete_by_query = True  # False once the engine said it has no such handler

    def __init__(self, info: Mapping[str, Any]):
        self._info = dict(info)

    @property
    def version(self) -> str:
        return str(self._info.get("version", {}).get("number", "?"))

    @property
    def major(self) -> int:
        try:
            return int(self.version.split(".")[0])
        except ValueError:
            return 0

    def describe(self) -> str:
        return f"{self.flavor} {self.version}"

    @abstractmethod
    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              body: Any = None, ndjson: bool = False) -> Any:
        """One HTTP call; raises EngineError (unreachable) or Refused (an HTTP error)."""

    @abstractmethod
    def _close_pit(self, pit_id: str) -> None:
        """Release a point in time (the request shape differs per flavour)."""

    def close(self) -> None:  # pragma: no cover - trivial
        pass

    # --- searching -----------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return dict(self._call("GET", "/"))

    def search(self, index: str, body: Mapping[str, Any], *, ignore_unavailable: bool = True) -> SearchResult:
        params = {"ignore_unavailable": "true"} if ignore_unavailable else None
        response = self._call("POST", f"/{_path(index)}/_search", params=params, body=body)
        check_shards(response)
        return SearchResult.from_raw(response)

    def count(self, index: str, body: Mapping[str, Any]) -> int:
        response = self._call("POST", f"/{_path(index)}/_count", params={"ignore_unavailable": "true"}, body=body)
        check_shards(response)
        return int(response["count"])

    def msearch(self, searches: Sequence[tuple[str, Mapping[str, Any]]]) -> list[SearchResult | EngineError]:
        """Many searches in one request; each failed sub-search is returned as its own
        EngineError so one rule's bad query never fails the others."""
        if not searches:
            return []
        lines = []
        for index, body in searches:
            lines.append(json.dumps({"index": index, "ignore_unavailable": True}))
            lines.append(json.dumps(body))
        response = self._call("POST", "/_msearch", params={"filter_path": MSEARCH_FIELDS},
                              body="\n".join(lines) + "\n", ndjson=True)
        out: list[SearchResult | EngineError] = []
        for item in response.get("responses", []):
            if "error" in item:
                out.append(EngineError("search refused", reason=engine_reason(item)))
                continue
            try:
                check_shards(item)
            except EngineError as exc:
                out.append(exc)
                continue
            out.append(SearchResult.from_raw(item))
        return out

    def search_all(self, index: str, body: Mapping[str, Any], page_size: int, *,
                   paged: bool = False) -> Iterator[Hit]:
        """Every hit of ``body`` in sort order. One request when it fits in a page;
        otherwise a point-in-time snapshot paged with search_after, so documents
        indexed meanwhile neither shift pages nor get lost or repeated. ``paged``: the
        caller knows there is more than a page (its search of ``page_size`` hits came
        back full), so paging starts straight away."""
        if not paged:
            first = self.search(index, dict(body, size=page_size))
            if len(first.hits) < page_size:
                yield from first.hits
                return
        yield from self._paged(index, body, page_size)

    def _paged(self, index: str, body: Mapping[str, Any], page_size: int) -> Iterator[Hit]:
        opened = self._call("POST", f"/{_path(index)}/{self.pit_open_path}",
                            params={"keep_alive": PIT_KEEP_ALIVE, "ignore_unavailable": "true"})
        pit_id = opened[self.pit_id_key]
        try:
            after: list[Any] | None = None
            sort = list(body.get("sort") or []) + [dict(self.tiebreaker)]
            while True:
                page = dict(body, size=page_size, sort=sort, pit={"id": pit_id, "keep_alive": PIT_KEEP_ALIVE})
                page.pop("track_total_hits", None)
                if after is not None:
                    page["search_after"] = after
                response = self._call("POST", "/_search", body=page)
                check_shards(response)
                pit_id = response.get("pit_id", pit_id)
                hits = SearchResult.from_raw(response).hits
                yield from hits
                if len(hits) < page_size:
                    return
                after = list(hits[-1].sort)
        finally:
            try:
                self._close_pit(pit_id)
            except EngineError as exc:  # the PIT expires on its own; not worth failing the run
                log.debug("closing point in time failed: %s", exc)

    # --- documents -----------------------------------------------------------------
    def get(self, index: str, id: str) -> Hit | None:
        """One document, real-time (no refresh needed); None when it or its index is missing."""
        try:
            response = self._call("GET", f"/{_path(index)}/_doc/{_path(id)}")
        except Refused as exc:
            if exc.not_found:
                return None
            raise
        return Hit.from_raw(response) if response.get("found") else None

    def mget(self, index: str, ids: Sequence[str]) -> list[Hit | None]:
        """Many documents by id in one real-time request, in the order of ``ids``
        (None for each one missing)."""
        if not ids:
            return []
        try:
            response = self._call("POST", f"/{_path(index)}/_mget", body={"ids": list(ids)})
        except Refused as exc:
            if exc.not_found:
                return [None] * len(ids)
            raise
        out: list[Hit | None] = []
        for doc in response.get("docs", []):
            if "error" in doc:
                error = doc["error"]
                if isinstance(error, Mapping) and error.get("type") == "index_not_found_exception":
                    out.append(None)
                    continue
                raise EngineError(f"multi-get from {index} refused", reason=engine_reason(doc))
            out.append(Hit.from_raw(doc) if doc.get("found") else None)
        return out

    def index(self, index: str, doc: Mapping[str, Any], *, id: str | None = None,
              refresh: bool = False, op_type: str | None = None) -> str:
        """Store one document (replacing one with the same id); returns its id."""
        params: dict[str, str] = {}
        if refresh:
            params["refresh"] = "wait_for"
        if op_type:
            params["op_type"] = op_type
        path = f"/{_path(index)}/_doc" + (f"/{_path(id)}" if id else "")
        response = self._call("PUT" if id else "POST", path, params=params, body=doc)
        return str(response["_id"])

    def bulk(self, index: str, docs: Iterable[tuple[str | None, Mapping[str, Any]]], *,
             refresh: bool = False) -> BulkResult:
        """Store many documents ((id or None, document) pairs) in one request. A refused
        document does not fail the others: the result says which ones were refused."""
        lines = []
        for id_, doc in docs:
            action: dict[str, Any] = {"_index": index}
            if id_ is not None:
                action["_id"] = id_
            lines.append(json.dumps({"index": action}))
            lines.append(json.dumps(doc, default=str))
        if not lines:
            return BulkResult(())
        params = {"refresh": "wait_for"} if refresh else None
        response = self._call("POST", "/_bulk", params=params, body="\n".join(lines) + "\n", ndjson=True)
        return BulkResult.from_raw(response)

    def delete(self, index: str, id: str, *, refresh: bool = False) -> bool:
        """Remove one document; False when it (or its index) was not there."""
        params = {"refresh": "wait_for"} if refresh else None
        try:
            self._call("DELETE", f"/{_path(index)}/_doc/{_path(id)}", params=params)
        except Refused as exc:
            if exc.not_found:
                return False
            raise
        return True

    def delete_by_query(self, index: str, query: Mapping[str, Any], *, batch_size: int = 1000,
                        max_docs: int | None = None, refresh: bool = True) -> int:
        """Remove the documents matching ``query``, ``batch_size`` at a time (at most
        ``max_docs``); returns how many were deleted. A document changed between being
        found and being deleted is left alone (a version conflict, not an error)."""
        if not self._has_delete_by_query:
            return self._delete_found(index, query, batch_size, max_docs, refresh)
        params: dict[str, str] = {"conflicts": "proceed", "scroll_size": str(batch_size),
                                  "ignore_unavailable": "true"}
        if refresh:
            params["refresh"] = "true"
        if max_docs is not None:
            params["max_docs"] = str(max_docs)
        try:
            response = self._call("POST", f"/{_path(index)}/_delete_by_query", params=params,
                                  body={"query": dict(query)})
        except Refused as exc:
            if exc.not_found:
                return 0
            if exc.status in (400, 404, 405) and (exc.reason or "").startswith("no handler found"):
                # An engine without the reindex module (e.g. an embedded node): same result,
                # found and deleted from here.
                self._has_delete_by_query = False
                return self._delete_found(index, query, batch_size, max_docs, refresh)
            raise
        failures = response.get("failures") or []
        if failures:
            first = failures[0] if isinstance(failures[0], Mapping) else {}
            raise EngineError(f"deleting by query in {index}: {len(failures)} failure(s) after "
                              f"{response.get('deleted', 0)} deleted",
                              reason=engine_reason({"error": first.get("cause", first)}))
        return int(response.get("deleted") or 0)

    def _delete_found(self, index: str, query: Mapping[str, Any], batch_size: int, max_docs: int | None,
                      refresh: bool) -> int:
        """delete_by_query without the engine's handler: search a batch of ids (with their
        versions), bulk-delete exactly those versions, repeat."""
        deleted = 0
        changed: list[str] = []  # ids updated meanwhile: left alone, and not searched again
        while max_docs is None or deleted < max_docs:
            size = batch_size if max_docs is None else min(batch_size, max_docs - deleted)
            try:
                self.refresh(index)  # deleted documents stay searchable until a refresh
            except Refused as exc:
                if exc.not_found:
                    return 0
                raise
            where: dict[str, Any] = {"bool": {"filter": [dict(query)]}}
            if changed:
                where["bool"]["must_not"] = [{"ids": {"values": changed}}]
            response = self._call("POST", f"/{_path(index)}/_search", params={"ignore_unavailable": "true"},
                                  body={"query": where, "size": size, "_source": False, "sort": ["_doc"],
                                        "seq_no_primary_term": True, "track_total_hits": False})
            check_shards(response)
            found = (response.get("hits") or {}).get("hits") or []
            if not found:
                break
            lines = [json.dumps({"delete": {"_index": h["_index"], "_id": h["_id"], "if_seq_no": h["_seq_no"],
                                            "if_primary_term": h["_primary_term"]}}) for h in found]
            result = BulkResult.from_raw(self._call("POST", "/_bulk", body="\n".join(lines) + "\n", ndjson=True))
            changed += [i.id for i in result.items if i.status == 409]
            refused = [i for i in result.items if not i.ok and i.status not in (404, 409)]
            if refused:
                raise EngineError(f"deleting by query in {index}: {len(refused)} failure(s) after {deleted} deleted",
                                  reason=refused[0].error)
            deleted += sum(1 for i in result.items if i.ok and i.status == 200)  # 404: gone already
            if len(found) < size:
                break
        if refresh and deleted:
            self.refresh(index)
        return deleted

    # --- indices -------------------------------------------------------------------
    def refresh(self, index: str) -> None:
        """Make everything written so far visible to searches."""
        self._call("POST", f"/{_path(index)}/_refresh")

    def get_mappings(self, index: str) -> dict[str, Any] | None:
        """The index's mappings (``{"properties": …}``); None when there is no such index."""
        try:
            response = self._call("GET", f"/{_path(index)}/_mapping")
        except Refused as exc:
            if exc.not_found:
                return None
            raise
        if not response:
            return None
        return dict(next(iter(response.values()), {}).get("mappings") or {})

    def create_index(self, index: str, *, settings: Mapping[str, Any] | None = None,
                     mappings: Mapping[str, Any] | None = None) -> bool:
        """Create the index; False when it already exists (e.g. another process made it
        first), which callers treat as success."""
        body: dict[str, Any] = {}
        if settings:
            body["settings"] = dict(settings)
        if mappings:
            body["mappings"] = dict(mappings)
        try:
            self._call("PUT", f"/{_path(index)}", body=body or None)
        except Refused as exc:
            if exc.error_type == "resource_already_exists_exception":
                return False
            raise
        return True

    def delete_index(self, index: str) -> bool:
        """Delete the index (a temporary one: ``logalert test --engine``); False when absent."""
        try:
            self._call("DELETE", f"/{_path(index)}")
        except Refused as exc:
            if exc.not_found:
                return False
            raise
        return True


def _path(part: str) -> str:
    return quote(part, safe=",*-_.%+:")
