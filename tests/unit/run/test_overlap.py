"""Steady runs read only what is new: the buffer_time overlap is counted, not fetched
again, and a document indexed late inside it is still found once. Counted by the
documents the (in-process) engine returns, never by time."""

from __future__ import annotations

import datetime as dt
import json

from logalert.engine.inprocess.backend import InProcessBackend
from logalert.run import overlap
from logalert.run.runner import RuleRunner
from logalert.state import MemoryState

from ..conftest import at

RULE = """
name: errors
type: any
index: logs
filter:
- term: {level.keyword: ERROR}
buffer_time: {minutes: 15}
run_every: {minutes: 1}
realert: {minutes: 0}
alert: stdout
"""
T0 = at(2024, 5, 1, 12, 0)


class CountingBackend(InProcessBackend):
    """Remembers the id of every document a search answer carried (hits, not counts)."""

    def __init__(self) -> None:
        super().__init__()
        self.returned: list[str] = []

    def _call(self, method, path, *, params=None, body=None, ndjson=False):
        answer = super()._call(method, path, params=params, body=body, ndjson=ndjson)
        if path.endswith("_msearch"):
            for response in answer.get("responses", []):
                self.returned += [h["_id"] for h in (response.get("hits") or {}).get("hits", [])]
        elif path.endswith("_search"):
            self.returned += [h["_id"] for h in (answer.get("hits") or {}).get("hits", [])]
        return answer

    def take(self) -> list[str]:
        out, self.returned = self.returned, []
        return out


class Pool:
    def __init__(self, backend):
        self.backend = backend

    def get(self, key, options):
        return self.backend


def doc_id(moment: dt.datetime, level: str = "ERROR") -> str:
    return f"{level}-{moment:%H%M%S}"


def add(backend: CountingBackend, start: dt.datetime, end: dt.datetime, every: dt.timedelta) -> list[str]:
    """An ERROR and an INFO line every ``every`` in [start, end); the ERROR ids."""
    docs, errors, moment = [], [], start
    while moment < end:
        for level in ("ERROR", "INFO"):
            docs.append((doc_id(moment, level), {"@timestamp": moment.isoformat(), "level": level}))
        errors.append(doc_id(moment))
        moment += every
    backend.bulk("logs", docs, refresh=True)
    return errors


def setup(make_rule):
    backend = CountingBackend()
    backend.index("logs", {"@timestamp": T0.isoformat(), "level": "boot"}, id="boot", refresh=True)
    clock = [T0]
    runner = RuleRunner(make_rule(RULE), Pool(backend), MemoryState(), alerters=[], clock=lambda: clock[0])
    return backend, clock, runner


def matched(result) -> list[str]:
    assert result.error is None, result.error
    return [m.doc_id for m in result.matches]


def test_a_steady_run_fetches_only_documents_past_the_last_end_less_the_margin(make_rule):
    backend, clock, runner = setup(make_rule)
    step = dt.timedelta(seconds=5)
    first = add(backend, T0 - dt.timedelta(minutes=20), T0, step)
    assert sorted(matched(runner.run())) == sorted(i for i in first if i >= doc_id(T0 - dt.timedelta(minutes=15)))
    backend.take()
    last_end = T0
    for minute in range(1, 4):
        clock[0] = T0 + dt.timedelta(minutes=minute)
        new = add(backend, last_end, clock[0], step)
        result = runner.run()
        assert matched(result) == new
        margin_start = last_end - overlap.LATE_MARGIN
        expected = [i for i in add_ids(margin_start, clock[0], step)]
        assert backend.take() == expected  # the margin's and the new minute's ERROR lines, each once
        last_end = clock[0]


def add_ids(start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> list[str]:
    """The ERROR ids ``add`` wrote in [start, end), from the ids alone (they encode their time)."""
    out, moment = [], start
    while moment < end:
        out.append(doc_id(moment))
        moment += step
    return out


def test_a_late_document_inside_buffer_time_alerts_once_and_is_fetched_with_its_bucket_only(make_rule):
    backend, clock, runner = setup(make_rule)
    step = dt.timedelta(seconds=30)
    add(backend, T0 - dt.timedelta(minutes=20), T0, dt.timedelta(minutes=1))
    runner.run()
    clock[0] = T0 + dt.timedelta(minutes=1)
    runner.run()
    backend.take()
    late_time = T0 - dt.timedelta(minutes=7, seconds=3)
    late = "late-one"
    backend.index("logs", {"@timestamp": late_time.isoformat(), "level": "ERROR"}, id=late, refresh=True)
    clock[0] = T0 + dt.timedelta(minutes=2)
    new = add(backend, T0 + dt.timedelta(minutes=1), clock[0], step)
    assert sorted(matched(runner.run())) == sorted(new + [late])
    fetched = backend.take()
    assert fetched.count(late) == 1
    # Besides the margin and the new minute, only the late document's bucket was read again.
    s = overlap.split(runner.rule, runner.window(runner.state.load_status("errors")), clock[0])
    assert s is not None
    bucket = [i for i in fetched if i not in new and i != late and i not in
              add_ids(T0 + dt.timedelta(minutes=1) - overlap.LATE_MARGIN, clock[0], step)]
    assert len(bucket) <= s.step / dt.timedelta(minutes=1) + 1
    clock[0] = T0 + dt.timedelta(minutes=3)
    newer = add(backend, T0 + dt.timedelta(minutes=2), clock[0], step)
    assert matched(runner.run()) == newer  # the late document does not alert again
    assert late not in backend.take()


def test_a_deleted_document_makes_its_bucket_read_again_without_repeating_alerts(make_rule):
    backend, clock, runner = setup(make_rule)
    add(backend, T0 - dt.timedelta(minutes=20), T0, dt.timedelta(seconds=20))
    runner.run()
    gone = doc_id(T0 - dt.timedelta(minutes=5))
    backend._call("DELETE", f"/logs/_doc/{gone}", params={"refresh": "true"})
    clock[0] = T0 + dt.timedelta(minutes=1)
    new = add(backend, T0, clock[0], dt.timedelta(seconds=20))
    assert matched(runner.run()) == new


def test_the_overlap_is_counted_in_one_histogram_search(make_rule):
    _backend, clock, runner = setup(make_rule)
    runner.run()
    clock[0] = T0 + dt.timedelta(minutes=1)
    plan = runner.plan()
    kinds = [r.kind for r in plan.requests]
    assert kinds.count("hits") == 1 and kinds.count("aggs") == 1
    hits = next(r for r in plan.requests if r.kind == "hits")
    assert overlap.LATE_MARGIN.total_seconds() == 10
    assert "2024-05-01T11:59:50.000Z" in json.dumps(hits.body)  # from the last end less the margin
