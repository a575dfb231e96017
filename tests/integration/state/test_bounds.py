"""The writeback store's memory and start-up reads are bounded by time, not history,
and retention deletes exactly what is past it.

Counts of cached records are compared (entries, not bytes): a store holding N old
alerts must cache as many records as one holding ten times as many.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable

import pytest

from logalert.engine import connect
from logalert.state.base import Aggregation, OutboxEntry, RuleStatus, Silence, StateStore
from logalert.state.memory import MemoryState
from logalert.state.writeback import EngineState
from tests.integration.helpers import engine_options

UTC = dt.timezone.utc
NOW = dt.datetime.now(UTC).replace(microsecond=0)
HOUR = dt.timedelta(hours=1)


@pytest.fixture
def backend(engine_url):
    return connect(engine_options(engine_url))


@pytest.fixture
def new_index(engine):
    names: list[str] = []

    def make() -> str:
        names.append(f"logalert_bounds_{uuid.uuid4().hex[:8]}")
        return names[-1]

    yield make
    for name in names:
        engine.indices.delete(index=name, ignore_unavailable=True)


def sent(name: str, created: dt.datetime, rule: str = "r") -> OutboxEntry:
    return OutboxEntry(f"{name}/slack", name, rule, "slack", f"subject {name}", "body " * 50, created,
                       status="sent", attempts=1, sent_at=created)


def history(store: StateStore, n: int) -> None:
    """``n`` alerts sent 30-40 days ago, and a silence of each of 50 keys that ended then."""
    old = NOW - dt.timedelta(days=30)
    for start in range(0, n, 500):
        store.put_outbox_many([sent(f"old-{i}", old - dt.timedelta(minutes=i)) for i in range(start, min(n, start + 500))])
    store.put_silences([Silence("r", f"host-{i}", old) for i in range(50)])


def live(store: StateStore, tag: str) -> None:
    """What one run of today does: a status, a new alert, a silence, a read of the outbox."""
    store.save_status(RuleStatus("r", last_end=NOW, last_run=NOW))
    fresh = sent(f"{tag}-new", NOW - dt.timedelta(minutes=1))
    assert store.get_outbox_many([fresh.id], since=fresh.created) == {}
    store.put_outbox_many([fresh])
    store.put_silences([Silence("r", "host-live", NOW + HOUR)])
    assert store.get_silence("r", "host-live", at=NOW) is not None
    assert store.pending_outbox("r") == []


@pytest.mark.parametrize("old_alerts", [200, 2000])
def test_memory_holds_the_horizon_not_the_history(backend, new_index, old_alerts):
    index = new_index()
    history(EngineState(lambda: backend, index), old_alerts)  # an earlier process
    daemon = EngineState(lambda: backend, index, horizon=2 * HOUR)
    live(daemon, "a")
    live(daemon, "b")
    assert daemon.cached() == {"status": 1, "silences": 1, "pending": 0, "done": 2, "aggregations": 0}


def test_a_long_running_store_forgets_what_falls_behind_the_horizon(backend, new_index):
    clock = [NOW]
    store = EngineState(lambda: backend, new_index(), horizon=HOUR, clock=lambda: clock[0])
    for minute in range(0, 600, 5):  # ten hours of alerts, one every five minutes
        clock[0] = NOW + dt.timedelta(minutes=minute)
        entry = sent(f"a{minute}", clock[0])
        assert store.get_outbox_many([entry.id], since=entry.created) == {}
        store.put_outbox_many([entry])
    assert store.cached()["done"] <= 14  # about an hour's worth (12), never the 120 sent


def test_old_alerts_are_still_found_when_a_run_produces_them_again(backend, new_index):
    """A backfill over last month: its alerts are older than what memory covers, so the
    store looks them up instead of sending them twice."""
    index = new_index()
    history(EngineState(lambda: backend, index), 10)
    daemon = EngineState(lambda: backend, index, horizon=HOUR)
    old = sent("old-3", NOW - dt.timedelta(days=30, minutes=3))
    assert list(daemon.get_outbox_many([old.id, "never/slack"], since=old.created)) == [old.id]
    assert daemon.get_silence("r", "host-7", at=NOW - dt.timedelta(days=31)).until == NOW - dt.timedelta(days=30)


@pytest.fixture(params=["memory", "engine"])
def store(request, backend, new_index) -> Iterable[StateStore]:
    yield MemoryState() if request.param == "memory" else EngineState(lambda: backend, new_index())


def test_retention_deletes_only_what_is_past_it_and_never_a_pending_alert(store):
    cut = NOW - dt.timedelta(days=30)
    old, recent = cut - dt.timedelta(days=1), cut + dt.timedelta(days=1)
    store.put_outbox_many([
        sent("old-sent", old),
        OutboxEntry("old-failed/slack", "old-failed", "r", "slack", "s", "b", old, status="failed", attempts=5),
        OutboxEntry("old-pending/slack", "old-pending", "r", "slack", "s", "b", old),
        sent("recent-sent", recent),
    ])
    store.put_silences([Silence("r", "ended", old), Silence("r", "recent", recent), Silence("r", "*", NOW + dt.timedelta(days=2))])
    store.save_status(RuleStatus("kept rule", last_end=old, last_run=old))
    store.save_status(RuleStatus("deleted rule", last_end=old, last_run=old))
    store.put_aggregation(Aggregation("r", "", created=old, send_at=old))
    store.record_error("r", "an error of today")

    # Statuses carry the time they were written (now): retention "before tomorrow" shows
    # which kinds go, and that a rule still in the files keeps its status.
    assert store.purge(cut, keep_rules={"kept rule", "r"}) == 3  # old sent, old failed, ended silence
    assert {e.id for e in store.outbox()} == {"old-pending/slack", "recent-sent/slack"}
    assert {x.key for x in store.list_silences()} == {"recent", "*"}
    assert [e.id for e in store.pending_outbox()] == ["old-pending/slack"]
    assert {s.rule for s in store.all_status()} == {"kept rule", "deleted rule"}

    tomorrow = NOW + dt.timedelta(days=1)
    store.purge(tomorrow, keep_rules={"kept rule", "r"})
    assert {s.rule for s in store.all_status()} == {"kept rule"}
    assert [e.id for e in store.outbox()] == ["old-pending/slack"]  # pending survives any retention
    assert store.get_aggregation("r", "") is not None  # open digests too
    assert store.errors() == []
    assert {x.key for x in store.list_silences()} == {"*"}
