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
import time
from typing import Any, Callable, Collection, Iterator

from logalert.engine import Backend
from logalert.state.base import Aggregation, OutboxEntry, RuleStatus, RunError, Silence, StateStore
from logalert.state.index import PAGE, WritebackIndex
from logalert.state.records import (
    aggregation_doc,
    copy_status,
    decode_aggregation,
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


class EngineState(WritebackIndex, StateStore):
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
        # This process is the only writer of its rules' records (one daemon per writeback
        # index), so records read once are kept in memory: a tick of 500 rules then costs
        # a handful of requests, not several per rule.
        self._status: dict[str, RuleStatus] = {}
        self._no_status: set[str] = set()  # rules known to have no status record yet
        self._silences: dict[tuple[str, str], Silence] | None = None
        self._silences_loaded = 0.0
        self._silences_cover = dt.datetime.max.replace(tzinfo=dt.timezone.utc)
        self._pending: dict[str, OutboxEntry] | None = None
        # Outbox records sent or failed, by id -> created (epoch seconds), for the records
        # created since ``_complete_since``: every record of that period is either here or
        # pending, so a new alert whose matches are that recent needs no lookup.
        self._done: dict[str, float] | None = None
        self._complete_since = 0.0
        self._aggregations: dict[tuple[str, str], Aggregation] | None = None
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
        self._no_status.discard(status.rule)
        doc = status_doc(status)
        stored = decode_status(doc)  # as a reader of the index will see it (milliseconds)
        with self._lock:
            self._status[status.rule] = stored
            if self._deferred is not None:
                self._deferred.append(copy_status(stored))
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
            if pending:
                self._bulk([(doc_id("status", s.rule), status_doc(s)) for s in pending])

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
        pending = self._pending_cache()
        with self._lock:
            entry = pending.get(entry_id)
        if entry is not None:
            return copy.copy(entry)
        doc = self._get(doc_id("alert", entry_id))  # real-time: an earlier process may have sent it
        return self._decode("alert", doc, decode_entry) if doc else None

    def _done_cache(self) -> dict[str, float]:
        """Ids of the sent and failed records of the last ``horizon``, read once (paged,
        ids only); afterwards this process writes every new record itself."""
        if self._done is None:
            since = self._clock() - self.horizon
            query = {"bool": {"filter": [{"term": {"kind": "alert"}}, {"range": {"created": {"gte": iso(since)}}}],
                              "must_not": [{"term": {"status": "pending"}}]}}
            docs = self._search(query, None, source=["key", "created"])
            done = {str(d["key"]): epoch_of(d.get("created")) for d in docs if d.get("key") is not None}
            with self._lock:
                if self._done is None:
                    self._done, self._complete_since = done, since.timestamp()
        return self._done

    def _forget_old(self) -> None:
        """Drop the ids that fell behind the horizon; knowledge starts there from now on."""
        cutoff = (self._clock() - self.horizon).timestamp()
        with self._lock:
            done = self._done
            if done is not None and cutoff > self._complete_since + self.horizon.total_seconds() / 10:
                for key in [k for k, t in done.items() if t < cutoff]:  # in place: writers hold this dict
                    del done[key]
                self._complete_since = cutoff

    def get_outbox_many(self, entry_ids: list[str], since: dt.datetime | None = None) -> dict[str, OutboxEntry]:
        found: dict[str, OutboxEntry] = {}
        pending, done = self._pending_cache(), self._done_cache()
        self._forget_old()
        trusted = since is not None and since.timestamp() >= self._complete_since
        lookup = []
        with self._lock:
            for entry_id in entry_ids:
                if entry_id in pending:
                    found[entry_id] = copy.copy(pending[entry_id])
                elif entry_id in done or not trusted:
                    lookup.append(entry_id)
        if lookup:  # done, or older than what this process knows: read them (real-time)
            for doc in self._mget([doc_id("alert", e) for e in lookup]):
                entry = self._decode("alert", doc, decode_entry) if doc is not None else None
                if entry is not None:
                    found[entry.id] = entry
        return found

    def put_outbox(self, entry: OutboxEntry) -> None:
        self.put_outbox_many([entry])

    def put_outbox_many(self, entries: list[OutboxEntry]) -> None:
        docs = [(doc_id("alert", e.id), outbox_doc(e)) for e in entries]
        self._bulk(docs)
        pending, done = self._pending_cache(), self._done_cache()
        with self._lock:
            for _, doc in docs:
                entry = decode_entry(doc)
                if entry.status == "pending":
                    pending[entry.id] = entry
                else:
                    pending.pop(entry.id, None)
                    done[entry.id] = entry.created.timestamp()

    def pending_outbox(self, rule: str | None = None) -> list[OutboxEntry]:
        """Pending alerts: read from the index once (what earlier processes left), then
        kept up to date in memory by put_outbox."""
        pending = self._pending_cache()
        with self._lock:
            return [copy.copy(e) for e in pending.values() if rule is None or e.rule == rule]

    def _pending_cache(self) -> dict[str, OutboxEntry]:
        if self._pending is None:
            query = {"bool": {"filter": [{"term": {"kind": "alert"}}, {"term": {"status": "pending"}}]}}
            found: dict[str, OutboxEntry] = {}
            listed = [e for e in (self._decode("alert", d, decode_entry) for d in self._search(query, size=None)) if e]
            for start in range(0, len(listed), PAGE):  # real-time re-read: the search may lag
                for doc in self._mget([doc_id("alert", e.id) for e in listed[start:start + PAGE]]):
                    entry = self._decode("alert", doc, decode_entry) if doc is not None else None
                    if entry is not None and entry.status == "pending":
                        found[entry.id] = entry
            with self._lock:
                if self._pending is None:
                    self._pending = found
        return self._pending

    def outbox(self, rule: str | None = None, size: int = 1000) -> list[OutboxEntry]:
        query: dict[str, Any] = {"bool": {"filter": [{"term": {"kind": "alert"}}]}}
        if rule is not None:
            query["bool"]["filter"].append({"term": {"rule": rule}})
        return self._records("alert", query, decode_entry, size)

    # --- aggregation ---------------------------------------------------------------
    def _aggregation_cache(self) -> dict[tuple[str, str], Aggregation]:
        if self._aggregations is None:
            records = self._records("aggregation", {"term": {"kind": "aggregation"}}, decode_aggregation, size=None)
            found = {(a.rule, a.key): a for a in records}
            with self._lock:
                if self._aggregations is None:
                    self._aggregations = found
        return self._aggregations

    def get_aggregation(self, rule: str, key: str) -> Aggregation | None:
        agg = self._aggregation_cache().get((rule, key))
        return copy.deepcopy(agg) if agg else None

    def put_aggregation(self, agg: Aggregation) -> None:
        doc = aggregation_doc(agg)
        self._put(doc_id("aggregation", agg.rule, agg.key), doc)
        cache = self._aggregation_cache()
        with self._lock:
            cache[(agg.rule, agg.key)] = copy.deepcopy(decode_aggregation(doc))

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
            return {"status": len(self._status), "silences": len(self._silences or {}),
                    "pending": len(self._pending or {}), "done": len(self._done or {}),
                    "aggregations": len(self._aggregations or {})}

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
