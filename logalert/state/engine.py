"""State in the writeback index, so a restart (kill -9 included) resumes where it stopped.

One index holds every kind of record, told apart by ``kind``: ``status`` (one per rule:
last window end, counts, last error, the ids evaluated in the overlap), ``silence``,
``alert`` (the outbox: one per alert and notifier), ``aggregation`` (matches waiting for
their digest) and ``error`` (a log of run errors). Reads of single records use GET,
which is real-time; searches (pending alerts, silences) are re-checked with GET before
acting, so a not-yet-refreshed index never causes a second send.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import threading
from typing import Any, Callable, Mapping

from logalert.backend.base import Backend
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


class CorruptRecord(ValueError):
    """A document in the writeback index that is not one of ours or is damaged."""


class EngineState(StateStore):
    def __init__(self, backend_factory: Callable[[], Backend], index: str):
        self._factory = backend_factory
        self.index = index
        self._ready = False
        self._lock = threading.Lock()

    # --- setup ---------------------------------------------------------------------
    def backend(self) -> Backend:
        backend = self._factory()
        if not self._ready:
            with self._lock:
                if not self._ready:
                    self.ensure_index(backend)
                    self._ready = True
        return backend

    def ensure_index(self, backend: Backend) -> bool:
        """Create the index with our mappings when missing; refuse one with wrong mappings.
        Returns True when it was created."""
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
        return self.backend().get(self.index, id_)

    def _search(self, query: Mapping[str, Any], size: int = 1000) -> list[dict[str, Any]]:
        self.backend()._call("POST", f"/{self.index}/_refresh")
        response = self.backend().search(self.index, {"query": query, "size": size,
                                                      "sort": [{"written": {"order": "asc", "unmapped_type": "date"}}]})
        return [h["_source"] for h in response["hits"]["hits"]]

    def _decode(self, what: str, doc: dict[str, Any], decode: Callable[[dict[str, Any]], Any]) -> Any:
        try:
            return decode(doc)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            log.error("writeback index %s: skipping a damaged or foreign %s record (%s: %s): %.200r",
                      self.index, what, type(exc).__name__, exc, doc)
            return None

    # --- status --------------------------------------------------------------------
    def load_status(self, rule: str) -> RuleStatus | None:
        doc = self._get(doc_id("status", rule))
        if doc is None:
            return None
        return self._decode("status", doc, lambda d: RuleStatus(
            rule=str(d["rule"]), last_end=_date(d.get("last_end")), last_run=_date(d.get("last_run")),
            hits=int(d.get("hits") or 0), matches=int(d.get("matches") or 0), alerts=int(d.get("alerts") or 0),
            duration=float(d.get("duration") or 0.0), error=d.get("error"),
            seen={str(k): float(v) for k, v in (d.get("seen") or {}).items()}))

    def save_status(self, status: RuleStatus) -> None:
        self._put(doc_id("status", status.rule), {
            "kind": "status", "rule": status.rule, "last_end": _opt_iso(status.last_end),
            "last_run": _opt_iso(status.last_run), "hits": status.hits, "matches": status.matches,
            "alerts": status.alerts, "duration": status.duration, "error": status.error, "seen": status.seen})

    def all_status(self) -> list[RuleStatus]:
        out = []
        for doc in self._search({"term": {"kind": "status"}}):
            status = self._decode("status", doc, lambda d: self.load_status(str(d["rule"])))
            if status:
                out.append(status)
        return out

    # --- silences ------------------------------------------------------------------
    def _silence(self, doc: dict[str, Any]) -> Silence:
        until = _date(doc["until"])
        if until is None:
            raise ValueError("until is missing")
        return Silence(str(doc["rule"]), str(doc.get("key") or ""), until, int(doc.get("exponent") or 0),
                       str(doc.get("reason") or "realert"))

    def get_silence(self, rule: str, key: str) -> Silence | None:
        doc = self._get(doc_id("silence", rule, key))
        return self._decode("silence", doc, self._silence) if doc else None

    def put_silence(self, silence: Silence) -> None:
        self._put(doc_id("silence", silence.rule, silence.key), {
            "kind": "silence", "rule": silence.rule, "key": silence.key, "until": iso(silence.until),
            "exponent": silence.exponent, "reason": silence.reason})

    def remove_silence(self, rule: str, key: str | None = None) -> int:
        doomed = [s for s in self.list_silences() if s.rule == rule and (key is None or s.key == key)]
        for s in doomed:
            self.backend()._call("DELETE", f"/{self.index}/_doc/{doc_id('silence', s.rule, s.key)}")
        return len(doomed)

    def list_silences(self) -> list[Silence]:
        docs = self._search({"term": {"kind": "silence"}})
        return [s for s in (self._decode("silence", d, self._silence) for d in docs) if s]

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
        doc = self._get(doc_id("alert", entry_id))
        return self._decode("alert", doc, self._entry) if doc else None

    def put_outbox(self, entry: OutboxEntry) -> None:
        self._put(doc_id("alert", entry.id), {
            "kind": "alert", "key": entry.id, "alert_id": entry.alert_id, "rule": entry.rule,
            "alerter": entry.alerter, "subject": entry.subject, "body": entry.body, "created": iso(entry.created),
            "status": entry.status, "attempts": entry.attempts, "last_error": entry.last_error,
            "sent_at": _opt_iso(entry.sent_at)})

    def pending_outbox(self, rule: str | None = None) -> list[OutboxEntry]:
        query: dict[str, Any] = {"bool": {"filter": [{"term": {"kind": "alert"}}, {"term": {"status": "pending"}}]}}
        if rule is not None:
            query["bool"]["filter"].append({"term": {"rule": rule}})
        out = []
        for doc in self._search(query):
            entry = self._decode("alert", doc, self._entry)
            if entry is None:
                continue
            fresh = self.get_outbox(entry.id)  # real-time view: never resend what was just sent
            if fresh is not None and fresh.status == "pending":
                out.append(fresh)
        return out

    def outbox(self, rule: str | None = None, size: int = 1000) -> list[OutboxEntry]:
        query: dict[str, Any] = {"bool": {"filter": [{"term": {"kind": "alert"}}]}}
        if rule is not None:
            query["bool"]["filter"].append({"term": {"rule": rule}})
        return [e for e in (self._decode("alert", d, self._entry) for d in self._search(query, size)) if e]

    # --- aggregation ---------------------------------------------------------------
    def _aggregation(self, doc: dict[str, Any]) -> Aggregation:
        send_at, created = _date(doc["send_at"]), _date(doc["created"])
        if send_at is None or created is None or not isinstance(doc.get("items"), dict):
            raise ValueError("not an aggregation record")
        return Aggregation(rule=str(doc["rule"]), key=str(doc.get("key") or ""), created=created,
                           send_at=send_at, matches=list(doc["items"].get("matches") or []))

    def get_aggregation(self, rule: str, key: str) -> Aggregation | None:
        doc = self._get(doc_id("aggregation", rule, key))
        return self._decode("aggregation", doc, self._aggregation) if doc else None

    def put_aggregation(self, agg: Aggregation) -> None:
        self._put(doc_id("aggregation", agg.rule, agg.key), {
            "kind": "aggregation", "rule": agg.rule, "key": agg.key, "created": iso(agg.created),
            "send_at": iso(agg.send_at), "items": {"matches": agg.matches}})

    def due_aggregations(self, rule: str, now: dt.datetime) -> list[Aggregation]:
        docs = self._search({"bool": {"filter": [{"term": {"kind": "aggregation"}}, {"term": {"rule": rule}}]}})
        found = [a for a in (self._decode("aggregation", d, self._aggregation) for d in docs) if a]
        due = []
        for agg in found:
            fresh = self.get_aggregation(agg.rule, agg.key)
            if fresh is not None and fresh.send_at <= now:
                due.append(fresh)
        return due

    def delete_aggregation(self, rule: str, key: str) -> None:
        try:
            self.backend()._call("DELETE", f"/{self.index}/_doc/{doc_id('aggregation', rule, key)}")
        except EngineError as exc:
            if "404" not in str(exc) and "not_found" not in str(exc):
                raise

    # --- error log -----------------------------------------------------------------
    def record_error(self, rule: str, message: str) -> None:
        now = dt.datetime.now(dt.timezone.utc)
        self._put(doc_id("error", rule, iso(now)), {"kind": "error", "rule": rule, "error": message,
                                                     "created": iso(now)})
