"""test-rule (MemoryState) and the daemon (EngineState) must never disagree.

runner.py promises it: both call RuleRunner.run and only the state store differs.
Here one rule runs through the same sequence of rolling windows twice, in lockstep,
once on each store: before every step the documents that "arrived" by then are
loaded (some late, inside buffer_time), then both runners run with the same fixed
clock. After every step the matches, the alerts the notifier received (ids, subjects,
bodies), the rule status, the silences, the outbox and the open digest buckets must
be the same.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Any

import pytest

from logalert.config import load_config
from logalert.engine import Pool, connect
from logalert.model import Alert
from logalert.notify.alerters.base import Alerter
from logalert.rules import load_rule
from logalert.run.runner import RuleRunner, RunResult
from logalert.state.base import StateStore
from logalert.state.memory import MemoryState
from logalert.state.writeback import EngineState
from tests.integration.helpers import engine_options, write_yaml
from tests.support.efk import bulk_load, efk_doc

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
# The daemon's clock is not on whole minutes; a quarter second off keeps checkpoints honest.
STEPS = [T0 + dt.timedelta(minutes=m, milliseconds=250) for m in range(10, 22)]
FAR = dt.datetime(2100, 1, 1, tzinfo=UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


class Collecting(Alerter):
    """A notifier that keeps what it is given."""

    name = "stdout"

    def __init__(self, rule: Any) -> None:
        super().__init__(rule, {})
        self.sent: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.sent.append(alert)


def doc(minute: float, level: str = "ERROR", message: str = "boom", arrives: float | None = None,
        **fields: Any) -> tuple[float, dict[str, Any]]:
    """A log line at ``minute`` and the minute it reaches the engine (default: at once)."""
    return (minute if arrives is None else arrives), efk_doc(at(minute), level, message, **fields)


ERRORS = [{"term": {"level.keyword": "ERROR"}}]

# name -> (rule options, documents with their arrival minute, what the runs must produce)
SCENARIOS: dict[str, tuple[dict[str, Any], list[tuple[float, dict[str, Any]]], dict[str, int]]] = {
    "any": (
        {"type": "any", "filter": ERRORS, "query_key": "host", "realert": {"minutes": 3}},
        [doc(6, host="node-1"), doc(7, host="node-1"), doc(8, "INFO", host="node-1"), doc(9.5, host="node-2"),
         doc(10.5, host="node-1"), doc(9.8, host="node-2", arrives=12),  # late, and silenced
         doc(14, host="node-1"), doc(15, host="node-1"), doc(16, host="node-3", arrives=20)],
        {"alerts": 5, "silences": 3, "open buckets": 0}),
    "frequency": (
        {"type": "frequency", "filter": ERRORS, "num_events": 3, "timeframe": {"minutes": 4},
         "realert": {"minutes": 5}},
        [doc(8), doc(9), doc(10.2), doc(11), doc(11.5), doc(12), doc(16), doc(16.5, arrives=18), doc(17)],
        {"alerts": 2, "silences": 1, "open buckets": 0}),
    "flatline": (
        {"type": "flatline", "filter": [{"term": {"message.keyword": "heartbeat"}}], "threshold": 1,
         "timeframe": {"minutes": 3}, "realert": {"minutes": 2}},
        [doc(m / 2, "INFO", "heartbeat") for m in range(27)] + [doc(m, "INFO", "other") for m in range(22)],
        {"alerts": 3, "silences": 1, "open buckets": 0}),
    "spike": (
        {"type": "spike", "filter": [{"range": {"status": {"gte": 500}}}], "spike_height": 3, "spike_type": "up",
         "timeframe": {"minutes": 4}, "threshold_cur": 6, "realert": {"minutes": 5}},
        [doc(m) for m in range(22)] + [doc(14 + i / 10, arrives=15) for i in range(10)],
        {"alerts": 1, "silences": 1, "open buckets": 0}),
    "new_term": (
        {"type": "new_term", "fields": ["user"], "terms_window_size": {"days": 1}, "realert": {"minutes": 1}},
        [doc(-60, user="alice", arrives=0), doc(-30, user="bob", arrives=0), doc(11, user="mallory"),
         doc(12, user="mallory"), doc(13, user="alice"), doc(15, user="trudy", arrives=17), doc(18, user="eve")],
        {"alerts": 3, "silences": 1, "open buckets": 0}),
    "aggregation": (
        {"type": "any", "filter": ERRORS, "realert": {"minutes": 0}, "aggregation": {"minutes": 3},
         "aggregation_key": "host", "summary_table_fields": ["host"]},
        [doc(6, host="node-1"), doc(7, host="node-2"), doc(9, host="node-1"), doc(11, host="node-1"),
         doc(12.5, host="node-2", arrives=14), doc(15, host="node-1"), doc(19, host="node-2")],
        {"alerts": 4, "silences": 0, "open buckets": 1}),
}


@pytest.fixture
def engine_state(engine_url, engine) -> Iterable[EngineState]:
    index = f"logalert_agree_{uuid.uuid4().hex[:8]}"
    backend = connect(engine_options(engine_url))
    yield EngineState(lambda: backend, index)
    engine.indices.delete(index=index, ignore_unavailable=True)


def make_rule(tmp_path, engine_url, prefix: str, name: str, options: dict[str, Any]):
    data = {**engine_options(engine_url), "name": f"agree {name}", "index": f"{prefix}-*", "alert": ["stdout"],
            "run_every": {"minutes": 1}, "buffer_time": {"minutes": 5}, **options}
    path = write_yaml(tmp_path / f"{name}.yaml", data)
    rule, warnings = load_rule(str(path), load_config(None, environ={}))
    assert warnings == []
    return rule


class Side:
    """One store's runner, notifier and clock; the daemon keeps all three between runs."""

    def __init__(self, rule: Any, state: StateStore) -> None:
        self.rule, self.state, self.now = rule, state, STEPS[0]
        self.notifier = Collecting(rule)
        self.runner = RuleRunner(rule, Pool(), state, alerters=[self.notifier], clock=lambda: self.now)

    def step(self, now: dt.datetime) -> dict[str, Any]:
        """One run at ``now`` and everything it left behind, in comparable form."""
        self.now = now
        before = len(self.notifier.sent)
        result: RunResult = self.runner.run()
        assert result.error is None, result.error
        name = self.rule.name
        status = self.state.load_status(name)
        return {
            "window": result.window, "hits": result.hits, "matches": result.matches,
            "sent": [(a.id, a.subject, a.body, len(a.matches)) for a in self.notifier.sent[before:]],
            "delivered": result.delivered,
            "status": dataclasses.replace(status, duration=0.0) if status else None,  # duration is wall time
            "silences": sorted(self.state.list_silences(), key=lambda x: (x.rule, x.key)),
            # sent_at is the wall-clock moment of the send, not the run's clock
            "outbox": sorted((dataclasses.replace(e, sent_at=None) for e in self.state.outbox(name)
                              if e.status != "sent" or e.sent_at is not None), key=lambda e: e.id),
            "pending": sorted(e.id for e in self.state.pending_outbox(name)),
            "buckets": sorted(self.state.due_aggregations(name, FAR), key=lambda a: a.key),
        }


