"""Reading and writing the writeback index: creating it with our mappings (or refusing
one with other mappings), and the record-level I/O the store is built from. Kept apart
from the store so ``writeback.py`` reads as what is cached when, not how it is fetched.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable, Iterable, Mapping

from logalert.engine import Backend
from logalert.errors import EngineError
from logalert.state.records import MAPPINGS, SETTINGS, now_iso, wrong_mappings

log = logging.getLogger(__name__)

PAGE = 5000  # records per page when a listing is read whole


class WritebackIndex:
    """One writeback index on one engine connection, created on first use."""

    def __init__(self, backend_factory: Callable[[], Backend], index: str):
        self._open_backend = backend_factory
        self.index = index
        self._ready = False
        self._lock = threading.Lock()
        # Set by a daemon sharing the index with other replicas: a rule's name -> why a
        # run of it may not write now (its lease ran out), None when it may.
        self.gate: Callable[[str], str | None] | None = None

    def _gated(self, rule: str) -> str | None:
        gate = self.gate
        return gate(rule) if gate is not None else None

    def _check_gate(self, rules: Iterable[str]) -> None:
        """Refuse the writes of a run whose rule this process no longer holds: another
        replica may own it now, and a late write must not undo its work (mark an alert
        it sent pending again, move the window end back)."""
        for rule in set(rules):
            why = self._gated(rule)
            if why:
                raise EngineError(f"rule {rule!r}: state not written: {why}")

    # --- setup ---------------------------------------------------------------------
    def backend(self) -> Backend:
        backend = self._open_backend()
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self._ensure_index(backend)
                    self._ready = True
        return backend

    def ensure_index(self) -> bool:
        """Create the index with our mappings when missing; refuse one with wrong mappings
        (EngineError saying how to fix it). Returns True when it was created."""
        backend = self._open_backend()
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

    def _search(self, query: Mapping[str, Any], size: int | None = 1000, order: str = "asc",
                source: list[str] | None = None) -> list[dict[str, Any]]:
        """Records matching ``query`` by time written; ``size=None``: all of them, paged
        (a listing cut at a page size silently loses records)."""
        backend = self.backend()
        backend.refresh(self.index)
        body: dict[str, Any] = {"query": query,
                                "sort": [{"written": {"order": order, "unmapped_type": "date"}}]}
        if source is not None:
            body["_source"] = source
        if size is None:
            return [dict(h.source) for h in backend.search_all(self.index, body, PAGE)]
        return [dict(h.source) for h in backend.search(self.index, dict(body, size=size)).hits]

    def _records(self, what: str, query: Mapping[str, Any], decode: Callable[[dict[str, Any]], Any],
                 size: int | None = 1000, order: str = "asc") -> list[Any]:
        """The decodable records a search finds; damaged ones are logged and skipped."""
        docs = self._search(query, size, order)
        return [r for r in (self._decode(what, d, decode) for d in docs) if r is not None]

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
