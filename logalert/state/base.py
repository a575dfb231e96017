"""What a rule run remembers between runs, behind one interface.

Two implementations: in memory (test-rule, unit tests) and the writeback index
(the daemon, so a restart resumes where it stopped). Both also keep the rule leases
and replica heartbeats that let several daemons share the rules (``LeaseStore``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, Collection

from logalert.state.seen import SeenIds


@dataclass
class RuleStatus:
    rule: str
    last_end: dt.datetime | None = None
    last_run: dt.datetime | None = None
    hits: int = 0
    matches: int = 0
    alerts: int = 0
    duration: float = 0.0
    error: str | None = None
    # index/_id of documents already evaluated, by the second of their timestamps, so
    # the buffer_time overlap of the next run does not evaluate them again (compact:
    # see state/seen.py). A plain {"index/_id": timestamp} dict is accepted.
    seen: SeenIds = field(default_factory=SeenIds)
    # Alerts firing per key (query_key values, or the digest key), for send_resolved:
    # key -> {"since": ISO, "last": ISO (latest match, event time), "match": Match.record()}.
    firing: dict[str, dict] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.seen, SeenIds):
            self.seen = SeenIds.from_record(self.seen)


@dataclass
class Silence:
    rule: str
    key: str  # query_key value(s) joined, "" when the rule has no query_key
    until: dt.datetime
    exponent: int = 0
    reason: str = "realert"


@dataclass
class OutboxEntry:
    """One alert for one notifier: recorded as pending before the send, marked after."""

    id: str  # alert id + "/" + notifier name
    alert_id: str
    rule: str
    alerter: str
    subject: str
    body: str
    created: dt.datetime
    status: str = "pending"  # pending | sent | failed
    attempts: int = 0
    last_error: str | None = None
    sent_at: dt.datetime | None = None
    # The alert's first matches (Match.record()), so a retry after a restart gives
    # notifiers that build payloads from the log document (post, pagerduty…) the same input.
    matches: list[dict] = field(default_factory=list)
    alert_status: str = "firing"  # or "resolved": the notification that the alert cleared
    since: dt.datetime | None = None  # when the alert started firing (resolved ones)
    until: dt.datetime | None = None  # its last match (resolved ones)


@dataclass
class Aggregation:
    """Matches collected for one digest alert (per aggregation_key value)."""

    rule: str
    key: str
    created: dt.datetime
    send_at: dt.datetime
    matches: list[dict] = field(default_factory=list)  # JSON-able match records


@dataclass(frozen=True)
class RunError:
    """One entry of the run error log. A rule's status keeps only its last error; the log
    keeps the history, so an error that came and went can still be seen."""

    rule: str
    message: str
    created: dt.datetime


class StateStore(ABC):
    """Listings (all_status, list_silences, outbox, pending_outbox, due_aggregations) come
    in no promised order; only ``errors`` is ordered (newest first). Times are kept to the
    millisecond, in UTC, as the writeback index stores them."""

    # Set by a daemon that shares the store with other replicas: a rule's name -> why a
    # run of it may not write now (its lease ran out), None when it may. A store that
    # other processes write too (the writeback index) refuses such writes.
    gate: Callable[[str], str | None] | None = None

    @abstractmethod
    def load_status(self, rule: str) -> RuleStatus | None: ...

    @abstractmethod
    def save_status(self, status: RuleStatus) -> None: ...

    @abstractmethod
    def get_silence(self, rule: str, key: str, at: dt.datetime | None = None) -> Silence | None:
        """``at``: the time of the match being judged; a store whose memory of old
        silences does not reach back that far looks it up."""

    @abstractmethod
    def put_silence(self, silence: Silence) -> None: ...

    @abstractmethod
    def remove_silence(self, rule: str, key: str | None = None) -> int: ...

    @abstractmethod
    def list_silences(self) -> list[Silence]: ...

    @abstractmethod
    def get_outbox(self, entry_id: str) -> OutboxEntry | None: ...

    @abstractmethod
    def put_outbox(self, entry: OutboxEntry) -> None: ...

    @abstractmethod
    def pending_outbox(self, rule: str | None = None) -> list[OutboxEntry]: ...

    @abstractmethod
    def outbox(self, rule: str | None = None, size: int = 1000) -> list[OutboxEntry]: ...

    @abstractmethod
    def all_status(self) -> list[RuleStatus]: ...

    @abstractmethod
    def get_aggregation(self, rule: str, key: str) -> Aggregation | None: ...

    @abstractmethod
    def put_aggregation(self, agg: Aggregation) -> None: ...

    @abstractmethod
    def due_aggregations(self, rule: str, now: dt.datetime) -> list[Aggregation]: ...

    @abstractmethod
    def delete_aggregation(self, rule: str, key: str) -> None: ...

    def record_error(self, rule: str, message: str) -> None:
        """Keep a log of run errors where the store can (the writeback index does)."""

    def errors(self, rule: str | None = None, size: int = 100) -> list[RunError]:
        """The run error log, newest first (of ``rule`` only when given), at most ``size``;
        empty for a store that keeps no log."""
        return []

    @abstractmethod
    def purge(self, before: dt.datetime, keep_rules: Collection[str]) -> int:
        """Delete the records past retention: alerts sent or failed, run errors and
        silences that ended, all before ``before``, and statuses of rules not in
        ``keep_rules`` written before it; never a pending alert or an open digest.
        Returns how many were deleted."""

    def get_outbox_many(self, entry_ids: list[str], since: dt.datetime | None = None) -> dict[str, OutboxEntry]:
        """The entries that exist among ``entry_ids`` (stores override to read them at once).
        ``since``: the earliest match time of these alerts; a record is never created
        before its match happened, so a store that knows every record created since a
        moment before ``since`` can answer from memory."""
        found = {}
        for entry_id in entry_ids:
            entry = self.get_outbox(entry_id)
            if entry is not None:
                found[entry_id] = entry
        return found

    def put_outbox_many(self, entries: list[OutboxEntry]) -> None:
        for entry in entries:
            self.put_outbox(entry)

    def put_silences(self, silences: list[Silence]) -> None:
        for silence in silences:
            self.put_silence(silence)

    def preload_status(self, rules: list[str]) -> None:
        """Fetch many rules' statuses at once where that saves requests."""

    def deferred_status(self) -> contextlib.AbstractContextManager[None]:
        """Collect status writes within the block and write them together."""
        return contextlib.nullcontext()

    # --- several writers (replicas) ---------------------------------------------------
    def adopt(self, rules: Collection[str]) -> None:
        """This process has just become the writer of ``rules`` (it took their leases):
        what it remembers of them is re-read from the store, since another process
        wrote their status, outbox, silences and digests until now."""

    def forget(self, rules: Collection[str]) -> None:
        """This process no longer writes for ``rules``: drop what it remembers of them."""


