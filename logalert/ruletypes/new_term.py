"""``type: new_term`` — a value of one of ``fields`` (a list entry that is itself a list
is one compound term) not seen within ``terms_window_size`` (default 30 days) before it
is a match. Without ``fields`` the query_key is the term.

The terms already seen come from the engine: on its first run an instance asks for a
terms aggregation over ``terms_window_size`` before the window up to its end (in
chunks of ``window_step_size`` when set) with each term's first and last time. A
document's term is new when nothing older carries it — which also holds after a
restart, where documents evaluated before the restart are skipped as seen but their
terms are still in the engine. Later runs remember the terms they meet (at most MAX_KEYS
per field: beyond, the least recently seen are forgotten and count as new again).

``use_terms_query``: the window's terms come from the engine too (at most
``terms_size`` per field and run), not from its documents. ``use_keyword_postfix``
(default true) aggregates ``FIELD.keyword``. ``alert_on_missing_field``: a document
without the field is a match.

``threshold`` (documented by ElastAlert2's newer releases, absent from 2.31's code): a new
term matches only once it was seen ``threshold`` times within ``threshold_window_size``
(default: terms_window_size), at the sighting that reaches the count; fewer sightings
leave it new (unknown), so it can still reach the count later. The earlier sightings are
kept in memory; after a restart the history counts a term as known when one history
chunk (window_step_size) holds at least ``threshold`` of its documents.
``attach_related`` (with threshold; a logalert addition): the earlier sightings' documents
go with the match as ``related_events``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import deque
from typing import Any, Mapping, Sequence

from logalert.fields import lookup
from logalert.model import Event, Match, Query, Window
from logalert.options import BOOLEAN, SPAN, Option
from logalert.rules.model import Rule
from logalert.ruletypes.base import RuleType, key_of
from logalert.ruletypes.common import (
    TERMS_SIZE,
    by_key,
    key_phrase,
    newest,
    term_text,
    time_of_value,
    walk_keys,
)
from logalert.timeutil import iso, pretty_span

log = logging.getLogger(__name__)

OPTIONS = (
    Option("fields", {
        "type": "array", "minItems": 1,
        "items": {"anyOf": [{"type": "string", "minLength": 1},
                            {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}}]},
        "errorMessage": "must be a list of field names; an entry that is a list of names is one compound term",
    }),
    Option("terms_window_size", SPAN, {"days": 30}),
    Option("window_step_size", SPAN),
    Option("alert_on_missing_field", BOOLEAN, False),
    Option("use_keyword_postfix", BOOLEAN, True),
    TERMS_SIZE,
    Option("threshold", {"type": "integer", "minimum": 1}, 1,
           description="a new term matches once seen this many times within threshold_window_size"),
    Option("threshold_window_size", SPAN, description="the window of threshold (default terms_window_size)"),
    Option("attach_related", BOOLEAN, False,
           description="with threshold: the earlier sightings' documents go with the match as related_events"),
)


HISTORY_SIZE = 10_000  # terms per field read back on the first run
EPSILON = dt.timedelta(microseconds=1)

Term = tuple[str, ...]
# A sighting of a term not yet known: (time, documents it stands for, the document or None)
Sighting = tuple[dt.datetime, int, Mapping[str, Any] | None]


class NewTermRule(RuleType):
    name = "new_term"
    count_options = frozenset({"use_terms_query"})
    count_refusal = "a count has no terms; use_terms_query lets the engine list them instead"

    def __init__(self, rule: Rule):
        super().__init__(rule)
        fields = rule.get("fields") or [list(rule.query_key)]
        self.specs: list[tuple[str, ...]] = [(f,) if isinstance(f, str) else tuple(f) for f in fields]
        self.window_size: dt.timedelta = rule.span("terms_window_size")
        self.by_terms = bool(rule.get("use_terms_query"))
        # per spec: term -> [first, last] time it was seen
        self.known: list[dict[Term, list[dt.datetime]]] = [{} for _ in self.specs]
        self.started = False
        self.threshold = int(rule.get("threshold") or 1)
        self.threshold_window: dt.timedelta = rule.span("threshold_window_size") or self.window_size
        self.attach = bool(rule.get("attach_related"))
        # per spec: new term -> its sightings within threshold_window (threshold > 1 only)
        self.pending: list[dict[Term, deque[Sighting]]] = [{} for _ in self.specs]

    @classmethod
    def check(cls, options: Mapping[str, Any], file: str | None = None) -> list[tuple[str, str]]:
        out = super().check(options, file)
        if not options.get("fields") and not options.get("query_key"):
            out.append(("fields", "required: the field(s) whose new values alert (or set query_key)"))
        if options.get("attach_related") and int(options.get("threshold") or 1) <= 1:
            out.append(("attach_related", "needs threshold above 1: only the earlier sightings of a term are related"))
        return out

    def name_of(self, spec: tuple[str, ...]) -> str:
        return ",".join(spec)

    def agg_field(self, field: str) -> str:
        if self.rule.get("use_keyword_postfix") is False or field.endswith((".keyword", ".raw")):
            return field
        return field + ".keyword"

    def terms_aggs(self, size: int) -> dict[str, Any]:
        ts = self.rule.timestamp_field
        leaf = {"first": {"min": {"field": ts}}, "last": {"max": {"field": ts}}}
        aggs: dict[str, Any] = {}
        for i, spec in enumerate(self.specs):
            aggs.update(by_key([self.agg_field(f) for f in spec], leaf, size, name=f"t{i}"))
        return aggs

    def own_queries(self, window: Window) -> list[Query]:
        if self.started:
            if self.by_terms:
                return [Query("aggs", aggs=self.terms_aggs(int(self.rule.get("terms_size"))), option="fields")]
            return [Query("hits")]
        step = self.rule.span("window_step_size") or (window.end - window.start + self.window_size)
        out, start = [], window.start - self.window_size
        while start < window.end:
            end = min(start + step, window.end)
            out.append(Query("aggs", aggs=self.terms_aggs(HISTORY_SIZE), start=start, end=end, option="fields"))
            start = end
        return out if self.by_terms else [Query("hits")] + out

    def _read_terms(self, answers: Sequence[Mapping[str, Any]]) -> list[dict[Term, list[dt.datetime]]]:
        found: list[dict[Term, list[dt.datetime]]] = [{} for _ in self.specs]
        for answer in answers:
            for i, spec in enumerate(self.specs):
                node = answer.get(f"t{i}") or {}
                if node.get("sum_other_doc_count"):
                    log.warning("rule %r: more than %d terms of %s; the oldest ones count as new",
                                self.rule.name, len(node.get("buckets", [])), self.name_of(spec))
                for values, leaf in walk_keys(answer, len(spec), name=f"t{i}"):
                    if self.threshold > 1 and self.started is False and int(leaf.get("doc_count", 0)) < self.threshold:
                        continue  # history: a term seen fewer times than threshold is not known yet
                    first = time_of_value(self.rule, (leaf.get("first") or {}).get("value"))
                    last = time_of_value(self.rule, (leaf.get("last") or {}).get("value"))
                    if first is None or last is None:
                        continue
                    span = found[i].setdefault(tuple(term_text(v) for v in values), [first, last])
                    span[0], span[1] = min(span[0], first), max(span[1], last)
        return found

    def _is_new(self, i: int, term: Term, moment: dt.datetime) -> bool:
        seen = self.known[i].get(term)
        return seen is None or seen[0] >= moment or seen[1] < moment - self.window_size

    def _remember(self, i: int, term: Term, first: dt.datetime, last: dt.datetime) -> None:
        span = self.known[i].setdefault(term, [first, last])
        span[0], span[1] = min(span[0], first), max(span[1], last)

    def find_matches(self, window: Window, results: Sequence[Any]) -> list[Match]:
        live: list[Event] = [] if self.by_terms else list(results[0])
        found = self._read_terms(results if self.by_terms else results[1:])
        out: list[Match] = []
        if self.by_terms:
            counts = self._counts(results) if self.started and self.threshold > 1 else {}
            for i, spec in enumerate(self.specs):
                for term, (first, last) in sorted(found[i].items(), key=lambda kv: kv[1][0]):
                    if self.threshold > 1 and self.started:
                        if term in self.pending[i] or (first >= window.start and self._is_new(i, term, first)):
                            reached = self._sighted(i, term, (last, counts.get((i, term), 1), None))
                            if reached is not None:
                                out.append(self._term_match(spec, term, last, reached))
                                self._remember(i, term, reached[0][0] - EPSILON, last)
                            continue
                    elif first >= window.start and self._is_new(i, term, first):
                        out.append(self._term_match(spec, term, first))
                    self._remember(i, term, first - EPSILON, last)
        else:
            for i, terms in enumerate(found):
                for term, (first, last) in terms.items():
                    self._remember(i, term, first, last)
            for event in sorted(live, key=lambda e: e.timestamp):
                out += self._see(event)
        self.started = True
        horizon = window.end - self.window_size
        self.known = [newest({t: s for t, s in terms.items() if s[1] >= horizon}, lambda s: s[1])
                      for terms in self.known]
        stale = window.end - self.threshold_window
        self.pending = [newest({t: q for t, q in terms.items() if q and q[-1][0] >= stale}, lambda q: q[-1][0])
                        for terms in self.pending]
        return out

    def _counts(self, answers: Sequence[Mapping[str, Any]]) -> dict[tuple[int, Term], int]:
        """use_terms_query: documents per term in this run's answer."""
        out: dict[tuple[int, Term], int] = {}
        for answer in answers:
            for i, spec in enumerate(self.specs):
                for values, leaf in walk_keys(answer, len(spec), name=f"t{i}"):
                    key = (i, tuple(term_text(v) for v in values))
                    out[key] = out.get(key, 0) + int(leaf.get("doc_count", 0))
        return out

    def _sighted(self, i: int, term: Term, sighting: Sighting) -> list[Sighting] | None:
        """Count a sighting of a term not yet known; its sightings within threshold_window
        when they reach threshold (the term then matches and is forgotten here), else None."""
        queue = self.pending[i].setdefault(term, deque())
        queue.append(sighting)
        while queue and queue[0][0] < sighting[0] - self.threshold_window:
            queue.popleft()
        if sum(n for _, n, _ in queue) < self.threshold:
            return None
        del self.pending[i][term]
        return list(queue)

    def _see(self, event: Event) -> list[Match]:
        out = []
        for i, spec in enumerate(self.specs):
            values = [lookup(event.source, f) for f in spec]
            if any(v is None for v in values):
                if self.rule.get("alert_on_missing_field"):
                    missing = [f for f, v in zip(spec, values) if v is None]
                    out.append(Match(event.timestamp, {**event.source, "missing_field": ",".join(missing)},
                                     event.index, event.id, key_of(self.rule, event.source),
                                     {"missing_field": ",".join(missing)}))
                continue
            for term in self._terms(values):
                if self.threshold > 1 and (term in self.pending[i] or self._is_new(i, term, event.timestamp)):
                    reached = self._sighted(i, term, (event.timestamp, 1, event.source))
                    if reached is not None:
                        out.append(self._event_match(spec, term, event, reached))
                        self._remember(i, term, reached[0][0] - EPSILON, event.timestamp)
                elif self._is_new(i, term, event.timestamp):
                    out.append(self._event_match(spec, term, event))
                    self._remember(i, term, event.timestamp - EPSILON, event.timestamp)
                else:
                    self._remember(i, term, event.timestamp, event.timestamp)
        return out

    def _event_match(self, spec: tuple[str, ...], term: Term, event: Event,
                     sightings: list[Sighting] | None = None) -> Match:
        fields: dict[str, Any] = {**event.source, "new_field": self.name_of(spec), "new_value": ",".join(term)}
        details: dict[str, Any] = {"new_field": self.name_of(spec), "new_value": ",".join(term),
                                   "window": pretty_span(self.window_size)}
        if sightings is not None:
            self._threshold_details(details, sightings)
            if self.attach:
                fields["related_events"] = [dict(src) for _, _, src in sightings[:-1] if src is not None]
        return Match(event.timestamp, fields, event.index, event.id, key_of(self.rule, event.source), details)

    def _threshold_details(self, details: dict[str, Any], sightings: list[Sighting]) -> None:
        details.update(count=sum(n for _, n, _ in sightings), threshold=self.threshold,
                       threshold_window=pretty_span(self.threshold_window), first_seen=iso(sightings[0][0]))

    @staticmethod
    def _terms(values: list[Any]) -> list[Term]:
        """A document's terms: a multi-valued field gives one term per value."""
        terms: list[Term] = [()]
        for value in values:
            options = value if isinstance(value, list) else [value]
            terms = [t + (term_text(v),) for t in terms for v in options]
        return list(dict.fromkeys(terms))

    def _term_match(self, spec: tuple[str, ...], term: Term, first: dt.datetime,
                    sightings: list[Sighting] | None = None) -> Match:
        fields: dict[str, Any] = {self.rule.timestamp_field: iso(first)}
        fields.update(zip(spec, term))
        fields.update(new_field=self.name_of(spec), new_value=",".join(term))
        key = tuple(fields.get(q) for q in self.rule.query_key)
        details: dict[str, Any] = {"new_field": self.name_of(spec), "new_value": ",".join(term),
                                   "window": pretty_span(self.window_size)}
        if sightings is not None:
            self._threshold_details(details, sightings)
        return Match(first, fields, key=key, details=details)

    def describe(self, match: Match) -> str:
        d = match.details
        if "missing_field" in d:
            return f"The document has no {d['missing_field']} (alert_on_missing_field is set)."
        text = (f"New value {d['new_value']!r} of {d['new_field']}{key_phrase(self.rule, match.key)}: "
                f"not seen in the {d['window']} before.")
        if "threshold" in d:
            text += (f" Seen {d['count']} times within {d['threshold_window']} since {d['first_seen']} "
                     f"(threshold {d['threshold']}).")
        return text
