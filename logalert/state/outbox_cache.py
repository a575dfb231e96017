"""What one process knows of the alert outbox, so a run's alerts need no lookup.

Two parts: every *pending* record (retried by the owner of its rule), and the ids of
the records *sent or failed* since ``complete_since``. The promise that lets a run skip
the lookup: every record created since ``complete_since`` by the rules this process
owns is in one of the two. It holds because the owner of a rule is its only writer:
at start-up everything of the last ``horizon`` is read; when this process takes a rule
over from another replica it reads that rule's records of the last ``horizon`` afresh
(``adopt``), and the promise starts there again; when it gives a rule up it forgets
its records (``forget``). Older matches (a backfill) are looked up in the index.
"""

from __future__ import annotations

import copy
import datetime as dt
import threading
from typing import Callable, Collection, Iterable

from logalert.state.base import OutboxEntry


class OutboxCache:
    def __init__(self, horizon: dt.timedelta, clock: Callable[[], dt.datetime]):
        self.horizon = horizon
        self._clock = clock
        self._lock = threading.Lock()
        self.pending: dict[str, OutboxEntry] | None = None
        self.done: dict[str, tuple[float, str]] | None = None  # id -> (created, rule)
        self.complete_since = 0.0

    # --- filling ---------------------------------------------------------------------
    def set_pending(self, entries: Iterable[OutboxEntry]) -> dict[str, OutboxEntry]:
        found = {e.id: e for e in entries}
        with self._lock:
            if self.pending is None:
                self.pending = found
            return self.pending

    def set_done(self, records: Iterable[tuple[str, float, str]], since: dt.datetime) -> dict[str, tuple[float, str]]:
        found = {key: (created, rule) for key, created, rule in records}
        with self._lock:
            if self.done is None:
                self.done, self.complete_since = found, since.timestamp()
            return self.done

    def adopt(self, rules: Collection[str], pending: list[OutboxEntry], done: list[tuple[str, float, str]],
              since: dt.datetime) -> None:
        """Replace what is known of ``rules`` with records read just now: their pending
        ones, and their sent or failed ones created since ``since``."""
        self.forget(rules)
        with self._lock:
            if self.pending is not None:
                self.pending.update({e.id: e for e in pending})
            if self.done is not None:
                self.done.update({key: (created, rule) for key, created, rule in done})
                # What is known of these rules starts at ``since``: so does the promise.
                self.complete_since = max(self.complete_since, since.timestamp())

    def forget(self, rules: Collection[str]) -> None:
        rules = set(rules)
        with self._lock:
            if self.pending is not None:
                for key in [k for k, e in self.pending.items() if e.rule in rules]:
                    del self.pending[key]
            if self.done is not None:
                for key in [k for k, (_, rule) in self.done.items() if rule in rules]:
                    del self.done[key]

    def forget_old(self) -> None:
        """Drop the ids that fell behind the horizon; knowledge starts there from now on."""
        cutoff = (self._clock() - self.horizon).timestamp()
        with self._lock:
            done = self.done
            if done is not None and cutoff > self.complete_since + self.horizon.total_seconds() / 10:
                for key in [k for k, (t, _) in done.items() if t < cutoff]:  # in place: writers hold this dict
                    del done[key]
                self.complete_since = cutoff

    # --- answering -------------------------------------------------------------------
    def lookup(self, entry_ids: list[str], since: dt.datetime | None) -> tuple[dict[str, OutboxEntry], list[str]]:
        """(the pending entries among ``entry_ids``, the ids still to read from the index):
        done ones, and every unknown one unless memory is complete since ``since``."""
        assert self.pending is not None and self.done is not None
        found: dict[str, OutboxEntry] = {}
        lookup = []
        trusted = since is not None and since.timestamp() >= self.complete_since
        with self._lock:
            for entry_id in entry_ids:
                if entry_id in self.pending:
                    found[entry_id] = copy.copy(self.pending[entry_id])
                elif entry_id in self.done or not trusted:
                    lookup.append(entry_id)
        return found, lookup

    def get_pending(self, entry_id: str) -> OutboxEntry | None:
        with self._lock:
            entry = (self.pending or {}).get(entry_id)
            return copy.copy(entry) if entry is not None else None

    def list_pending(self, rule: str | None) -> list[OutboxEntry]:
        with self._lock:
            return [copy.copy(e) for e in (self.pending or {}).values() if rule is None or e.rule == rule]

    def record(self, entries: Iterable[OutboxEntry]) -> None:
        """Entries just written to the index."""
        assert self.pending is not None and self.done is not None
        with self._lock:
            for entry in entries:
                if entry.status == "pending":
                    self.pending[entry.id] = entry
                else:
                    self.pending.pop(entry.id, None)
                    self.done[entry.id] = (entry.created.timestamp(), entry.rule)

    def sizes(self) -> tuple[int, int]:
        with self._lock:
            return len(self.pending or {}), len(self.done or {})
