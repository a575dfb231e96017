"""In-memory state: test-rule and unit tests; forgets everything on exit."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import threading
from typing import Collection

from logalert.state.base import (
    Aggregation,
    Lease,
    LeaseOutcome,
    LeaseStore,
    LeaseWrite,
    OutboxEntry,
    Replica,
    RuleStatus,
    RunError,
    Silence,
    StateStore,
)
from logalert.timeutil import ensure_utc


def _stored(value: dt.datetime | None) -> dt.datetime | None:
    """A time as the writeback index gives it back (UTC, whole milliseconds), so a rule
    tested here reads back the same windows and silences the daemon does."""
    if value is None:
        return None
    value = ensure_utc(value)
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


class MemoryState(StateStore, LeaseStore):
    """One process's state. Replicas sharing one MemoryState (unit tests of the lease
    protocol) see one another's writes at once, as they would through the index."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status: dict[str, RuleStatus] = {}
        self._silences: dict[tuple[str, str], Silence] = {}
        self._outbox: dict[str, OutboxEntry] = {}
        self._aggregations: dict[tuple[str, str], Aggregation] = {}
        self._errors: list[RunError] = []
        self._written: dict[str, dt.datetime] = {}  # when each status was last saved
        self._leases: dict[str, Lease] = {}
        self._lease_written: dict[str, dt.datetime] = {}
        self._replicas: dict[str, Replica] = {}
        self._seq = 0

    def load_status(self, rule: str) -> RuleStatus | None:
        with self._lock:
            status = self._status.get(rule)
            return copy.deepcopy(status) if status else None

    def save_status(self, status: RuleStatus) -> None:
        with self._lock:
            self._written[status.rule] = dt.datetime.now(dt.timezone.utc)
            self._status[status.rule] = copy.deepcopy(dataclasses.replace(
                status, last_end=_stored(status.last_end), last_run=_stored(status.last_run)))

    def get_silence(self, rule: str, key: str, at: dt.datetime | None = None) -> Silence | None:
        with self._lock:
            return self._silences.get((rule, key))

    def put_silence(self, silence: Silence) -> None:
        with self._lock:
            self._silences[(silence.rule, silence.key)] = dataclasses.replace(silence, until=_stored(silence.until))

    def remove_silence(self, rule: str, key: str | None = None) -> int:
        with self._lock:
            doomed = [k for k in self._silences if k[0] == rule and (key is None or k[1] == key)]
            for k in doomed:
                del self._silences[k]
            return len(doomed)

    def list_silences(self) -> list[Silence]:
        with self._lock:
            return list(self._silences.values())

    def get_outbox(self, entry_id: str) -> OutboxEntry | None:
        with self._lock:
            entry = self._outbox.get(entry_id)
            return copy.copy(entry) if entry else None

    def put_outbox(self, entry: OutboxEntry) -> None:
        with self._lock:
            self._outbox[entry.id] = dataclasses.replace(entry, created=_stored(entry.created),
                                                         sent_at=_stored(entry.sent_at), since=_stored(entry.since))

    def pending_outbox(self, rule: str | None = None) -> list[OutboxEntry]:
        with self._lock:
            return [copy.copy(e) for e in self._outbox.values()
                    if e.status == "pending" and (rule is None or e.rule == rule)]

    def outbox(self, rule: str | None = None, size: int = 1000) -> list[OutboxEntry]:
        with self._lock:
            return [copy.copy(e) for e in self._outbox.values() if rule is None or e.rule == rule][:size]

    def all_status(self) -> list[RuleStatus]:
        with self._lock:
            return [copy.deepcopy(s) for s in self._status.values()]

    def get_aggregation(self, rule: str, key: str) -> Aggregation | None:
        with self._lock:
            agg = self._aggregations.get((rule, key))
            return copy.deepcopy(agg) if agg else None

    def put_aggregation(self, agg: Aggregation) -> None:
        with self._lock:
            self._aggregations[(agg.rule, agg.key)] = copy.deepcopy(dataclasses.replace(
                agg, created=_stored(agg.created), send_at=_stored(agg.send_at)))

    def due_aggregations(self, rule: str, now: dt.datetime) -> list[Aggregation]:
        with self._lock:
            return [copy.deepcopy(a) for (r, _), a in self._aggregations.items() if r == rule and a.send_at <= now]

    def delete_aggregation(self, rule: str, key: str) -> None:
        with self._lock:
            self._aggregations.pop((rule, key), None)

    def record_error(self, rule: str, message: str) -> None:
        created = _stored(dt.datetime.now(dt.timezone.utc))
        with self._lock:
            self._errors.append(RunError(rule, message, created))

    def errors(self, rule: str | None = None, size: int = 100) -> list[RunError]:
        with self._lock:
            return [e for e in reversed(self._errors) if rule is None or e.rule == rule][:size]

    def purge(self, before: dt.datetime, keep_rules: Collection[str]) -> int:
        with self._lock:
            alerts = [k for k, e in self._outbox.items() if e.status != "pending" and e.created < before]
            silences = [k for k, x in self._silences.items() if x.until < before]
            statuses = [r for r in self._status if r not in keep_rules and self._written.get(r, before) < before]
            errors = [e for e in self._errors if e.created < before]
            leases = [r for r, t in self._lease_written.items() if r not in keep_rules and t < before]
            for r in leases:
                del self._leases[r], self._lease_written[r]
            for k in alerts:
                del self._outbox[k]
            for k in silences:
                del self._silences[k]
            for r in statuses:
                del self._status[r]
            self._errors = [e for e in self._errors if e.created >= before]
            return len(alerts) + len(silences) + len(statuses) + len(errors) + len(leases)

    # --- leases ----------------------------------------------------------------------
    def read_leases(self, rules: Collection[str]) -> dict[str, Lease]:
        with self._lock:
            return {r: self._leases[r] for r in rules if r in self._leases}

    def lease_round(self, me: Replica | None, writes: list[LeaseWrite],
                    drop: Collection[str] = ()) -> tuple[dict[str, Replica], list[LeaseOutcome]]:
        outcomes = []
        with self._lock:
            for gone in drop:
                self._replicas.pop(gone, None)
            if me is not None:
                self._replicas[me.id] = me
            for write in writes:
                current = self._leases.get(write.rule)
                if (current.version if current else None) != write.expect:
                    outcomes.append(LeaseOutcome(write.rule, conflict=True))
                    continue
                self._seq += 1
                self._lease_written[write.rule] = dt.datetime.now(dt.timezone.utc)
                self._leases[write.rule] = Lease(write.rule, write.owner, (self._seq, 1), _stored(write.expires),
                                                 _stored(write.since))
                outcomes.append(LeaseOutcome(write.rule, version=(self._seq, 1)))
            return dict(self._replicas), outcomes

    def leases(self) -> list[Lease]:
        with self._lock:
            return list(self._leases.values())

    def replicas(self) -> dict[str, Replica]:
        with self._lock:
            return dict(self._replicas)
