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
