"""State in the writeback index, so a restart (kill -9 included) resumes where it stopped.

One index holds every kind of record, told apart by ``kind``: ``status`` (one per rule:
last window end, counts, last error, the ids evaluated in the overlap), ``silence``,
``alert`` (the outbox: one per alert and notifier), ``aggregation`` (matches waiting for
their digest) and ``error`` (a log of run errors). Reads of single records use GET,
which is real-time; searches (pending alerts, silences) are re-checked with GET before
acting, so a not-yet-refreshed index never causes a second send.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import datetime as dt
import hashlib
import json
import logging
import threading
import time
from typing import Any, Callable, Iterator, Mapping

from logalert.engine.base import Backend
from logalert.errors import EngineError
from logalert.state.base import Aggregation, OutboxEntry, RuleStatus, Silence, StateStore
from logalert.timeutil import iso, parse_iso

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

MAPPINGS: dict[str, Any] = {
    "dynamic": False,
    "_meta": {"logalert_schema": SCHEMA_VERSION},
    "properties": {
        "kind": {"type": "keyword"},
        "rule": {"type": "keyword"},
        "key": {"type": "keyword"},
        "written": {"type": "date"},
        # status
        "last_end": {"type": "date"},
        "last_run": {"type": "date"},
        "hits": {"type": "long"},
        "matches": {"type": "long"},
        "alerts": {"type": "long"},
        "duration": {"type": "float"},
        "error": {"type": "text"},
        "seen": {"type": "object", "enabled": False},
        # silence
        "until": {"type": "date"},
        "exponent": {"type": "integer"},
        "reason": {"type": "keyword"},
        # alert (outbox)
        "alert_id": {"type": "keyword"},
        "alerter": {"type": "keyword"},
        "subject": {"type": "text"},
        "body": {"type": "text", "index": False},
        "created": {"type": "date"},
        "status": {"type": "keyword"},
        "attempts": {"type": "integer"},
        "last_error": {"type": "text"},
        "sent_at": {"type": "date"},
        # aggregation
        "send_at": {"type": "date"},
        "items": {"type": "object", "enabled": False},
    },
}

# Fields whose type the daemon depends on; a foreign index with other types is refused.
REQUIRED_TYPES = {"kind": "keyword", "rule": "keyword", "key": "keyword", "status": "keyword",
                  "last_end": "date", "until": "date", "send_at": "date", "created": "date"}


def doc_id(kind: str, *parts: str) -> str:
    digest = hashlib.sha1("\0".join(parts).encode()).hexdigest()[:24]
    return f"{kind}-{digest}"


def _date(value: Any) -> dt.datetime | None:
    return parse_iso(value) if isinstance(value, str) and value else None


def _opt_iso(value: dt.datetime | None) -> str | None:
    return iso(value) if value else None


def _copy_status(status: RuleStatus) -> RuleStatus:
    """A copy the caller may change (a deepcopy of the seen ids was a hot spot)."""
    return dataclasses.replace(status, seen=dict(status.seen))


class CorruptRecord(ValueError):
    """A document in the writeback index that is not one of ours or is damaged."""


class EngineState(StateStore):
    # A manual `logalert silence` from another process is seen within this many seconds.
    SILENCE_REFRESH_SECONDS = 30.0

    def __init__(self, backend_factory: Callable[[], Backend], index: str):
        self._factory = backend_factory
        self.index = index
        self._ready = False
        self._lock = threading.Lock()
        # This process is the only writer of its rules' records (one daemon per writeback
        # index), so records read once are kept in memory: a tick of 500 rules then costs
        # a handful of requests, not several per rule.
        self._status: dict[str, RuleStatus] = {}
        self._no_status: set[str] = set()  # rules known to have no status record yet
        self._silences: dict[tuple[str, str], Silence] | None = None
        self._silences_loaded = 0.0
        self._pending: dict[str, OutboxEntry] | None = None
        self._known: dict[str, OutboxEntry] = {}
        self._recorded: set[str] | None = None  # ids of every outbox record, read once
        self._aggregations: dict[tuple[str, str], Aggregation] | None = None
        self._deferred: list[RuleStatus] | None = None

    # --- setup ---------------------------------------------------------------------
    def backend(self) -> Backend:
        backend = self._factory()
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self.ensure_index(backend)
                    self._ready = True
        return backend

    def ensure_index(self, backend: Backend | None = None) -> bool:
        """Create the index with our mappings when missing; refuse one with wrong mappings.
        Returns True when it was created."""
        backend = backend or self._factory()
        try:
            current = backend._call("GET", f"/{self.index}/_mapping")
        except EngineError as exc:
            if "index_not_found" not in str(exc) and "no such index" not in str(exc) and "404" not in str(exc):
                raise
            try:
                backend._call("PUT", f"/{self.index}", body={
                    "settings": {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1"}},
                    "mappings": MAPPINGS,
                })
            except EngineError as create_exc:
                if "resource_already_exists" not in str(create_exc):
                    raise
            log.info("created writeback index %s", self.index)
            return True
        mapping = next(iter(current.values()), {}).get("mappings", {}) if current else {}
        props = mapping.get("properties", {})
        wrong = [f"{f} is {props.get(f, {}).get('type', 'missing')} (want {t})"
                 for f, t in REQUIRED_TYPES.items() if props.get(f, {}).get("type") != t]
        if wrong:
            raise EngineError(
                f"writeback_index {self.index!r} has mappings logalert cannot use: {'; '.join(wrong)}. "
                f"Fix: point writeback_index at a new name, or delete the index "
                f"(DELETE /{self.index}) and run `logalert init` to create it with the right mappings")
        return False

    # --- plumbing ------------------------------------------------------------------
    def _put(self, id_: str, doc: dict[str, Any]) -> None:
        doc["written"] = iso(dt.datetime.now(dt.timezone.utc))
        self.backend().index(self.index, doc, id=id_)

    def _get(self, id_: str) -> dict[str, Any] | None:
        hit = self.backend().get(self.index, id_)
        return dict(hit.source) if hit is not None else None

    def _search(self, query: Mapping[str, Any], size: int = 1000) -> list[dict[str, Any]]:
        self.backend()._call("POST", f"/{self.index}/_refresh")
        response = self.backend().search(self.index, {"query": query, "size": size,
                                                      "sort": [{"written": {"order": "asc", "unmapped_type": "date"}}]})
        return [dict(h.source) for h in response.hits]

    def _records(self, what: str, query: Mapping[str, Any], decode: Callable[[dict[str, Any]], Any],
                 size: int = 1000) -> list[Any]:
        """The decodable records a search finds; damaged ones are logged and skipped."""
        return [r for r in (self._decode(what, d, decode) for d in self._search(query, size)) if r is not None]

    def _decode(self, what: str, doc: dict[str, Any], decode: Callable[[dict[str, Any]], Any]) -> Any:
        try:
            return decode(doc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.error("writeback index %s: skipping a damaged or foreign %s record (%s: %s): %.200r",
                      self.index, what, type(exc).__name__, exc, doc)
            return None

    # --- status --------------------------------------------------------------------
    def _decode_status(self, d: dict[str, Any]) -> RuleStatus:
        return RuleStatus(
            rule=str(d["rule"]), last_end=_date(d.get("last_end")), last_run=_date(d.get("last_run")),
            hits=int(d.get("hits") or 0), matches=int(d.get("matches") or 0), alerts=int(d.get("alerts") or 0),
            duration=float(d.get("duration") or 0.0), error=d.get("error"),
            seen={str(k): float(v) for k, v in (d.get("seen") or {}).items()})

    def preload_status(self, rules: list[str]) -> None:
        """One multi-get for the statuses of many rules (a tick's first run)."""
        missing = [r for r in rules if r not in self._status]
        if not missing:
            return
        ids = [doc_id("status", r) for r in missing]
        response = self.backend()._call("POST", f"/{self.index}/_mget", body={"ids": ids})
        for name, doc in zip(missing, response.get("docs", [])):
            status = self._decode("status", doc["_source"], self._decode_status) if doc.get("found") else None
            if status is not None:
                self._status[status.rule] = status
            else:
                self._no_status.add(name)

    def load_status(self, rule: str) -> RuleStatus | None:
        if rule in self._no_status:
            return None
        if rule not in self._status:
            doc = self._get(doc_id("status", rule))
            status = self._decode("status", doc, self._decode_status) if doc else None
            if status is None:
                return None
            self._status[rule] = status
        return _copy_status(self._status[rule])

    def _status_doc(self, status: RuleStatus) -> dict[str, Any]:
        return {"kind": "status", "rule": status.rule, "last_end": _opt_iso(status.last_end),
                "last_run": _opt_iso(status.last_run), "hits": status.hits, "matches": status.matches,
                "alerts": status.alerts, "duration": status.duration, "error": status.error, "seen": status.seen,
                "written": iso(dt.datetime.now(dt.timezone.utc))}

    def save_status(self, status: RuleStatus) -> None:
        self._no_status.discard(status.rule)
        with self._lock:
            if self._deferred is not None:
                self._deferred.append(_copy_status(status))
                self._status[status.rule] = _copy_status(status)
                return
        self._put(doc_id("status", status.rule), self._status_doc(status))
        self._status[status.rule] = _copy_status(status)

    @contextlib.contextmanager
    def deferred_status(self) -> Iterator[None]:
        """Within the block, status writes are collected and sent as one _bulk at the end
        (a tick of many rules). Safe: a lost status only makes the next run re-evaluate a
        window, and the outbox keeps that from repeating alerts."""
        with self._lock:
            self._deferred = []
        try:
            yield
        finally:
            with self._lock:
                pending, self._deferred = self._deferred or [], None
            if pending:
                self._bulk([(doc_id("status", s.rule), self._status_doc(s)) for s in pending])

    def _bulk(self, docs: list[tuple[str, dict[str, Any]]]) -> None:
        """Index many records in one request; any refused record fails the call."""
        if not docs:
            return
        if len(docs) == 1:
            self._put(*docs[0])
            return
        lines = []
        written = iso(dt.datetime.now(dt.timezone.utc))
        for id_, doc in docs:
            lines.append(json.dumps({"index": {"_index": self.index, "_id": id_}}))
            lines.append(json.dumps(dict(doc, written=written), default=str))
        response = self.backend()._call("POST", "/_bulk", body="\n".join(lines) + "\n", ndjson=True)
        if response.get("errors"):
            failed = [i for i in response.get("items", []) if i.get("index", {}).get("error")]
            raise EngineError(f"writing {len(failed)} record(s) to {self.index} failed",
                              reason=str(failed[0]["index"]["error"])[:300])

    def all_status(self) -> list[RuleStatus]:
        return self._records("status", {"term": {"kind": "status"}}, self._decode_status)

    # --- silences ------------------------------------------------------------------
    def _silence(self, doc: dict[str, Any]) -> Silence:
        until = _date(doc["until"])
        if until is None:
            raise ValueError("until is missing")
        return Silence(str(doc["rule"]), str(doc.get("key") or ""), until, int(doc.get("exponent") or 0),
                       str(doc.get("reason") or "realert"))

    def _silence_cache(self) -> dict[tuple[str, str], Silence]:
        now = time.monotonic()
        if self._silences is None or now - self._silences_loaded > self.SILENCE_REFRESH_SECONDS:
            # _search refreshes first, so our own writes are in the answer; replacing the
            # cache whole also drops silences another process removed.
            fresh = {(x.rule, x.key): x for x in self.list_silences()}
            with self._lock:
                self._silences, self._silences_loaded = fresh, now
        return self._silences

    def get_silence(self, rule: str, key: str) -> Silence | None:
        return self._silence_cache().get((rule, key))

    def put_silence(self, silence: Silence) -> None:
        self.put_silences([silence])

    def put_silences(self, silences: list[Silence]) -> None:
        self._bulk([(doc_id("silence", x.rule, x.key), {
            "kind": "silence", "rule": x.rule, "key": x.key, "until": iso(x.until),
            "exponent": x.exponent, "reason": x.reason}) for x in silences])
        with self._lock:
            if self._silences is not None:
                for x in silences:
                    self._silences[(x.rule, x.key)] = x

    def remove_silence(self, rule: str, key: str | None = None) -> int:
        doomed = [s for s in self.list_silences() if s.rule == rule and (key is None or s.key == key)]
        for s in doomed:
            self.backend()._call("DELETE", f"/{self.index}/_doc/{doc_id('silence', s.rule, s.key)}")
            with self._lock:
                if self._silences is not None:
                    self._silences.pop((s.rule, s.key), None)
        return len(doomed)

    def list_silences(self) -> list[Silence]:
        return self._records("silence", {"term": {"kind": "silence"}}, self._silence)

    # --- outbox --------------------------------------------------------------------
    def _entry(self, doc: dict[str, Any]) -> OutboxEntry:
        created = _date(doc["created"])
        if created is None or doc["status"] not in ("pending", "sent", "failed"):
            raise ValueError("not an outbox record")
        return OutboxEntry(id=str(doc["key"]), alert_id=str(doc["alert_id"]), rule=str(doc["rule"]),
                           alerter=str(doc["alerter"]), subject=str(doc.get("subject") or ""),
                           body=str(doc.get("body") or ""), created=created, status=str(doc["status"]),
                           attempts=int(doc.get("attempts") or 0), last_error=doc.get("last_error"),
                           sent_at=_date(doc.get("sent_at")))

    def get_outbox(self, entry_id: str) -> OutboxEntry | None:
        with self._lock:
            known = self._known.get(entry_id)
        if known is not None:
            return copy.copy(known)
        doc = self._get(doc_id("alert", entry_id))  # real-time: an earlier process may have sent it
        entry = self._decode("alert", doc, self._entry) if doc else None
        if entry is not None:
            with self._lock:
                self._known[entry_id] = copy.copy(entry)
        return entry

    def _recorded_ids(self) -> set[str]:
        """Ids of all outbox records, read once (paged): afterwards this process knows
        every record, because it writes all new ones itself."""
        if self._recorded is None:
            self.backend()._call("POST", f"/{self.index}/_refresh")
            body = {"query": {"term": {"kind": "alert"}}, "_source": ["key"],
                    "sort": [{"created": {"order": "asc", "unmapped_type": "date"}}]}
            ids = {str(h.source.get("key")) for h in self.backend().search_all(self.index, body, 10000)}
            with self._lock:
                if self._recorded is None:
                    self._recorded = ids
        return self._recorded

    def get_outbox_many(self, entry_ids: list[str]) -> dict[str, OutboxEntry]:
        found: dict[str, OutboxEntry] = {}
        recorded = self._recorded_ids()
        unknown = []
        with self._lock:
            for entry_id in entry_ids:
                if entry_id in self._known:
                    found[entry_id] = copy.copy(self._known[entry_id])
                elif entry_id in recorded:
                    unknown.append(entry_id)
        if unknown:  # recorded by an earlier process: read them (real-time multi-get)
            response = self.backend()._call("POST", f"/{self.index}/_mget",
                                            body={"ids": [doc_id("alert", e) for e in unknown]})
            for doc in response.get("docs", []):
                entry = self._decode("alert", doc["_source"], self._entry) if doc.get("found") else None
                if entry is not None:
                    found[entry.id] = entry
                    with self._lock:
                        self._known[entry.id] = copy.copy(entry)
        return found

    def _outbox_doc(self, entry: OutboxEntry) -> dict[str, Any]:
        return {"kind": "alert", "key": entry.id, "alert_id": entry.alert_id, "rule": entry.rule,
                "alerter": entry.alerter, "subject": entry.subject, "body": entry.body, "created": iso(entry.created),
                "status": entry.status, "attempts": entry.attempts, "last_error": entry.last_error,
                "sent_at": _opt_iso(entry.sent_at)}

    def put_outbox(self, entry: OutboxEntry) -> None:
        self.put_outbox_many([entry])

    def put_outbox_many(self, entries: list[OutboxEntry]) -> None:
        self._bulk([(doc_id("alert", e.id), self._outbox_doc(e)) for e in entries])
        with self._lock:
            for entry in entries:
                self._known[entry.id] = copy.copy(entry)
                if self._recorded is not None:
                    self._recorded.add(entry.id)
                if self._pending is not None:
                    if entry.status == "pending":
                        self._pending[entry.id] = copy.copy(entry)
                    else:
                        self._pending.pop(entry.id, None)

    def pending_outbox(self, rule: str | None = None) -> list[OutboxEntry]:
        """Pending alerts: read from the index once (what earlier processes left), then
        kept up to date in memory by put_outbox."""
        if self._pending is None:
            query = {"bool": {"filter": [{"term": {"kind": "alert"}}, {"term": {"status": "pending"}}]}}
            found: dict[str, OutboxEntry] = {}
            for doc in self._search(query, size=10000):
                entry = self._decode("alert", doc, self._entry)
                if entry is None:
                    continue
                fresh = self._get(doc_id("alert", entry.id))  # real-time: the search may lag
                entry = self._decode("alert", fresh, self._entry) if fresh else None
                if entry is not None and entry.status == "pending":
                    found[entry.id] = entry
            with self._lock:
                if self._pending is None:
                    self._pending = found
                    self._known.update({k: copy.copy(v) for k, v in found.items()})
        with self._lock:
            return [copy.copy(e) for e in self._pending.values() if rule is None or e.rule == rule]

    def outbox(self, rule: str | None = None, size: int = 1000) -> list[OutboxEntry]:
        query: dict[str, Any] = {"bool": {"filter": [{"term": {"kind": "alert"}}]}}
        if rule is not None:
            query["bool"]["filter"].append({"term": {"rule": rule}})
        return self._records("alert", query, self._entry, size)

    # --- aggregation ---------------------------------------------------------------
    def _aggregation(self, doc: dict[str, Any]) -> Aggregation:
        send_at, created = _date(doc["send_at"]), _date(doc["created"])
        if send_at is None or created is None or not isinstance(doc.get("items"), dict):
            raise ValueError("not an aggregation record")
        return Aggregation(rule=str(doc["rule"]), key=str(doc.get("key") or ""), created=created,
                           send_at=send_at, matches=list(doc["items"].get("matches") or []))

    def _aggregation_cache(self) -> dict[tuple[str, str], Aggregation]:
        if self._aggregations is None:
            records = self._records("aggregation", {"term": {"kind": "aggregation"}}, self._aggregation, 10000)
            found = {(a.rule, a.key): a for a in records}
            with self._lock:
                if self._aggregations is None:
                    self._aggregations = found
        return self._aggregations

    def get_aggregation(self, rule: str, key: str) -> Aggregation | None:
        agg = self._aggregation_cache().get((rule, key))
        return copy.deepcopy(agg) if agg else None

    def put_aggregation(self, agg: Aggregation) -> None:
        self._put(doc_id("aggregation", agg.rule, agg.key), {
            "kind": "aggregation", "rule": agg.rule, "key": agg.key, "created": iso(agg.created),
            "send_at": iso(agg.send_at), "items": {"matches": agg.matches}})
        cache = self._aggregation_cache()
        with self._lock:
            cache[(agg.rule, agg.key)] = copy.deepcopy(agg)

    def due_aggregations(self, rule: str, now: dt.datetime) -> list[Aggregation]:
        cache = self._aggregation_cache()
        with self._lock:
            return [copy.deepcopy(a) for (r, _), a in cache.items() if r == rule and a.send_at <= now]

    def delete_aggregation(self, rule: str, key: str) -> None:
        try:
            self.backend()._call("DELETE", f"/{self.index}/_doc/{doc_id('aggregation', rule, key)}")
        except EngineError as exc:
            if "404" not in str(exc) and "not_found" not in str(exc):
                raise
        cache = self._aggregation_cache()
        with self._lock:
            cache.pop((rule, key), None)

    # --- error log -----------------------------------------------------------------
    def record_error(self, rule: str, message: str) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        self._put(doc_id("error", rule, iso(now)), {"kind": "error", "rule": rule, "error": message,
                                                     "created": iso(now)})

    def errors(self, rule: str | None = None, size: int = 100) -> list[Any]:
        """The run error log, newest first. The search helper sorts oldest first, so this
        reads up to its 10,000-record page and reverses it (the log is never pruned)."""
        from logalert.state.base import RunError  # one insertion while this module is split

        def decode(doc: dict[str, Any]) -> RunError:
            created = _date(doc["created"])
            if created is None:
                raise ValueError("created is missing")
            return RunError(str(doc["rule"]), str(doc.get("error") or ""), created)

        filters: list[dict[str, Any]] = [{"term": {"kind": "error"}}]
        if rule is not None:
            filters.append({"term": {"rule": rule}})
        return self._records("error", {"bool": {"filter": filters}}, decode, 10000)[::-1][:size]
