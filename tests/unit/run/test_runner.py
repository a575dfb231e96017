"""RuleRunner without an engine: answers are handed to finish() directly."""

from __future__ import annotations

import datetime as dt

from logalert.errors import EngineError
from logalert.model import Window
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
    return {"hits": {"hits": [
        {"_index": "logstash-x", "_id": f"d{m}", "_source": {"@timestamp": (at(2024, 5, 1, 12, 0) + dt.timedelta(minutes=m)).isoformat()}}
        for m in minutes]}}


def run_with(runner, window, answer):
    plan = runner.plan(window)
    plan.answers = [answer if r.kind == "hits" else {"hits": {"hits": []}} for r in plan.requests]
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
