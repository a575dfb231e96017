"""State in the writeback index, so a restart (kill -9 included) resumes where it stopped.

The records and their mappings are in ``logalert.state.records``; this is the store:
what it reads when, and what it keeps in memory. Reads of single records use GET,
which is real-time; searches (pending alerts, silences) are re-checked with GET before
acting, so a not-yet-refreshed index never causes a second send.
"""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import logging
import threading
import time
from typing import Any, Callable, Iterator, Mapping

from logalert.engine import Backend
from logalert.errors import EngineError
from logalert.state.base import Aggregation, OutboxEntry, RuleStatus, Silence, StateStore
from logalert.state.records import (MAPPINGS, SETTINGS, aggregation_doc, copy_status, decode_aggregation,
                                    decode_entry, decode_silence, decode_status, doc_id, error_doc, now_iso,
                                    outbox_doc, silence_doc, status_doc, wrong_mappings)
from logalert.state.records import date_of as _date
from logalert.timeutil import iso

__all__ = ["EngineState", "doc_id"]

log = logging.getLogger(__name__)


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
                    self._ensure_index(backend)
                    self._ready = True
        return backend

    def ensure_index(self) -> bool:
        """Create the index with our mappings when missing; refuse one with wrong mappings
        (EngineError saying how to fix it). Returns True when it was created."""
        backend = self._factory()
        with self._lock:
            created = self._ensure_index(backend)
            self._ready = True
        return created

    def _ensure_index(self, backend: Backend) -> bool:
        mappings = backend.get_mappings(self.index)
        if mappings is None:
            # False: another process created it meanwhile, with our mappings.
            created = backend.create_index(self.index, settings=SETTINGS, mappings=MAPPINGS)
            if created:
                log.info("created writeback index %s", self.index)
                return True
            mappings = backend.get_mappings(self.index) or {}
        wrong = wrong_mappings(mappings)
        if wrong:
            raise EngineError(
                f"writeback_index {self.index!r} has mappings logalert cannot use: {'; '.join(wrong)}. "
                f"Fix: point writeback_index at a new name, or delete the index "
                f"(DELETE /{self.index}) and run `logalert init` to create it with the right mappings")
        return False

    # --- plumbing ------------------------------------------------------------------
    def _put(self, id_: str, doc: dict[str, Any]) -> None:
        doc["written"] = now_iso()
        self.backend().index(self.index, doc, id=id_)

    def _get(self, id_: str) -> dict[str, Any] | None:
        hit = self.backend().get(self.index, id_)
        return dict(hit.source) if hit is not None else None

    def _mget(self, ids: list[str]) -> list[dict[str, Any] | None]:
        return [dict(h.source) if h is not None else None for h in self.backend().mget(self.index, ids)]

    def _search(self, query: Mapping[str, Any], size: int = 1000) -> list[dict[str, Any]]:
        backend = self.backend()
        backend.refresh(self.index)
        result = backend.search(self.index, {"query": query, "size": size,
                                             "sort": [{"written": {"order": "asc", "unmapped_type": "date"}}]})
        return [dict(h.source) for h in result.hits]

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

    def _bulk(self, docs: list[tuple[str, dict[str, Any]]]) -> None:
        """Index many records in one request; any refused record fails the call."""
        if not docs:
            return
        if len(docs) == 1:
            self._put(*docs[0])
            return
        written = now_iso()
        result = self.backend().bulk(self.index, [(id_, dict(doc, written=written)) for id_, doc in docs])
        result.raise_if_failed(f"writing to {self.index}")

    # --- status --------------------------------------------------------------------
    def preload_status(self, rules: list[str]) -> None:
        """One multi-get for the statuses of many rules (a tick's first run)."""
        missing = [r for r in rules if r not in self._status]
        if not missing:
            return
        docs = self._mget([doc_id("status", r) for r in missing])
        for name, doc in zip(missing, docs):
            status = self._decode("status", doc, decode_status) if doc is not None else None
            if status is not None:
                self._status[status.rule] = status
            else:
                self._no_status.add(name)

    def load_status(self, rule: str) -> RuleStatus | None:
        if rule in self._no_status:
            return None
        if rule not in self._status:
            doc = self._get(doc_id("status", rule))
            status = self._decode("status", doc, decode_status) if doc else None
            if status is None:
                return None
            self._status[rule] = status
        return copy_status(self._status[rule])

    def save_status(self, status: RuleStatus) -> None:
        self._no_status.discard(status.rule)
        with self._lock:
            if self._deferred is not None:
                self._deferred.append(copy_status(status))
                self._status[status.rule] = copy_status(status)
                return
        self._put(doc_id("status", status.rule), status_doc(status))
        self._status[status.rule] = copy_status(status)

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
                self._bulk([(doc_id("status", s.rule), status_doc(s)) for s in pending])

    def all_status(self) -> list[RuleStatus]:
        return self._records("status", {"term": {"kind": "status"}}, decode_status)

    # --- silences ------------------------------------------------------------------
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
        self._bulk([(doc_id("silence", x.rule, x.key), silence_doc(x)) for x in silences])
        with self._lock:
            if self._silences is not None:
                for x in silences:
                    self._silences[(x.rule, x.key)] = x

    def remove_silence(self, rule: str, key: str | None = None) -> int:
        doomed = [s for s in self.list_silences() if s.rule == rule and (key is None or s.key == key)]
        for s in doomed:
            self.backend().delete(self.index, doc_id("silence", s.rule, s.key))
            with self._lock:
                if self._silences is not None:
                    self._silences.pop((s.rule, s.key), None)
        return len(doomed)

    def list_silences(self) -> list[Silence]:
        return self._records("silence", {"term": {"kind": "silence"}}, decode_silence)

    # --- outbox --------------------------------------------------------------------
    def get_outbox(self, entry_id: str) -> OutboxEntry | None:
        with self._lock:
            known = self._known.get(entry_id)
        if known is not None:
            return copy.copy(known)
        doc = self._get(doc_id("alert", entry_id))  # real-time: an earlier process may have sent it
        entry = self._decode("alert", doc, decode_entry) if doc else None
        if entry is not None:
            with self._lock:
                self._known[entry_id] = copy.copy(entry)
        return entry

    def _recorded_ids(self) -> set[str]:
        """Ids of all outbox records, read once (paged): afterwards this process knows
        every record, because it writes all new ones itself."""
        if self._recorded is None:
            backend = self.backend()
            backend.refresh(self.index)
            body = {"query": {"term": {"kind": "alert"}}, "_source": ["key"],
                    "sort": [{"created": {"order": "asc", "unmapped_type": "date"}}]}
            ids = {str(h.source.get("key")) for h in backend.search_all(self.index, body, 10000)}
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
            for doc in self._mget([doc_id("alert", e) for e in unknown]):
                entry = self._decode("alert", doc, decode_entry) if doc is not None else None
                if entry is not None:
                    found[entry.id] = entry
                    with self._lock:
                        self._known[entry.id] = copy.copy(entry)
        return found

    def put_outbox(self, entry: OutboxEntry) -> None:
        self.put_outbox_many([entry])

    def put_outbox_many(self, entries: list[OutboxEntry]) -> None:
        self._bulk([(doc_id("alert", e.id), outbox_doc(e)) for e in entries])
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
                entry = self._decode("alert", doc, decode_entry)
                if entry is None:
                    continue
                fresh = self._get(doc_id("alert", entry.id))  # real-time: the search may lag
                entry = self._decode("alert", fresh, decode_entry) if fresh else None
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
        return self._records("alert", query, decode_entry, size)

    # --- aggregation ---------------------------------------------------------------
    def _aggregation_cache(self) -> dict[tuple[str, str], Aggregation]:
        if self._aggregations is None:
            records = self._records("aggregation", {"term": {"kind": "aggregation"}}, decode_aggregation, 10000)
            found = {(a.rule, a.key): a for a in records}
            with self._lock:
                if self._aggregations is None:
                    self._aggregations = found
        return self._aggregations

    def get_aggregation(self, rule: str, key: str) -> Aggregation | None:
        agg = self._aggregation_cache().get((rule, key))
        return copy.deepcopy(agg) if agg else None

    def put_aggregation(self, agg: Aggregation) -> None:
        self._put(doc_id("aggregation", agg.rule, agg.key), aggregation_doc(agg))
        cache = self._aggregation_cache()
        with self._lock:
            cache[(agg.rule, agg.key)] = copy.deepcopy(agg)

    def due_aggregations(self, rule: str, now: dt.datetime) -> list[Aggregation]:
        cache = self._aggregation_cache()
        with self._lock:
            return [copy.deepcopy(a) for (r, _), a in cache.items() if r == rule and a.send_at <= now]

    def delete_aggregation(self, rule: str, key: str) -> None:
        self.backend().delete(self.index, doc_id("aggregation", rule, key))  # False: already gone
        cache = self._aggregation_cache()
        with self._lock:
            cache.pop((rule, key), None)

    # --- error log -----------------------------------------------------------------
    def record_error(self, rule: str, message: str) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        self._put(doc_id("error", rule, iso(now)), error_doc(rule, message, now))

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
