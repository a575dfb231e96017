"""What the engine answers, as small typed values.

Both flavours answer in the same JSON shapes; they are read here, once, so no caller
outside the engine package ever walks ``response["hits"]["hits"]`` or guesses whether
``hits.total`` is a number (Elasticsearch 6) or an object (7 and later).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from logalert.errors import EngineError


@dataclass(frozen=True)
class Hit:
    """One stored document: a search hit, or the answer of a (multi-)get."""

    index: str
    id: str
    source: Mapping[str, Any]
    sort: tuple[Any, ...] = ()

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any]) -> "Hit":
        """From a ``hits.hits`` entry or a found ``_doc``/``_mget`` document."""
        source = raw.get("_source") or {}
        if raw.get("fields"):  # include_fields: under _source, one-element lists as their value
            source = {**{k: v[0] if isinstance(v, list) and len(v) == 1 else v for k, v in raw["fields"].items()},
                      **source}
        return cls(index=raw["_index"], id=raw["_id"], source=source, sort=tuple(raw.get("sort") or ()))


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


def total_of(hits: Mapping[str, Any]) -> int | None:
    """``hits.total`` as a number; None when the search did not track it."""
    total = hits.get("total")
    if isinstance(total, Mapping):
        total = total.get("value")
    return int(total) if total is not None else None


@dataclass(frozen=True)
class SearchResult:
    """One search's answer: its page of hits, the total when tracked, the aggregations."""

    hits: tuple[Hit, ...] = ()
    total: int | None = None
    aggregations: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_raw(cls, response: Mapping[str, Any]) -> "SearchResult":
        hits = response.get("hits") or {}
        return cls(hits=tuple(Hit.from_raw(h) for h in hits.get("hits") or ()), total=total_of(hits),
                   aggregations=response.get("aggregations") or {})


@dataclass(frozen=True)
class BulkItem:
    """One action of a _bulk request; ``error`` is the engine's reason when it was refused."""

    id: str
    status: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True)
class BulkResult:
    items: tuple[BulkItem, ...]

    @property
    def failed(self) -> tuple[BulkItem, ...]:
        return tuple(i for i in self.items if not i.ok)

    @property
    def ok(self) -> bool:
        return not self.failed

    @classmethod
    def from_raw(cls, response: Mapping[str, Any]) -> "BulkResult":
        items = []
        for entry in response.get("items") or ():
            # Each item is {"<action>": {...}} with the action's own answer inside.
            answer = next(iter(entry.values()), {}) if isinstance(entry, Mapping) else {}
            error = answer.get("error")
            items.append(BulkItem(id=str(answer.get("_id", "")), status=int(answer.get("status") or 0),
                                  error=_item_reason(error) if error else None))
        return cls(tuple(items))

    def raise_if_failed(self, what: str) -> None:
        """One EngineError for the whole request, naming how many records were refused
        and the first reason (the rest are usually the same)."""
        failed = self.failed
        if failed:
            raise EngineError(f"{what}: {len(failed)} of {len(self.items)} record(s) refused",
                              reason=(failed[0].error or "")[:300])


def _item_reason(error: Any) -> str:
    """A refused record's reason with its cause: "failed to parse field [n] of type
    [long] …: For input string: "abc"" names both the field and the value."""
    if isinstance(error, Mapping):
        error = dict(error, root_cause=[error])  # the top reason leads, the deepest follows
    return engine_reason({"error": error}) or "refused"
