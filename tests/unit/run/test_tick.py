"""run_tick: how many of the engine's documents a tick holds at once is bounded by
ROUND_HITS, whatever the number of rules and their max_query_size."""

from __future__ import annotations

import datetime as dt
import threading
import weakref
from concurrent.futures import ThreadPoolExecutor

import pytest

from logalert.engine import Hit, SearchResult, query
from logalert.model import Window
from logalert.run import tick
from logalert.run.runner import RuleRunner
from logalert.state import MemoryState

from ..conftest import at

WINDOW = Window(at(2024, 5, 1, 12, 0), at(2024, 5, 1, 13, 0))
DOCS_PER_RULE = 300


class Doc(dict):
    """A document's _source that can be watched with a weak reference."""


class Engine:
    """Answers _msearch from DOCS_PER_RULE documents per index (every search finds them
    all, in time order) and counts the documents it handed out that are still alive."""

    def __init__(self):
        self.lock = threading.Lock()
        self.alive = 0
        self.most_held = 0
        self.msearches = self.pagings = 0

    def _hits(self, index, size):
        docs = [Doc({"@timestamp": (WINDOW.start + dt.timedelta(seconds=10 * i)).isoformat(), "user": "alice"})
                for i in range(min(size, DOCS_PER_RULE))]
        with self.lock:
            self.alive += len(docs)
            self.most_held = max(self.most_held, self.alive)
        for doc in docs:
            weakref.finalize(doc, self._gone)
        return tuple(Hit(index, f"{index}-{i}", d) for i, d in enumerate(docs))

    def _gone(self):
        with self.lock:
            self.alive -= 1

    def msearch(self, searches):
        self.msearches += 1
        return [SearchResult(hits=self._hits(index, int(body.get("size", 10))), total=DOCS_PER_RULE)
                for index, body in searches]

    def search_all(self, index, body, page_size, *, paged=False):
        """More than max_query_size: paged through a point in time (one call here)."""
        self.pagings += 1
        return iter(self._hits(index, DOCS_PER_RULE))


class Pool:
    def __init__(self, engine):
        self.engine = engine

    def get(self, key, options):
        return self.engine


@pytest.mark.parametrize("rules,max_query_size", [(10, 10000), (60, 10000), (60, 250)])
def test_a_tick_holds_at_most_round_hits_documents_at_once(make_rule, monkeypatch, rules, max_query_size):
    monkeypatch.setattr(tick, "ROUND_HITS", 1000)
    monkeypatch.setattr(query, "FIRST_PAGE", 100)
    engine, state = Engine(), MemoryState()
    runners = [RuleRunner(make_rule(f"""\
        name: r{i}
        type: blacklist
        index: logs-{i}
        compare_key: user
        blacklist: [mallory]
        max_query_size: {max_query_size}
        alert: stdout
        """), Pool(engine), state, alerters=[]) for i in range(rules)]
    with ThreadPoolExecutor(4) as pool:
        results = tick.run_tick(runners, state, pool, window_for=lambda rule: WINDOW)
    assert [(r.rule, r.error, r.hits) for r in results] == [(f"r{i}", None, DOCS_PER_RULE) for i in range(rules)]
    # Every rule has more documents than its first page (FIRST_PAGE): it sends its search
    # again with as many other rules as fit in ROUND_HITS documents, and pages on when
    # that is more than max_query_size.
    assert engine.most_held <= tick.ROUND_HITS
    assert engine.msearches < rules  # still shared requests, not one per rule
    assert engine.pagings == (rules if max_query_size < DOCS_PER_RULE else 0)


def test_a_tick_gives_freed_memory_back_once_it_is_done(monkeypatch):
    """After a tick its answers are garbage: the allocator is asked to return the freed
    pages (glibc's malloc_trim), once per tick, even for a tick of no rules with work."""
    calls = []
    monkeypatch.setattr(tick.malloc, "release", lambda: calls.append(0))
    with ThreadPoolExecutor(max_workers=1) as pool:
        tick.run_tick([], MemoryState(), pool)
        assert calls == []  # nothing ran, nothing to give back
        runner = type("R", (), {"rule": type("Rule", (), {"name": "r"})(),
                                "plan": lambda self, window, send: (_ for _ in ()).throw(RuntimeError("x"))})()
        tick.run_tick([runner], MemoryState(), pool)
    assert calls == [0]
