"""State in the writeback index, so a restart (kill -9 included) resumes where it stopped.

The records and their mappings are in ``logalert.state.records``; this is the store:
what it reads when, and what it keeps in memory. Reads of single records use GET,
which is real-time; searches (pending alerts, silences) are re-checked with GET before
acting, so a not-yet-refreshed index never causes a second send.

Several daemons (replicas) may share one index: each rule has one writer at a time, the
holder of its lease (``logalert.daemon.leases``). What this store remembers of a rule is
trusted only while this process holds it: taking a rule over re-reads the rule's
records (``adopt``), giving it up forgets them (``forget``), and ``gate`` refuses the
writes of a run whose lease ran out meanwhile.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import time
from typing import Any, Callable, Collection, Iterator

from logalert.engine import Backend
from logalert.state.base import OutboxEntry, RuleStatus, RunError, Silence, StateStore
from logalert.state.digest_index import DigestIndex
from logalert.state.index import PAGE
from logalert.state.lease_index import LeaseIndex
from logalert.state.outbox_cache import OutboxCache
from logalert.state.records import (
    copy_status,
    decode_entry,
    decode_silence,
    decode_status,
    doc_id,
    epoch_of,
    error_doc,
    outbox_doc,
    purge_query,
    silence_doc,
    status_doc,
)
from logalert.state.records import date_of as _date
from logalert.timeutil import iso, now

__all__ = ["DEFAULT_HORIZON", "EngineState", "doc_id"]

log = logging.getLogger(__name__)

DEFAULT_HORIZON = dt.timedelta(hours=2)
# Ended silences kept in memory this long (at least): exponential_realert backoff
# longer than this starts afresh after a quiet day.
SILENCE_HORIZON = dt.timedelta(days=1)
PURGE_BATCH = 10000  # records deleted per retention request
STATUS_BULK = 200  # deferred statuses per _bulk request


class EngineState(LeaseIndex, DigestIndex, StateStore):
    # A manual `logalert silence` from another process is seen within this many seconds.
    SILENCE_REFRESH_SECONDS = 30.0

    def __init__(self, backend_factory: Callable[[], Backend], index: str, *,
                 horizon: dt.timedelta = DEFAULT_HORIZON, clock: Callable[[], dt.datetime] = now):
        super().__init__(backend_factory, index)
        # What this process keeps in memory and reads at start-up reaches back ``horizon``
        # at most, never the whole history: older alerts are looked up when (rarely) a run
        # produces one again, so memory and start-up time depend on time, not on the age
        # of the installation.
        self.horizon = horizon
        self._clock = clock
        # This process is the only writer of its rules' records while it holds their
        # leases, so records read once are kept in memory: a tick of 500 rules then costs
        # a handful of requests, not several per rule.
        self._status: dict[str, RuleStatus] = {}
        self._no_status: set[str] = set()  # rules known to have no status record yet
        self._silences: dict[tuple[str, str], Silence] | None = None
        self._silences_loaded = 0.0
        self._silences_cover = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
        self._outbox = OutboxCache(horizon, clock)
        self._deferred: list[RuleStatus] | None = None
        self._deferring = 0  # open deferred_status blocks

    # --- status --------------------------------------------------------------------
    def preload_status(self, rules: list[str]) -> None:
        """One multi-get for the statuses of many rules (a tick's first run)."""
        missing = [r for r in rules if r not in self._status]
        if not missing:
            return
        docs = self._mget([doc_id("status", r) for r in missing])
        for name, doc in zip(missing, docs):
            status = self._decode("status", doc, decode_status) if doc is not None else None
            with self._lock:
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
            with self._lock:
                self._status[rule] = status
        return copy_status(self._status[rule])

    def save_status(self, status: RuleStatus) -> None:
        self._check_gate([status.rule])
        self._no_status.discard(status.rule)
        doc = status_doc(status)
        # As a reader of the index will see it (milliseconds). The seen ids are already in
        # their stored form: copied, not decoded again entry by entry.
        stored = decode_status(dict(doc, seen={}))
        stored.seen = status.seen.copy()
        with self._lock:
            self._status[status.rule] = stored
            if self._deferred is not None:
                # The cache entry is replaced on the next save, never changed in place
                # (load_status hands out copies): the deferred write may share it.
                self._deferred.append(stored)
                return
        self._put(doc_id("status", status.rule), doc)

    @contextlib.contextmanager
    def deferred_status(self) -> Iterator[None]:
        """Within the block, status writes are collected and sent as one _bulk at the end
        (a tick of many rules). Safe: a lost status only makes the next run re-evaluate a
        window, and the outbox keeps that from repeating alerts."""
        with self._lock:
            # Ticks of different run_every may overlap: the writes of all open blocks are
            # collected together and written when the last one ends, none dropped.
            self._deferring += 1
            if self._deferred is None:
                self._deferred = []
        try:
            yield
        finally:
            with self._lock:
                self._deferring -= 1
                pending: list[RuleStatus] = []
                if self._deferring == 0:
                    pending, self._deferred = self._deferred or [], None
            self._bulk_status([s for s in pending if not self._gated(s.rule)])

    def _bulk_status(self, statuses: list[RuleStatus]) -> None:
        """In _bulk requests of at most STATUS_BULK statuses: no request body holds every rule's."""
        for i in range(0, len(statuses), STATUS_BULK):
            self._bulk([(doc_id("status", x.rule), status_doc(x)) for x in statuses[i:i + STATUS_BULK]])

    # --- taking rules over, giving them up (replicas) ---------------------------------
    def adopt(self, rules: Collection[str]) -> None:
        """Re-read what another replica wrote for ``rules`` until now: their statuses
        (real-time), pending alerts, alerts sent or failed in the last horizon, silences
        and open digests. Caches not read yet are left alone: they are read whole later."""
        rules = sorted(set(rules))
        if not rules:
            return
        docs = self._mget([doc_id("status", r) for r in rules])
        with self._lock:
            for name, doc in zip(rules, docs):
                status = self._decode("status", doc, decode_status) if doc is not None else None
                self._status.pop(name, None)
                self._no_status.discard(name)
                if status is not None:
                    self._status[name] = status
                else:
                    self._no_status.add(name)
        if self._outbox.pending is not None or self._outbox.done is not None:
            since = self._clock() - self.horizon
            pending = self._read_pending(rules) if self._outbox.pending is not None else []
            done = self._done_since(since, rules) if self._outbox.done is not None else []
            self._outbox.adopt(rules, pending, done, since)
        if self._silences is not None:
            query = {"bool": {"filter": [{"term": {"kind": "silence"}}, {"terms": {"rule": rules}},
                                         {"range": {"until": {"gte": iso(self._silences_cover)}}}]}}
            fresh = self._records("silence", query, decode_silence, size=None)
            with self._lock:
                if self._silences is not None:
                    for key in [k for k in self._silences if k[0] in rules]:
                        del self._silences[key]
                    self._silences.update({(x.rule, x.key): x for x in fresh})
        self.adopt_digests(rules)

    def forget(self, rules: Collection[str]) -> None:
        """Give ``rules`` up: their status writes still deferred go out first (unless the
        gate refuses them: the lease ran out), then their records leave memory. Raises
        EngineError when those writes fail (the caller keeps the rules and tries again)."""
        rules = set(rules)
        with self._lock:
            deferred = [x for x in self._deferred or [] if x.rule in rules]
        final = {x.rule: x for x in deferred if not self._gated(x.rule)}  # the last write of each wins
        self._bulk_status(list(final.values()))
        with self._lock:
            if self._deferred is not None:
                self._deferred = [x for x in self._deferred if x.rule not in rules]
            for name in rules:
                self._status.pop(name, None)
                self._no_status.discard(name)
            if self._silences is not None:
                for key in [k for k in self._silences if k[0] in rules]:
                    del self._silences[key]
        self._outbox.forget(rules)
        self.forget_digests(rules)

    def all_status(self) -> list[RuleStatus]:
        return self._records("status", {"term": {"kind": "status"}}, decode_status, size=None)

    # --- silences ------------------------------------------------------------------
    def _silence_cache(self) -> dict[tuple[str, str], Silence]:
        """The silences that ended at most ``silence_horizon`` ago (realert compares new
        matches with them; an expired one still sets the exponential backoff of the next
        for a while), all of them, re-read every SILENCE_REFRESH_SECONDS."""
        now_mono = time.monotonic()
        if self._silences is None or now_mono - self._silences_loaded > self.SILENCE_REFRESH_SECONDS:
            # _search refreshes first, so our own writes are in the answer; replacing the
            # cache whole also drops silences another process removed.
            cover = self._clock() - max(self.horizon, SILENCE_HORIZON)
            query = {"bool": {"filter": [{"term": {"kind": "silence"}}, {"range": {"until": {"gte": iso(cover)}}}]}}
            fresh = {(x.rule, x.key): x for x in self._records("silence", query, decode_silence, size=None)}
            with self._lock:
                self._silences, self._silences_loaded, self._silences_cover = fresh, now_mono, cover
        return self._silences

    def get_silence(self, rule: str, key: str, at: dt.datetime | None = None) -> Silence | None:
        cache = self._silence_cache()
        found = cache.get((rule, key))
        if found is not None or (at is not None and at >= self._silences_cover):
            return found
        if at is not None:
            # A match older than the cache reaches (a backfill, a catch-up): read the
            # silences that ended since then once, for every key; until the next refresh
            # the cache reaches back to ``at``.
            self._extend_silences(at)
            return self._silence_cache().get((rule, key))
        doc = self._get(doc_id("silence", rule, key))  # no match time given: one real-time read
        return self._decode("silence", doc, decode_silence) if doc else None

    def _extend_silences(self, at: dt.datetime) -> None:
        cover = self._silences_cover
        query = {"bool": {"filter": [{"term": {"kind": "silence"}},
                                     {"range": {"until": {"gte": iso(at), "lt": iso(cover)}}}]}}
        older = self._records("silence", query, decode_silence, size=None)
        with self._lock:
            if self._silences is not None:
                for x in older:
                    self._silences.setdefault((x.rule, x.key), x)
                self._silences_cover = min(self._silences_cover, at)

    def put_silence(self, silence: Silence) -> None:
        self.put_silences([silence])

    def put_silences(self, silences: list[Silence]) -> None:
        self._check_gate([x.rule for x in silences if x.reason == "realert"])
        docs = [(doc_id("silence", x.rule, x.key), silence_doc(x)) for x in silences]
        self._bulk(docs)
        with self._lock:
            if self._silences is not None:
                for _, doc in docs:
                    x = decode_silence(doc)
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
        return self._records("silence", {"term": {"kind": "silence"}}, decode_silence, size=None)

    # --- outbox --------------------------------------------------------------------
    def get_outbox(self, entry_id: str) -> OutboxEntry | None:
        self._pending_cache()
        entry = self._outbox.get_pending(entry_id)
        if entry is not None:
            return entry
        doc = self._get(doc_id("alert", entry_id))  # real-time: an earlier process may have sent it
        return self._decode("alert", doc, decode_entry) if doc else None

    def _done_cache(self) -> None:
        """Ids of the sent and failed records of the last ``horizon``, read once (paged,
        ids only); afterwards this process writes every new record of its rules itself."""
        if self._outbox.done is None:
            since = self._clock() - self.horizon
            self._outbox.set_done(self._done_since(since), since)

    def _done_since(self, since: dt.datetime, rules: Collection[str] | None = None) -> list[tuple[str, float, str]]:
        filters: list[dict[str, Any]] = [{"term": {"kind": "alert"}}, {"range": {"created": {"gte": iso(since)}}}]
        if rules is not None:
            filters.append({"terms": {"rule": sorted(rules)}})
        query = {"bool": {"filter": filters, "must_not": [{"term": {"status": "pending"}}]}}
        docs = self._search(query, None, source=["key", "created", "rule"])
        return [(str(d["key"]), epoch_of(d.get("created")), str(d.get("rule") or "")) for d in docs
                if d.get("key") is not None]

    def get_outbox_many(self, entry_ids: list[str], since: dt.datetime | None = None) -> dict[str, OutboxEntry]:
        self._pending_cache()
        self._done_cache()
        self._outbox.forget_old()
        found, lookup = self._outbox.lookup(entry_ids, since)
        if lookup:  # done, or older than what this process knows: read them (real-time)
            for doc in self._mget([doc_id("alert", e) for e in lookup]):
                entry = self._decode("alert", doc, decode_entry) if doc is not None else None
                if entry is not None:
                    found[entry.id] = entry
        return found

    def put_outbox(self, entry: OutboxEntry) -> None:
        self.put_outbox_many([entry])

    def put_outbox_many(self, entries: list[OutboxEntry]) -> None:
        self._check_gate([e.rule for e in entries])
        docs = [(doc_id("alert", e.id), outbox_doc(e)) for e in entries]
        self._bulk(docs)
        self._pending_cache()
        self._done_cache()
        self._outbox.record(decode_entry(doc) for _, doc in docs)

    def pending_outbox(self, rule: str | None = None) -> list[OutboxEntry]:
        """Pending alerts: read from the index once (what earlier processes left), then
        kept up to date in memory by put_outbox."""
        self._pending_cache()
        return self._outbox.list_pending(rule)

    def _pending_cache(self) -> None:
        if self._outbox.pending is None:
            self._outbox.set_pending(self._read_pending())

    def _read_pending(self, rules: Collection[str] | None = None) -> list[OutboxEntry]:
        filters: list[dict[str, Any]] = [{"term": {"kind": "alert"}}, {"term": {"status": "pending"}}]
        if rules is not None:
            filters.append({"terms": {"rule": sorted(rules)}})
        listed = [e for e in (self._decode("alert", d, decode_entry)
                              for d in self._search({"bool": {"filter": filters}}, size=None)) if e]
        found: list[OutboxEntry] = []
        for start in range(0, len(listed), PAGE):  # real-time re-read: the search may lag
            for doc in self._mget([doc_id("alert", e.id) for e in listed[start:start + PAGE]]):
                entry = self._decode("alert", doc, decode_entry) if doc is not None else None
                if entry is not None and entry.status == "pending":
                    found.append(entry)
        return found

    def outbox(self, rule: str | None = None, size: int = 1000) -> list[OutboxEntry]:
        query: dict[str, Any] = {"bool": {"filter": [{"term": {"kind": "alert"}}]}}
        if rule is not None:
            query["bool"]["filter"].append({"term": {"rule": rule}})
        return self._records("alert", query, decode_entry, size)

    # --- error log -----------------------------------------------------------------
    def record_error(self, rule: str, message: str) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        self._put(doc_id("error", rule, iso(now)), error_doc(rule, message, now))

    def errors(self, rule: str | None = None, size: int = 100) -> list[RunError]:
        """The run error log, newest first."""
        def decode(doc: dict[str, Any]) -> RunError:
            created = _date(doc["created"])
            if created is None:
                raise ValueError("created is missing")
            return RunError(str(doc["rule"]), str(doc.get("error") or ""), created)

        filters: list[dict[str, Any]] = [{"term": {"kind": "error"}}]
        if rule is not None:
            filters.append({"term": {"rule": rule}})
        return self._records("error", {"bool": {"filter": filters}}, decode, size, order="desc")

    def cached(self) -> dict[str, int]:
        """How many records each in-memory cache holds (entries, not bytes): what the
        bound on memory is stated and tested in."""
        with self._lock:
            counts = {"status": len(self._status), "silences": len(self._silences or {}),
                      "aggregations": len(self._aggregations or {})}
        counts["pending"], counts["done"] = self._outbox.sizes()
        return counts

    # --- retention -----------------------------------------------------------------
    def purge(self, before: dt.datetime, keep_rules: Collection[str]) -> int:
        """Delete what no run can need again: alerts sent or failed, run errors and
        silences that ended, all before ``before``, and the statuses of rules no longer
        loaded that last ran before it. Pending alerts and open digests are never
        deleted. Batched by the engine (delete_by_query); returns how many went."""
        backend, query, deleted = self.backend(), purge_query(before, keep_rules), 0
        while True:  # bounded requests: a first pass over years of records must not time out
            batch = backend.delete_by_query(self.index, query, max_docs=PURGE_BATCH)
            deleted += batch
            if batch < PURGE_BATCH:
                break
        with self._lock:
            for rule, status in list(self._status.items()):
                if rule not in keep_rules and status.last_run is not None and status.last_run < before:
                    del self._status[rule]
            if self._silences is not None:
                self._silences = {k: x for k, x in self._silences.items() if x.until >= before}
        return deleted
