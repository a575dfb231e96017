"""RuleRunner without an engine: answers are handed to finish() directly."""

from __future__ import annotations

import datetime as dt

from logalert.engine import Hit, SearchResult
from logalert.errors import EngineError
from logalert.model import Query, Window
from logalert.run.runner import RuleRunner
from logalert.state import MemoryState

from ..conftest import at

RULE = """
name: burst
type: frequency
index: logstash-*
num_events: 2
timeframe: {minutes: 10}
realert: {minutes: 0}
alert: stdout
"""


class StubPool:
    def get(self, key, options):
        return object()  # never called: answers are given to the plan by the test


class FailingOutbox(MemoryState):
    def __init__(self):
        super().__init__()
        self.fail = True

    def put_outbox_many(self, entries):
        if self.fail and entries:
            raise EngineError("writeback down", unreachable=True)
        super().put_outbox_many(entries)


def hits(*minutes):
    return SearchResult(hits=tuple(
        Hit("logstash-x", f"d{m}", {"@timestamp": (at(2024, 5, 1, 12, 0) + dt.timedelta(minutes=m)).isoformat()})
        for m in minutes), total=len(minutes))


def run_with(runner, window, answer):
    plan = runner.plan(window)
    plan.answers = [answer if r.kind == "hits" else SearchResult() for r in plan.requests]
    return runner.finish(plan)


def test_a_run_failing_after_evaluation_is_evaluated_afresh(make_rule):
    """The outbox write fails after the frequency type counted the burst; when the window
    is run again the burst must alert (the type's memory must not think it fired)."""
    from logalert.notify.alerters.stdout import StdoutAlerter

    rule = make_rule(RULE)
    state = FailingOutbox()
    runner = RuleRunner(rule, StubPool(), state, alerters=[StdoutAlerter(rule, rule.options)],
                        clock=lambda: at(2024, 5, 1, 12, 30))
    window = Window(at(2024, 5, 1, 12, 0), at(2024, 5, 1, 12, 30))
    first_type = runner.ruletype
    failed = run_with(runner, window, hits(1, 2))
    assert failed.error is not None and "writeback down" in str(failed.error)
    assert runner.ruletype is not first_type  # memory dropped: it will be rebuilt
    state.fail = False
    again = run_with(runner, window, hits(1, 2))
    assert again.error is None
    assert len(again.alerts) == 1  # the burst, once: neither lost nor counted twice



class Recording:
    """A rule type asking for one of each kind of search; keeps what the runner hands it."""

    def __init__(self):
        self.results = None

    def queries(self, window):
        return [Query("count"), Query("aggs", aggs={"m": {"max": {"field": "n"}}}), Query("hits")]

    def evaluate(self, window, results):
        self.results = results
        return []

    def describe(self, match):  # pragma: no cover - no matches
        return {}


def test_the_runner_reads_counts_aggregations_and_hits_from_typed_answers(make_rule):
    rule = make_rule(RULE)
    runner = RuleRunner(rule, StubPool(), MemoryState(), alerters=[], clock=lambda: at(2024, 5, 1, 12, 30))
    runner.ruletype = recording = Recording()
    window = Window(at(2024, 5, 1, 12, 0), at(2024, 5, 1, 12, 30))
    plan = runner.plan(window, send=False)
    assert [r.kind for r in plan.requests] == ["check", "count", "aggs", "hits"]
    plan.answers = [SearchResult(), SearchResult(total=7), SearchResult(aggregations={"m": {"value": 3.0}}), hits(1, 2)]
    result = runner.finish(plan)
    assert result.error is None
    count, aggs, events = recording.results
    assert (count, aggs) == (7, {"m": {"value": 3.0}})
    assert [(e.index, e.id, e.timestamp) for e in events] == [
        ("logstash-x", "d1", at(2024, 5, 1, 12, 1)), ("logstash-x", "d2", at(2024, 5, 1, 12, 2))]
    assert [r.kind for r in runner.plan(window, send=False).requests] == ["count", "aggs", "hits"]  # checked once


def test_a_refused_query_check_names_the_filter(make_rule):
    rule = make_rule(RULE)
    runner = RuleRunner(rule, StubPool(), MemoryState(), alerters=[], clock=lambda: at(2024, 5, 1, 12, 30))
    plan = runner.plan(Window(at(2024, 5, 1, 12, 0), at(2024, 5, 1, 12, 30)), send=False)
    plan.answers = [EngineError("search refused", reason="Failed to parse query [level:/x]")] + [
        SearchResult() for _ in plan.requests[1:]]
    failed = runner.finish(plan)
    assert str(failed.error).endswith(": filter: the engine rejects this query: Failed to parse query [level:/x]")


class ReadingBack(Recording):
    """A fresh type: the window's new documents, and everything since 11:50 read back."""

    def queries(self, window):
        return [Query("hits"), Query("hits", start=at(2024, 5, 1, 11, 50), seen_too=True)]


def test_a_read_back_gets_the_window_s_documents_from_the_window_s_own_search(make_rule):
    from logalert.state.base import RuleStatus

    rule = make_rule(RULE)
    state = MemoryState()
    state.save_status(RuleStatus("burst", seen={"logstash-x/d1": at(2024, 5, 1, 12, 1).timestamp()}))
    runner = RuleRunner(rule, StubPool(), state, alerters=[], clock=lambda: at(2024, 5, 1, 12, 30))
    runner.ruletype = recording = ReadingBack()
    plan = runner.plan(Window(at(2024, 5, 1, 12, 0), at(2024, 5, 1, 12, 30)), send=False)
    assert [(r.kind, r.plus_window) for r in plan.requests] == [("check", False), ("hits", False), ("hits", True)]
    plan.answers = [SearchResult(), hits(1, 2), hits(-5)]
    result = runner.finish(plan)
    assert result.error is None and result.hits == 3  # each document read (and counted) once
    new, read_back = recording.results
    assert [e.id for e in new] == ["d2"]  # d1 was evaluated by an earlier run
    assert [e.id for e in read_back] == ["d-5", "d1", "d2"]


def test_a_full_first_page_is_searched_again_whole(make_rule):
    rule = make_rule(RULE)
    everything = hits(*range(7)).hits

    class Engine:
        def __init__(self):
            self.calls = []

        def search_all(self, index, body, page_size, *, paged=False):
            self.calls.append((page_size, paged))
            return iter(everything)

    engine = Engine()

    class Pool:
        def get(self, key, options):
            return engine

    runner = RuleRunner(rule, Pool(), MemoryState(), alerters=[], clock=lambda: at(2024, 5, 1, 12, 30))
    runner.ruletype = recording = Recording()
    plan = runner.plan(Window(at(2024, 5, 1, 12, 0), at(2024, 5, 1, 12, 30)), send=False)
    hits_at = [r.kind for r in plan.requests].index("hits")
    plan.requests[hits_at] = plan.requests[hits_at].resized(3)  # a first page of 3: it comes back full
    plan.answers = [SearchResult(), SearchResult(total=7), SearchResult(), SearchResult(hits(0, 1, 2).hits, total=7)]
    assert plan.full_pages() == {hits_at: 7}
    assert runner.finish(plan).error is None
    assert engine.calls == [(rule.max_query_size, False)]  # a plain search first: it may fit in one page
    assert [e.id for e in recording.results[2]] == [f"d{i}" for i in range(7)]
