"""The writeback index's records: its mappings, and each kind of state as a document.

One index holds every kind of record, told apart by ``kind``: ``status`` (one per rule),
``silence``, ``alert`` (the outbox: one per alert and notifier), ``aggregation``
(matches waiting for their digest), ``error`` (a log of run errors), ``lease`` (which
replica runs a rule) and ``replicas`` (one record of every replica's heartbeat); the
last two are written in ``logalert.state.lease_index``. Encoding and
decoding live here, apart from the store's caching and I/O, so the document shapes
can be read (and changed) in one place. A decoder raises KeyError, TypeError or
ValueError on a damaged or foreign document; the store logs and skips it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from typing import Any, Collection, Mapping

from logalert.state.base import Aggregation, OutboxEntry, RuleStatus, Silence
from logalert.state.seen import SeenIds
from logalert.timeutil import iso, parse_iso

SCHEMA_VERSION = 1

SETTINGS: dict[str, Any] = {"index": {"number_of_shards": 1, "auto_expand_replicas": "0-1"}}

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
        "firing": {"type": "object", "enabled": False},
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


def wrong_mappings(mappings: Mapping[str, Any]) -> list[str]:
    """What in an existing index's mappings logalert cannot use, e.g. ``rule is text
    (want keyword)``; empty when they are fine."""
    props = mappings.get("properties", {})
    return [f"{f} is {props.get(f, {}).get('type', 'missing')} (want {t})"
            for f, t in REQUIRED_TYPES.items() if props.get(f, {}).get("type") != t]


def doc_id(kind: str, *parts: str) -> str:
    """A record's id from what identifies it, so writing it again replaces it."""
    digest = hashlib.sha1("\0".join(parts).encode()).hexdigest()[:24]
    return f"{kind}-{digest}"


def date_of(value: Any) -> dt.datetime | None:
    return parse_iso(value) if isinstance(value, str) and value else None


def _opt_iso(value: dt.datetime | None) -> str | None:
    return iso(value) if value else None


def now_iso() -> str:
    return iso(dt.datetime.now(dt.timezone.utc))


def copy_status(status: RuleStatus) -> RuleStatus:
    """A copy the caller may change (a deepcopy of the seen ids was a hot spot)."""
    return dataclasses.replace(status, seen=status.seen.copy(), firing={k: dict(v) for k, v in status.firing.items()})


# --- status ------------------------------------------------------------------------
def status_doc(status: RuleStatus) -> dict[str, Any]:
    return {"kind": "status", "rule": status.rule, "last_end": _opt_iso(status.last_end),
            "last_run": _opt_iso(status.last_run), "hits": status.hits, "matches": status.matches,
            "alerts": status.alerts, "duration": status.duration, "error": status.error, "seen": status.seen.record(),
            "firing": status.firing, "written": now_iso()}


def decode_status(d: Mapping[str, Any]) -> RuleStatus:
    return RuleStatus(
        rule=str(d["rule"]), last_end=date_of(d.get("last_end")), last_run=date_of(d.get("last_run")),
        hits=int(d.get("hits") or 0), matches=int(d.get("matches") or 0), alerts=int(d.get("alerts") or 0),
        duration=float(d.get("duration") or 0.0), error=d.get("error"),
        seen=SeenIds.from_record(d.get("seen")),
        firing={str(k): dict(v) for k, v in (d.get("firing") or {}).items() if isinstance(v, dict)})


# --- silence -----------------------------------------------------------------------
def silence_doc(x: Silence) -> dict[str, Any]:
    return {"kind": "silence", "rule": x.rule, "key": x.key, "until": iso(x.until), "exponent": x.exponent,
            "reason": x.reason}


def decode_silence(doc: Mapping[str, Any]) -> Silence:
    until = date_of(doc["until"])
    if until is None:
        raise ValueError("until is missing")
    return Silence(str(doc["rule"]), str(doc.get("key") or ""), until, int(doc.get("exponent") or 0),
                   str(doc.get("reason") or "realert"))


