"""The values that flow through the pipeline, at the bottom of the dependency graph.

A run's window, the documents it reads (Event), what a rule type asks the engine for
(Query), what it finds (Match) and what is sent (Alert). Every stage imports these from
here, so no stage has to import another stage's module just to name its data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Mapping

if TYPE_CHECKING:
    from logalert.rules.model import Rule


@dataclass(frozen=True)
class Window:
    start: dt.datetime
    end: dt.datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("window bounds must be timezone-aware")

    @property
    def span(self) -> dt.timedelta:
        return self.end - self.start

    def __contains__(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end


@dataclass(frozen=True, slots=True)
class Event:
    """A document in the window, with its parsed timestamp. Slots: a counting rule keeps
    one per document of its timeframe, so tens of thousands live at once."""

    timestamp: dt.datetime
    source: Mapping[str, Any]
    index: str
    id: str


@dataclass(frozen=True)
class Match:
    """Something worth an alert. ``fields`` is what the alert text shows."""

    timestamp: dt.datetime
    fields: Mapping[str, Any]
    index: str | None = None
    doc_id: str | None = None
    key: tuple[Any, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)  # counts, thresholds… for the rule text

    def record(self) -> dict[str, Any]:
        """A JSON-able copy, kept in the writeback index (digests, the outbox) and read back
        with ``from_record`` after a restart."""
        return {"timestamp": self.timestamp.isoformat(), "fields": dict(self.fields), "index": self.index,
                "doc_id": self.doc_id, "key": list(self.key), "details": dict(self.details)}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> "Match":
        moment = dt.datetime.fromisoformat(str(record["timestamp"]).replace("Z", "+00:00"))
        return cls(timestamp=moment, fields=record.get("fields") or {}, index=record.get("index"),
                   doc_id=record.get("doc_id"), key=tuple(record.get("key") or ()),
                   details=record.get("details") or {})

    def identity(self, rule_name: str) -> str:
        """Deterministic id: the same match always yields the same alert id (outbox, dedupe)."""
        if self.doc_id is not None:
            basis = [rule_name, self.index, self.doc_id]
        else:
            basis = [rule_name, self.timestamp.isoformat(), list(self.key), dict(self.details)]
        digest = hashlib.sha1(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()
        return digest[:20]


@dataclass(frozen=True)
class Query:
    """One thing a rule type asks the engine for. The runner adds the rule's filters and
    the time range (``start``/``end``, default the run's window) and hands back:
    ``hits`` -> list[Event] (every new document, paged, deduplicated, in time order);
    ``count`` -> int; ``aggs`` -> the ``aggregations`` object of a size-0 search whose
    body carries ``aggs``. ``option`` names the rule option the query is built from
    (e.g. ``query_key``, ``metric_agg_key``), so an engine refusal can say which one.
    ``seen_too`` (hits): also the documents earlier runs evaluated — a fresh instance
    rebuilding its memory needs them; they are not new and must not alert again."""

    kind: str  # "hits" | "count" | "aggs"
    aggs: Mapping[str, Any] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    option: str | None = None
    seen_too: bool = False


FIRING, RESOLVED = "firing", "resolved"


@dataclass(frozen=True, repr=False)
class Alert:
    """``status`` is ``resolved`` for the notification that an alert cleared
    (send_resolved); ``since`` is when it started firing and ``until`` its last match
    (event time), where known."""

    id: str  # deterministic: rule + match identity
    rule: Rule
    matches: tuple[Match, ...]
    subject: str
    body: str
    status: str = FIRING
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    @property
    def resolved(self) -> bool:
        return self.status == RESOLVED

    @property
    def firing_seconds(self) -> float | None:
        """How long it has fired (event time): since → last match for a resolution, since
        → this alert's first match while firing; None where ``since`` is unknown."""
        if self.since is None:
            return None
        end = self.until or (self.matches[0].timestamp if self.matches else None)
        return None if end is None else max(0.0, (end - self.since).total_seconds())

    def __repr__(self) -> str:
        return f"Alert({self.id!r}, rule={self.rule.name!r}, subject={self.subject!r})"
