"""On a real engine: a steady run fetches only the documents past the last end (less the
late margin), counts the buffer_time overlap instead of reading it again, and still
finds a document indexed late inside buffer_time, once. Counted by the documents the
engine's answers carry, never by time."""

from __future__ import annotations

import datetime as dt

import pytest

from logalert.config import load_config
from logalert.engine import connect
from logalert.rules import load_rule
from logalert.run import overlap
from logalert.run.runner import RuleRunner
from logalert.state.memory import MemoryState
from tests.integration.helpers import engine_options, write_yaml

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 5, 1, 12, 0, 0, 250000, tzinfo=UTC)  # not on a whole second


class Pool:
    def __init__(self, backend):
        self.backend = backend

    def get(self, key, options):
        return self.backend


@pytest.fixture
def setup(engine_url, fresh_index, tmp_path):
    backend = connect(engine_options(engine_url))
    returned: list[str] = []
    call = backend._call

    def counting(method, path, **kw):
        answer = call(method, path, **kw)
        for response in answer.get("responses", [answer]) if isinstance(answer, dict) else []:
            returned.extend(h["_id"] for h in (response.get("hits") or {}).get("hits", []))
        return answer

    backend._call = counting
    index = f"{fresh_index}-2024.05.01"
    path = write_yaml(tmp_path / "rule.yaml", {
        "name": "errors", "type": "any", "index": f"{fresh_index}-*", "filter": [{"term": {"level.keyword": "ERROR"}}],
        "buffer_time": {"minutes": 15}, "run_every": {"minutes": 1}, "realert": {"minutes": 0}, "alert": "stdout"})
    rule, _ = load_rule(str(path), load_config(None, environ={}))
    clock = [T0]
    runner = RuleRunner(rule, Pool(backend), MemoryState(), alerters=[], clock=lambda: clock[0])

    def add(start: dt.datetime, end: dt.datetime, every: dt.timedelta) -> list[str]:
        docs, moment = [], start
        while moment < end:
            for level in ("ERROR", "INFO"):
                docs.append((f"{level}-{moment:%H%M%S%f}", {"@timestamp": moment.isoformat(), "level": level}))
            moment += every
        backend.bulk(index, docs, refresh=True)
        return [i for i, d in docs if d["level"] == "ERROR"]

    return backend, index, runner, clock, add, returned


def matched(result) -> list[str]:
    assert result.error is None, result.error
    return sorted(m.doc_id for m in result.matches)


def test_steady_runs_fetch_each_document_once_beyond_the_margin_and_late_ones_once(setup):
    backend, index, runner, clock, add, returned = setup
    every = dt.timedelta(seconds=4)
    add(T0 - dt.timedelta(minutes=20), T0, every)
    runner.run()
    last_end = T0
    for minute in (1, 2):
        clock[0] = T0 + dt.timedelta(minutes=minute)
        returned.clear()
        new = add(last_end, clock[0], every)
        assert matched(runner.run()) == sorted(new)
        again = {i for i in returned if i not in new}
        # Fetched again: only the documents within the late margin before the last end, and
        # those of the window's first fraction of a second (the overlap is counted in whole seconds).
        start = last_end - dt.timedelta(minutes=15)
        margin = f"ERROR-{last_end - overlap.LATE_MARGIN - dt.timedelta(seconds=1):%H%M%S%f}"
        first = (f"ERROR-{start:%H%M%S%f}", f"ERROR-{start + dt.timedelta(seconds=1):%H%M%S%f}")
        assert again and all(i >= margin or first[0] <= i < first[1] for i in again)
        assert len(returned) == len(set(returned))
        last_end = clock[0]
    # A document indexed now with a timestamp 9 minutes back: found once, alerted once.
    late = "late-error"
    backend.index(index, {"@timestamp": (T0 - dt.timedelta(minutes=7)).isoformat(), "level": "ERROR"}, id=late,
                  refresh=True)
    clock[0] = T0 + dt.timedelta(minutes=3)
    returned.clear()
    new = add(last_end, clock[0], every)
    assert matched(runner.run()) == sorted(new + [late])
    assert returned.count(late) == 1
    clock[0] = T0 + dt.timedelta(minutes=4)
    returned.clear()
    newer = add(T0 + dt.timedelta(minutes=3), clock[0], every)
    assert matched(runner.run()) == sorted(newer)
    assert late not in returned
