"""Rule leases and replica heartbeats in the writeback index, with optimistic concurrency.

A lease is one document per rule (``kind: lease``), created with ``_create`` and from
then on written only with ``if_seq_no`` + ``if_primary_term``: of two replicas racing
for it, exactly one write succeeds and the other gets a version conflict. Heartbeats
live in one document (``kind: replicas``) that every replica updates partially (its own
key only) in the same ``_bulk`` as its lease renewals; the update answers with the whole
document, so one request per round both renews and tells who else is alive.

The engine's ``Backend`` has no conditional writes or versioned reads (yet): they are
built here on its raw call, the one place that knows these request shapes.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Collection, Mapping
from urllib.parse import quote

from logalert.engine import Backend, Refused
from logalert.errors import EngineError
from logalert.state.base import Lease, LeaseOutcome, LeaseStore, LeaseWrite, Replica
from logalert.state.index import WritebackIndex
from logalert.state.records import date_of, doc_id, now_iso
from logalert.timeutil import iso

log = logging.getLogger(__name__)

REPLICAS_ID = doc_id("replicas")
RETRY_ON_CONFLICT = 10  # heartbeats of all replicas go into one document
COMPACT_AFTER = 50  # removed replicas (null keys) the heartbeat record keeps before it is rewritten


def lease_id(rule: str) -> str:
    return doc_id("lease", rule)


def lease_doc(write: LeaseWrite) -> dict[str, Any]:
    return {"kind": "lease", "rule": write.rule, "owner": write.owner,
            "expires": iso(write.expires) if write.expires else None,
            "since": iso(write.since) if write.since else None, "written": now_iso()}


def decode_lease(raw: Mapping[str, Any]) -> Lease:
    """From a ``_doc``/``_mget`` answer or a search hit with ``seq_no_primary_term``."""
    src = raw["_source"]
    if src.get("kind") != "lease":
        raise ValueError("not a lease")
    owner = src.get("owner")
    return Lease(str(src["rule"]), str(owner) if owner else None, (int(raw["_seq_no"]), int(raw["_primary_term"])),
                 date_of(src.get("expires")), date_of(src.get("since")))


def replica_doc(me: Replica) -> dict[str, Any]:
    return {"beat": me.beat, "at": iso(me.at), "host": me.host, "pid": me.pid,
            "started": iso(me.started) if me.started else None, "rules": me.rules}


def decode_replicas(source: Mapping[str, Any]) -> dict[str, Replica]:
    out = {}
    for rid, entry in (source.get("replicas") or {}).items():
        if not isinstance(entry, Mapping):
            continue  # removed (null)
        at = date_of(entry.get("at"))
        if at is None:
            continue
        out[str(rid)] = Replica(str(rid), int(entry.get("beat") or 0), at, str(entry.get("host") or ""),
                                int(entry.get("pid") or 0), date_of(entry.get("started")), str(entry.get("rules") or ""))
    return out


def _call(backend: Backend, method: str, path: str, **kwargs: Any) -> Any:
    return backend._call(method, path, **kwargs)  # noqa: SLF001 - see the module docstring


class LeaseIndex(WritebackIndex, LeaseStore):
    def _path(self, *parts: str) -> str:
        return "/" + "/".join(quote(p, safe=",*-_.%+:") for p in (self.index, *parts))

    def read_leases(self, rules: Collection[str]) -> dict[str, Lease]:
        rules = list(rules)
        if not rules:
            return {}
        backend = self.backend()
        try:
            answer = _call(backend, "POST", self._path("_mget"), body={"ids": [lease_id(r) for r in rules]})
        except Refused as exc:
            if exc.not_found:
                return {}
            raise
        found: dict[str, Lease] = {}
        for doc in answer.get("docs") or ():
            if doc.get("found"):
                lease = self._decode("lease", doc, decode_lease)
                if lease is not None:
                    found[lease.rule] = lease
        return found

    def lease_round(self, me: Replica | None, writes: list[LeaseWrite],
                    drop: Collection[str] = ()) -> tuple[dict[str, Replica], list[LeaseOutcome]]:
        beats: dict[str, Any] = {rid: None for rid in drop}
        if me is not None:
            beats[me.id] = replica_doc(me)
        lines = []
        if beats:
            lines += [{"update": {"_index": self.index, "_id": REPLICAS_ID, "retry_on_conflict": RETRY_ON_CONFLICT}},
                      {"doc": {"kind": "replicas", "replicas": beats, "written": now_iso()}, "doc_as_upsert": True,
                       "_source": True}]
        for write in writes:
            action: dict[str, Any] = {"_index": self.index, "_id": lease_id(write.rule)}
            if write.expect is None:
                lines.append({"create": action})
            else:
                action.update(if_seq_no=write.expect[0], if_primary_term=write.expect[1])
                lines.append({"index": action})
            lines.append(lease_doc(write))
        answer = _call(self.backend(), "POST", "/_bulk", body="".join(json.dumps(x) + "\n" for x in lines),
                       ndjson=True)
        items = [next(iter(i.values()), {}) for i in answer.get("items") or ()]
        replicas: dict[str, Replica] = {}
        if beats:
            head = items.pop(0) if items else {}
            if head.get("error"):
                log.warning("writeback index %s: heartbeat not recorded: %s", self.index, head["error"])
            source = ((head.get("get") or {}).get("_source")) or {}
            replicas = decode_replicas(source)
            self._compact(source, head)
        outcomes = []
        for write, item in zip(writes, items):
            if item.get("status") in (200, 201) and "_seq_no" in item:
                outcomes.append(LeaseOutcome(write.rule, version=(int(item["_seq_no"]), int(item["_primary_term"]))))
            elif item.get("status") == 409:
                outcomes.append(LeaseOutcome(write.rule, conflict=True))
            else:
                outcomes.append(LeaseOutcome(write.rule, error=str(item.get("error") or "no answer")[:300]))
        outcomes += [LeaseOutcome(w.rule, error="no answer") for w in writes[len(outcomes):]]
        return replicas, outcomes

    def _compact(self, source: Mapping[str, Any], head: Mapping[str, Any]) -> None:
        """Removed replicas stay as null keys (a partial update cannot delete one): once
        there are many, rewrite the record without them, over the version just written."""
        entries = source.get("replicas") or {}
        if sum(1 for v in entries.values() if v is None) < COMPACT_AFTER or "_seq_no" not in head:
            return
        doc = dict(source, replicas={k: v for k, v in entries.items() if v is not None}, written=now_iso())
        params = {"if_seq_no": head["_seq_no"], "if_primary_term": head["_primary_term"]}
        try:
            _call(self.backend(), "PUT", self._path("_doc", REPLICAS_ID), params=params, body=doc)
        except Refused as exc:
            if exc.status != 409:  # 409: a heartbeat came first; the next round tries again
                raise

    def leases(self) -> list[Lease]:
        backend = self.backend()
        backend.refresh(self.index)
        body = {"query": {"term": {"kind": "lease"}}, "seq_no_primary_term": True, "size": 10000}
        try:
            answer = _call(backend, "POST", self._path("_search"), body=body)
        except Refused as exc:
            if exc.not_found:
                return []
            raise
        hits = (answer.get("hits") or {}).get("hits") or ()
        return [x for x in (self._decode("lease", h, decode_lease) for h in hits) if x is not None]

    def replicas(self) -> dict[str, Replica]:
        doc = self._get(REPLICAS_ID)
        try:
            return decode_replicas(doc or {})
        except (TypeError, ValueError, AttributeError) as exc:
            raise EngineError(f"writeback index {self.index}: damaged replicas record", reason=str(exc)) from None
