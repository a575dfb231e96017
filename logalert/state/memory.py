"""In-memory state: test-rule and unit tests; forgets everything on exit."""

from __future__ import annotations

import copy
import threading

from logalert.state.base import OutboxEntry, RuleStatus, Silence, StateStore


class MemoryState(StateStore):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._status: dict[str, RuleStatus] = {}
        self._silences: dict[tuple[str, str], Silence] = {}
        self._outbox: dict[str, OutboxEntry] = {}

    def load_status(self, rule: str) -> RuleStatus | None:
        with self._lock:
            status = self._status.get(rule)
            return copy.deepcopy(status) if status else None

    def save_status(self, status: RuleStatus) -> None:
        with self._lock:
            self._status[status.rule] = copy.deepcopy(status)

    def get_silence(self, rule: str, key: str) -> Silence | None:
        with self._lock:
            return self._silences.get((rule, key))

    def put_silence(self, silence: Silence) -> None:
        with self._lock:
            self._silences[(silence.rule, silence.key)] = silence

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
            self._outbox[entry.id] = copy.copy(entry)

    def pending_outbox(self, rule: str | None = None) -> list[OutboxEntry]:
        with self._lock:
            return [copy.copy(e) for e in self._outbox.values()
                    if e.status == "pending" and (rule is None or e.rule == rule)]
