"""The rule-type interface: pure logic from engine results to matches.

A rule type never talks to the network. The runner fetches what ``needs`` asks for
and hands it over; the type keeps whatever memory it needs (frequency windows,
last-seen values) on its own instance, never on the Rule.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Mapping, Sequence

from logalert.query import lookup
from logalert.rules.model import Rule
from logalert.window import Window


@dataclass(frozen=True)
class Event:
    """A document in the window, with its parsed timestamp."""

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

    def identity(self, rule_name: str) -> str:
        """Deterministic id: the same match always yields the same alert id (outbox, dedupe)."""
        if self.doc_id is not None:
            basis = [rule_name, self.index, self.doc_id]
        else:
            basis = [rule_name, self.timestamp.isoformat(), list(self.key), dict(self.details)]
        digest = hashlib.sha1(json.dumps(basis, sort_keys=True, default=str).encode()).hexdigest()
        return digest[:20]


def key_of(rule: Rule, source: Mapping[str, Any]) -> tuple[Any, ...]:
    """The query_key value(s) of a document (dotted names allowed)."""
    return tuple(lookup(source, name) for name in rule.query_key)


@dataclass(frozen=True)
class Query:
    """One thing a rule type asks the engine for. The runner adds the rule's filters and
    the time range (``start``/``end``, default the run's window) and hands back:
    ``hits`` -> list[Event] (every new document, paged, deduplicated, in time order);
    ``count`` -> int; ``aggs`` -> the ``aggregations`` object of a size-0 search whose
    body carries ``aggs``."""

    kind: str  # "hits" | "count" | "aggs"
    aggs: Mapping[str, Any] | None = None
    start: dt.datetime | None = None
    end: dt.datetime | None = None


class RuleType(ABC):
    name: ClassVar[str]

    def __init__(self, rule: Rule):
        self.rule = rule

    def queries(self, window: Window) -> list[Query]:
        """What to fetch for ``window``; default: every new document."""
        return [Query("hits")]

    def evaluate(self, window: Window, results: Sequence[Any]) -> list[Match]:
        """Matches from the answers to ``queries()``, in the same order."""
        return self.on_events(window, results[0])

    def on_events(self, window: Window, events: Sequence[Event]) -> list[Match]:
        """For hit-based types: matches among the window's new events."""
        raise NotImplementedError

    def describe(self, match: Match) -> str:
        """One paragraph for the default alert body saying why this fired."""
        return ""
