"""The rule-type interface: pure logic from engine results to matches.

A rule type never talks to the network. The runner answers what ``queries`` asks for
and hands the answers to ``evaluate``; the type keeps whatever memory it needs
(frequency windows, last-seen values, known terms) on its own instance, never on the
Rule. ``queries`` must not change that memory (a batching caller may ask twice);
only ``evaluate`` does.

Subclasses implement ``own_queries`` and ``find_matches``; the base adds what every
type shares (``top_count_keys``) around them.
"""

from __future__ import annotations

import datetime as dt
from abc import ABC
from typing import Any, ClassVar, Mapping, Sequence

from logalert.errors import EngineError
from logalert.fields import lookup
from logalert.model import Event, Match, Query, Window
from logalert.rules.model import Rule
from logalert.ruletypes import topcounts


def key_of(rule: Rule, source: Mapping[str, Any]) -> tuple[Any, ...]:
    """The query_key value(s) of a document (dotted names allowed)."""
    return tuple(lookup(source, name) for name in rule.query_key)


def refusal(rule: Rule, query: Query, error: EngineError) -> EngineError:
    """An engine error for ``query`` worded with the rule option it came from, e.g.
    ``rules/x.yaml:7: query_key: the engine refuses this aggregation: Text fields are …``."""
    if query.kind == "hits" or not query.option:
        return error
    first = query.option.split(",")[0].strip()
    return EngineError(f"{rule.where(first)}: {query.option}: the engine refuses this aggregation "
                       f"(aggregations need keyword, numeric or date fields, e.g. NAME.keyword)",
                       reason=error.reason or str(error))


class RuleType(ABC):
    name: ClassVar[str]
    # use_count_query / use_terms_query this type can honour, and why it refuses the others.
    count_options: ClassVar[frozenset[str]] = frozenset()
    count_refusal: ClassVar[str] = "it needs the documents themselves: every document is a potential match"

    def __init__(self, rule: Rule):
        self.rule = rule

    # --- load-time checks ------------------------------------------------------------
    @classmethod
    def check(cls, options: Mapping[str, Any], file: str | None = None) -> list[tuple[str, str]]:
        """What a JSON Schema cannot say about this type's options: ``(option, message)``
        pairs for contradictions. ``file`` is the rule file (for relative paths)."""
        out = []
        for option in ("use_count_query", "use_terms_query"):
            if options.get(option) is True and option not in cls.count_options:
                out.append((option, f"cannot be used with type '{cls.name}': {cls.count_refusal}"))
        return out

    # --- the runner's interface ------------------------------------------------------
    def queries(self, window: Window) -> list[Query]:
        """What to fetch for ``window``: the type's own queries, then top_count_keys."""
        return self.own_queries(window) + topcounts.queries(self.rule, window, self.top_count_span())

    def evaluate(self, window: Window, results: Sequence[Any]) -> list[Match]:
        """Matches from the answers to ``queries()``, in the same order."""
        own = len(results) - len(topcounts.queries(self.rule, window, self.top_count_span()))
        matches = self.find_matches(window, results[:own])
        return topcounts.attach(self.rule, matches, results[own:])

    # --- what subclasses implement ---------------------------------------------------
    def own_queries(self, window: Window) -> list[Query]:
        """Default: every new document of the window."""
        return [Query("hits")]

    def find_matches(self, window: Window, results: Sequence[Any]) -> list[Match]:
        return self.on_events(window, results[0])

    def on_events(self, window: Window, events: Sequence[Event]) -> list[Match]:
        """For hit-based types: matches among the window's new events."""
        raise NotImplementedError

    def top_count_span(self) -> dt.timedelta:
        """How far back from the window's end top_count_keys are counted."""
        return self.rule.span("timeframe") or self.rule.buffer_time

    def describe(self, match: Match) -> str:
        """One paragraph for the default alert body saying why this fired."""
        return ""
