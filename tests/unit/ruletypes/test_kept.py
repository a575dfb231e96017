"""Kept documents: rules that keep the same document between runs share one copy."""

from __future__ import annotations

import gc

from logalert.model import Window
from logalert.ruletypes import kept

from .support import doc, minutes

FREQ = dict(num_events=50, timeframe={"minutes": 10}, realert={"minutes": 0})


def _docs(n: int) -> list[dict]:
    return [doc(minutes(1 + i * 0.1), id=f"e{i}", level="ERROR", pod=f"p{i % 3}") for i in range(n)]


def _kept_sources(rtype) -> list:
    return [e.source for events in rtype.events.events.values() for e in events if e.source]


def test_many_rules_keep_one_copy_of_each_document(make_type):
    gc.collect()
    before = kept.count()
    docs = _docs(30)
    rules = []
    for i in range(20):  # 20 rules over the same 30 documents, each from its own answer
        rtype, engine = make_type("frequency", docs, name=f"r{i}", **FREQ)
        assert engine.run(rtype, Window(minutes(0), minutes(5))) == []  # 30 < 50: nothing fires
        rules.append(rtype)
    assert kept.count() - before == 30  # not 600
    first = {id(s) for s in _kept_sources(rules[0])}
    assert len(first) == 30
    for rtype in rules[1:]:
        assert {id(s) for s in _kept_sources(rtype)} == first
    assert rules[0].events.events[()][0].source == {"@timestamp": "2024-05-01T12:01:00.000Z", "level": "ERROR",
                                                    "pod": "p0"}
    # A weak table: when no rule keeps a document any more, it is gone.
    del rules, rtype, engine
    gc.collect()
    assert kept.count() == before


def test_source_filtering_keeps_separate_copies(make_type):
    docs = _docs(5)
    full, engine_a = make_type("frequency", docs, name="full", **FREQ)
    slim, engine_b = make_type("frequency", docs, name="slim", include=["level"], **FREQ)
    engine_a.run(full, Window(minutes(0), minutes(5)))
    engine_b.run(slim, Window(minutes(0), minutes(5)))
    assert not {id(s) for s in _kept_sources(full)} & {id(s) for s in _kept_sources(slim)}


def test_kept_memory_does_not_grow_with_runs_or_rules(make_type):
    """What one rule keeps is bounded by its timeframe, whatever number of runs; more rules
    over the same documents add no document copies."""
    gc.collect()
    before = kept.count()
    docs = [doc(minutes(i * 0.5), id=f"x{i}", level="ERROR") for i in range(600)]  # 5 hours, 2 a minute
    rules = [make_type("frequency", docs, name=f"k{i}", **FREQ) for i in range(5)]
    sizes = []
    for hour in range(5):
        for rtype, engine in rules:
            engine.run(rtype, Window(minutes(hour * 60), minutes(hour * 60 + 60)))
        sizes.append(kept.count() - before)
    # One timeframe (10 min) plus the buffer and a step of documents, shared by the 5 rules.
    assert max(sizes) < 60
    assert sizes[-1] == sizes[1]