def lockstep(name: str, steps: list[dt.datetime], engine, engine_url, prefix: str, tmp_path,
             engine_state: EngineState) -> tuple[Side, Side]:
    """Run scenario ``name`` on both stores, comparing everything after every step."""
    options, docs, _ = SCENARIOS[name]
    rule = make_rule(tmp_path, engine_url, prefix, name, options)
    memory, daemon = Side(rule, MemoryState()), Side(rule, engine_state)
    loaded = 0
    arrivals = sorted(docs, key=lambda d: d[0])
    for now in steps:
        due = [d for arrive, d in arrivals[loaded:] if at(arrive) <= now]
        if due:
            bulk_load(engine, None, due, prefix=prefix)
            loaded += len(due)
        seen_by_memory, seen_by_daemon = memory.step(now), daemon.step(now)
        for what in seen_by_memory:
            assert seen_by_memory[what] == seen_by_daemon[what], f"{name} at {now:%H:%M:%S}: {what} differs"
    assert loaded == len(docs)
    return memory, daemon


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_memory_and_engine_state_give_the_same_runs(name, engine, engine_url, fresh_index, tmp_path, engine_state):
    memory, _ = lockstep(name, STEPS, engine, engine_url, fresh_index, tmp_path, engine_state)
    # The scenario did what it is there for, so an agreement on "nothing" cannot pass.
    rule = memory.rule
    produced = {"alerts": len(memory.notifier.sent), "silences": len(memory.state.list_silences()),
                "open buckets": len(memory.state.due_aggregations(rule.name, FAR))}
    assert produced == SCENARIOS[name][2], [a.subject for a in memory.notifier.sent]
    assert all(e.status == "sent" for e in memory.state.outbox(rule.name))


def test_a_clock_finer_than_a_millisecond(engine, engine_url, fresh_index, tmp_path, engine_state):
    steps = [now + dt.timedelta(microseconds=500) for now in STEPS]
    lockstep("any", steps, engine, engine_url, fresh_index, tmp_path, engine_state)