# --- outbox ------------------------------------------------------------------------
def outbox_doc(entry: OutboxEntry) -> dict[str, Any]:
    return {"kind": "alert", "key": entry.id, "alert_id": entry.alert_id, "rule": entry.rule,
            "alerter": entry.alerter, "subject": entry.subject, "body": entry.body, "created": iso(entry.created),
            "status": entry.status, "attempts": entry.attempts, "last_error": entry.last_error,
            "sent_at": _opt_iso(entry.sent_at),
            "items": {"matches": entry.matches, "status": entry.alert_status, "since": _opt_iso(entry.since),
                      "until": _opt_iso(entry.until)}}


def decode_entry(doc: Mapping[str, Any]) -> OutboxEntry:
    created = date_of(doc["created"])
    items = doc.get("items") if isinstance(doc.get("items"), dict) else {}
    if created is None or doc["status"] not in ("pending", "sent", "failed"):
        raise ValueError("not an outbox record")
    return OutboxEntry(id=str(doc["key"]), alert_id=str(doc["alert_id"]), rule=str(doc["rule"]),
                       alerter=str(doc["alerter"]), subject=str(doc.get("subject") or ""),
                       body=str(doc.get("body") or ""), created=created, status=str(doc["status"]),
                       attempts=int(doc.get("attempts") or 0), last_error=doc.get("last_error"),
                       sent_at=date_of(doc.get("sent_at")),
                       matches=list(items.get("matches") or []), alert_status=str(items.get("status") or "firing"),
                       since=date_of(items.get("since")), until=date_of(items.get("until")))


# --- aggregation -------------------------------------------------------------------
def aggregation_doc(agg: Aggregation) -> dict[str, Any]:
    return {"kind": "aggregation", "rule": agg.rule, "key": agg.key, "created": iso(agg.created),
            "send_at": iso(agg.send_at), "items": {"matches": agg.matches}}


def decode_aggregation(doc: Mapping[str, Any]) -> Aggregation:
    send_at, created = date_of(doc["send_at"]), date_of(doc["created"])
    if send_at is None or created is None or not isinstance(doc.get("items"), dict):
        raise ValueError("not an aggregation record")
    return Aggregation(rule=str(doc["rule"]), key=str(doc.get("key") or ""), created=created,
                       send_at=send_at, matches=list(doc["items"].get("matches") or []))


# --- error log ---------------------------------------------------------------------
def error_doc(rule: str, message: str, created: dt.datetime) -> dict[str, Any]:
    return {"kind": "error", "rule": rule, "error": message, "created": iso(created)}


# --- retention ---------------------------------------------------------------------
def purge_query(before: dt.datetime, keep_rules: Collection[str]) -> dict[str, Any]:
    """The records no run can need again (see EngineState.purge). Pending alerts and
    aggregation buckets match none of the clauses."""
    cut = iso(before)

    def kind(name: str, *filters: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"bool": {"filter": [{"term": {"kind": name}}, *filters], **extra}}

    return {"bool": {"minimum_should_match": 1, "should": [
        kind("alert", {"terms": {"status": ["sent", "failed"]}}, {"range": {"created": {"lt": cut}}}),
        kind("error", {"range": {"created": {"lt": cut}}}),
        kind("silence", {"range": {"until": {"lt": cut}}}),
        kind("status", {"range": {"written": {"lt": cut}}}, must_not=[{"terms": {"rule": sorted(keep_rules)}}]),
        # leases of deleted rules (a lease in use is renewed every few seconds)
        kind("lease", {"range": {"written": {"lt": cut}}}, must_not=[{"terms": {"rule": sorted(keep_rules)}}]),
    ]}}


def epoch_of(value: Any) -> float:
    moment = date_of(value)
    return moment.timestamp() if moment is not None else 0.0
