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
"""

from __future__ import annotations

import datetime as dt
import logging
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
)


HISTORY_SIZE = 10_000  # terms per field read back on the first run
EPSILON = dt.timedelta(microseconds=1)

Term = tuple[str, ...]


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

    @classmethod
    def check(cls, options: Mapping[str, Any], file: str | None = None) -> list[tuple[str, str]]:
        out = super().check(options, file)
        if not options.get("fields") and not options.get("query_key"):
            out.append(("fields", "required: the field(s) whose new values alert (or set query_key)"))
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
            for i, spec in enumerate(self.specs):
                for term, (first, last) in sorted(found[i].items(), key=lambda kv: kv[1][0]):
                    if first >= window.start and self._is_new(i, term, first):
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
        return out

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
                if self._is_new(i, term, event.timestamp):
                    fields = {**event.source, "new_field": self.name_of(spec), "new_value": ",".join(term)}
                    out.append(Match(event.timestamp, fields, event.index, event.id, key_of(self.rule, event.source),
                                     {"new_field": self.name_of(spec), "new_value": ",".join(term),
                                      "window": pretty_span(self.window_size)}))
                    self._remember(i, term, event.timestamp - EPSILON, event.timestamp)
                else:
                    self._remember(i, term, event.timestamp, event.timestamp)
        return out

    @staticmethod
    def _terms(values: list[Any]) -> list[Term]:
        """A document's terms: a multi-valued field gives one term per value."""
        terms: list[Term] = [()]
        for value in values:
            options = value if isinstance(value, list) else [value]
            terms = [t + (term_text(v),) for t in terms for v in options]
        return list(dict.fromkeys(terms))

    def _term_match(self, spec: tuple[str, ...], term: Term, first: dt.datetime) -> Match:
        fields: dict[str, Any] = {self.rule.timestamp_field: iso(first)}
        fields.update(zip(spec, term))
        fields.update(new_field=self.name_of(spec), new_value=",".join(term))
        key = tuple(fields.get(q) for q in self.rule.query_key)
        return Match(first, fields, key=key, details={"new_field": self.name_of(spec), "new_value": ",".join(term),
                                                      "window": pretty_span(self.window_size)})

    def describe(self, match: Match) -> str:
        d = match.details
        if "missing_field" in d:
            return f"The document has no {d['missing_field']} (alert_on_missing_field is set)."
        return (f"New value {d['new_value']!r} of {d['new_field']}{key_phrase(self.rule, match.key)}: "
                f"not seen in the {d['window']} before.")
