"""The search-engine interface every other stage uses, and the shared logic on top of
one raw call per engine flavour (OpenSearch via opensearch-py, Elasticsearch via its
official client). Engine errors become EngineError carrying the engine's own reason."""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, Sequence

from logalert.errors import EngineError

log = logging.getLogger(__name__)

PIT_KEEP_ALIVE = "2m"


@dataclass(frozen=True)
class Hit:
    index: str
    id: str
    source: Mapping[str, Any]
    sort: tuple[Any, ...] = ()


def engine_reason(body: Any) -> str | None:
    """The most specific human reason inside an engine error body."""
    if not isinstance(body, Mapping):
        return str(body) if body else None
    error = body.get("error", body)
    if isinstance(error, str):
        return error
    if not isinstance(error, Mapping):
        return None
    root = None
    causes = error.get("root_cause")
    if isinstance(causes, list) and causes and isinstance(causes[0], Mapping):
        root = causes[0].get("reason")
    # The deepest cause ("Cannot parse 'message:/ERROR': Lexical error …") is the useful one.
    node: Any = error
    shards = error.get("failed_shards")
    if isinstance(shards, list) and shards and isinstance(shards[0], Mapping):
        node = shards[0].get("reason", node)
    deepest = None
    while isinstance(node, Mapping):
        if isinstance(node.get("reason"), str):
            deepest = node["reason"]
        node = node.get("caused_by")
    deepest = deepest or error.get("reason") or error.get("type")
    if root and deepest and root != deepest and root not in deepest:
        return f"{root}: {deepest}"
    return deepest or root


def check_shards(response: Mapping[str, Any]) -> None:
    """A 200 answer can still carry per-shard failures (e.g. a query that fails on one
    index only); treating them as success would silently skip documents."""
    shards = response.get("_shards") or {}
    if shards.get("failed"):
        failures = shards.get("failures") or []
        reason = engine_reason({"error": failures[0].get("reason")}) if failures else None
        raise EngineError(f"{shards['failed']} of {shards.get('total')} shards failed", reason=reason)


class Backend(ABC):
    """One engine connection. Thread-safe: the underlying clients pool connections."""

    flavor: str = "?"
    pit_open_path: str  # relative to the index: where a point in time is opened
    pit_id_key: str  # the key of the id in that answer
    # search_after needs a unique sort; Elasticsearch has _shard_doc under a point in time,
    # OpenSearch 2.x does not (and still allows sorting on _id).
    tiebreaker: Mapping[str, str] = {"_shard_doc": "asc"}

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
        """One HTTP call; raises EngineError (unreachable or refused)."""

    def close(self) -> None:  # pragma: no cover - trivial
        pass

    # --- the interface -------------------------------------------------------------
    def info(self) -> dict[str, Any]:
        return dict(self._call("GET", "/"))

    def search(self, index: str, body: Mapping[str, Any], *, ignore_unavailable: bool = True) -> dict[str, Any]:
        params = {"ignore_unavailable": "true"} if ignore_unavailable else None
        response = self._call("POST", f"/{_path(index)}/_search", params=params, body=body)
        check_shards(response)
        return response

    def count(self, index: str, body: Mapping[str, Any]) -> int:
        response = self._call("POST", f"/{_path(index)}/_count", params={"ignore_unavailable": "true"}, body=body)
        check_shards(response)
        return int(response["count"])

    def msearch(self, searches: Sequence[tuple[str, Mapping[str, Any]]]) -> list[dict[str, Any] | EngineError]:
        """Many searches in one request; each failed sub-search is returned as its own
        EngineError so one rule's bad query never fails the others."""
        if not searches:
            return []
        lines = []
        for index, body in searches:
            lines.append(json.dumps({"index": index, "ignore_unavailable": True}))
            lines.append(json.dumps(body))
        response = self._call("POST", "/_msearch", body="\n".join(lines) + "\n", ndjson=True)
        out: list[dict[str, Any] | EngineError] = []
        for item in response.get("responses", []):
            if "error" in item:
                out.append(EngineError("search refused", reason=engine_reason(item)))
                continue
            try:
                check_shards(item)
            except EngineError as exc:
                out.append(exc)
                continue
            out.append(item)
        return out

    def index(self, index: str, doc: Mapping[str, Any], *, id: str | None = None,
              refresh: bool = False, op_type: str | None = None) -> str:
        params: dict[str, str] = {}
        if refresh:
            params["refresh"] = "wait_for"
        if op_type:
            params["op_type"] = op_type
        path = f"/{_path(index)}/_doc" + (f"/{_path(id)}" if id else "")
        response = self._call("PUT" if id else "POST", path, params=params, body=doc)
        return str(response["_id"])

    def get(self, index: str, id: str) -> dict[str, Any] | None:
        try:
            response = self._call("GET", f"/{_path(index)}/_doc/{_path(id)}")
        except EngineError as exc:
            if "404" in str(exc) or (exc.reason or "").startswith("index_not_found"):
                return None
            raise
        return response.get("_source") if response.get("found") else None

    def search_all(self, index: str, body: Mapping[str, Any], page_size: int) -> Iterator[Hit]:
        """Every hit of ``body`` in sort order. One request when it fits in a page;
        otherwise a point-in-time snapshot paged with search_after, so documents
        indexed meanwhile neither shift pages nor get lost or repeated."""
        first = dict(body, size=page_size)
        response = self.search(index, first)
        hits = response["hits"]["hits"]
        if len(hits) < page_size:
            for raw in hits:
                yield _hit(raw)
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
                hits = response["hits"]["hits"]
                for raw in hits:
                    yield _hit(raw)
                if len(hits) < page_size:
                    return
                after = hits[-1]["sort"]
        finally:
            try:
                self._close_pit(pit_id)
            except EngineError as exc:  # the PIT expires on its own; not worth failing the run
                log.debug("closing point in time failed: %s", exc)

    @abstractmethod
    def _close_pit(self, pit_id: str) -> None:
        """Release a point in time (the request shape differs per flavour)."""


def _hit(raw: Mapping[str, Any]) -> Hit:
    return Hit(index=raw["_index"], id=raw["_id"], source=raw.get("_source") or {}, sort=tuple(raw.get("sort") or ()))


def _path(part: str) -> str:
    from urllib.parse import quote

    return quote(part, safe=",*-_.%+:")