Version = tuple[int, int]  # a record's (_seq_no, _primary_term): changes with every write


@dataclass(frozen=True)
class Lease:
    """Who runs a rule. ``version`` changes with every write (renewal, takeover,
    release); ``owner`` None: released. ``expires`` is the owner's wall clock at its
    last renewal plus the lease duration: for people, never for deciding."""

    rule: str
    owner: str | None
    version: Version
    expires: dt.datetime | None = None
    since: dt.datetime | None = None  # held by this owner since


@dataclass(frozen=True)
class LeaseWrite:
    """A conditional write of a rule's lease: ``expect`` None creates it (refused when
    it exists), else it is written only if its version is still ``expect``."""

    rule: str
    owner: str | None
    expect: Version | None
    expires: dt.datetime | None = None
    since: dt.datetime | None = None


@dataclass(frozen=True)
class LeaseOutcome:
    rule: str
    version: Version | None = None  # the new version when written
    conflict: bool = False  # someone else wrote it first (or it exists, for a create)
    error: str | None = None  # neither: the write's fate is unknown


@dataclass(frozen=True)
class Replica:
    """One daemon's heartbeat: ``beat`` grows with every renewal round."""

    id: str
    beat: int
    at: dt.datetime  # the replica's wall clock at that beat (for people and for dropping ancient entries)
    host: str = ""
    pid: int = 0
    started: dt.datetime | None = None
    rules: str = ""  # a fingerprint of the rule names it loaded: replicas share rules with their like


class LeaseStore(ABC):
    """Leases and heartbeats with optimistic concurrency: every write names the version
    it replaces, so of two replicas racing for a lease exactly one wins."""

    @abstractmethod
    def read_leases(self, rules: Collection[str]) -> dict[str, Lease]:
        """The current leases of ``rules`` (real-time); a rule without one is absent."""

    @abstractmethod
    def lease_round(self, me: Replica | None, writes: list[LeaseWrite],
                    drop: Collection[str] = ()) -> tuple[dict[str, Replica], list[LeaseOutcome]]:
        """One round trip: record ``me``'s heartbeat (and remove the replicas in ``drop``;
        ``me`` None: only remove), then the lease ``writes`` in order. Returns every
        replica's latest heartbeat and one outcome per write. Raises EngineError when the
        store cannot be reached at all."""

    @abstractmethod
    def leases(self) -> list[Lease]:
        """Every lease (``logalert status``)."""

    @abstractmethod
    def replicas(self) -> dict[str, Replica]:
        """Every replica's latest heartbeat (``logalert status``)."""
