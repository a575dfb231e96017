"""The contract of what lets several daemons share one store, run over both stores:
leases with optimistic concurrency, heartbeats, and a store that takes a rule over
(``adopt``) seeing everything the previous writer wrote, with its caches filled before.

For the writeback index the "previous writer" is a second EngineState on the same index
(another process); for MemoryState it is the same object (one process).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable

import pytest

from logalert.engine import connect
from logalert.errors import EngineError
from logalert.state.base import Aggregation, LeaseWrite, OutboxEntry, Replica, RuleStatus, Silence, StateStore
from logalert.state.memory import MemoryState
from logalert.state.writeback import EngineState
from tests.integration.helpers import engine_options

UTC = dt.timezone.utc
NOW = dt.datetime.now(UTC).replace(microsecond=0)


@pytest.fixture(params=["memory", "engine"])
def pair(request) -> Iterable[tuple[StateStore, StateStore]]:
    """(this process's store, another writer's store) over the same records."""
    if request.param == "memory":
        store = MemoryState()
        yield store, store
        return
    engine_url, engine = request.getfixturevalue("engine_url"), request.getfixturevalue("engine")
    index = f"logalert_leases_{uuid.uuid4().hex[:8]}"
    backend = connect(engine_options(engine_url))
    yield EngineState(lambda: backend, index), EngineState(lambda: backend, index)
    engine.indices.delete(index=index, ignore_unavailable=True)


def replica(rid: str, beat: int = 1) -> Replica:
    return Replica(rid, beat, NOW, "host-1", 42, NOW)


# --- leases ---------------------------------------------------------------------------
def test_a_lease_is_created_once_and_then_written_only_over_the_version_read(pair):
    store, other = pair
    assert store.read_leases(["r"]) == {}
    _, [created] = store.lease_round(replica("a"), [LeaseWrite("r", "a", None, NOW, NOW)])
    assert created.version is not None and not created.conflict
    _, [again] = other.lease_round(replica("b"), [LeaseWrite("r", "b", None, NOW, NOW)])
    assert again.conflict and again.version is None  # _create: it exists
    lease = other.read_leases(["r", "never"])["r"]
    assert (lease.owner, lease.version, lease.expires) == ("a", created.version, NOW)
    _, [renewed, stale] = store.lease_round(replica("a", 2), [
        LeaseWrite("r", "a", created.version, NOW), LeaseWrite("r", "b", created.version, NOW)])
    assert renewed.version is not None and renewed.version != created.version
    assert stale.conflict  # the second write names the version the first one replaced
    _, [released] = store.lease_round(replica("a", 3), [LeaseWrite("r", None, renewed.version)])
    assert released.version is not None
    assert other.read_leases(["r"])["r"].owner is None
    _, [taken] = other.lease_round(replica("b", 2), [LeaseWrite("r", "b", released.version, NOW, NOW)])
    assert taken.version is not None and store.read_leases(["r"])["r"].owner == "b"
    assert {(x.rule, x.owner) for x in store.leases()} == {("r", "b")}


def test_every_round_records_a_heartbeat_and_answers_with_everyone_s(pair):
    store, other = pair
    seen, _ = store.lease_round(replica("a"), [])
    assert set(seen) == {"a"}
    seen, _ = other.lease_round(replica("b", 7), [])
    assert set(seen) == {"a", "b"} and seen["b"].beat == 7 and seen["b"].at == NOW
    seen, _ = store.lease_round(replica("a", 2), [], drop=["b"])
    assert set(seen) == {"a"} and seen["a"].beat == 2
    other.lease_round(None, [], drop=["a"])
    assert store.replicas() == {}


# --- taking a rule over ----------------------------------------------------------------
def sent(name: str, rule: str = "r") -> OutboxEntry:
    return OutboxEntry(f"{name}/slack", name, rule, "slack", f"subject {name}", "body", NOW - dt.timedelta(minutes=1),
                       status="sent", attempts=1, sent_at=NOW)


def test_adopting_a_rule_sees_what_the_previous_writer_wrote_after_this_store_cached_it(pair):
    store, other = pair
    # This process knew the rule once (caches filled), then another replica ran it.
    store.save_status(RuleStatus("r", last_end=NOW - dt.timedelta(minutes=5)))
    assert store.load_status("r").last_end == NOW - dt.timedelta(minutes=5)
    assert store.pending_outbox("r") == [] and store.get_outbox_many(["x/slack"], since=NOW) == {}
    assert store.get_silence("r", "host-1", at=NOW) is None
    assert store.due_aggregations("r", NOW) == []
    store.forget(["r"])

    other.save_status(RuleStatus("r", last_end=NOW, seen={"logs/1": NOW.timestamp()}))
    pending = dataclasses.replace(sent("p"), status="pending", attempts=0, sent_at=None)
    other.put_outbox_many([pending, sent("s"), sent("unrelated", rule="q")])
    other.put_silences([Silence("r", "host-1", NOW + dt.timedelta(hours=1))])
    other.put_aggregation(Aggregation("r", "", created=NOW, send_at=NOW))

    store.adopt(["r"])
    assert store.load_status("r") == other.load_status("r")
    assert [e.id for e in store.pending_outbox("r")] == ["p/slack"]
    # The alert the other replica sent is known, even where memory is trusted (recent match).
    assert set(store.get_outbox_many(["s/slack", "p/slack", "new/slack"], since=NOW - dt.timedelta(minutes=2))) == {
        "s/slack", "p/slack"}
    assert store.get_silence("r", "host-1", at=NOW).until == NOW + dt.timedelta(hours=1)
    assert [a.key for a in store.due_aggregations("r", NOW)] == [""]


def test_forgetting_a_rule_writes_its_deferred_status_first(pair):
    store, other = pair
    with store.deferred_status():
        store.save_status(RuleStatus("r", last_end=NOW))
        store.save_status(RuleStatus("q", last_end=NOW))
        store.forget(["r"])  # handed over in the middle of another tick
        assert other.load_status("r").last_end == NOW
    assert other.load_status("q").last_end == NOW


# --- the writeback index only: refusing a late writer --------------------------------------
def test_the_index_refuses_the_writes_of_a_run_whose_lease_ran_out(engine_url, engine):
    index = f"logalert_gate_{uuid.uuid4().hex[:8]}"
    backend = connect(engine_options(engine_url))
    store = EngineState(lambda: backend, index)
    try:
        store.gate = lambda rule: "0.4s of this replica's lease left" if rule == "lost" else None
        store.save_status(RuleStatus("kept", last_end=NOW))
        with pytest.raises(EngineError, match="lease left"):
            store.save_status(RuleStatus("lost", last_end=NOW))
        with pytest.raises(EngineError):
            store.put_outbox_many([sent("a", rule="lost")])
        with pytest.raises(EngineError):
            store.put_silences([Silence("lost", "", NOW)])
        store.put_silences([Silence("lost", "", NOW, reason="manual")])  # `logalert silence`: anyone
        with store.deferred_status():
            store.save_status(RuleStatus("kept", last_end=NOW + dt.timedelta(minutes=1)))
        assert EngineState(lambda: backend, index).load_status("lost") is None
        assert store.outbox("lost") == []
    finally:
        engine.indices.delete(index=index, ignore_unavailable=True)


def test_the_heartbeat_record_sheds_removed_replicas(engine_url, engine):
    index = f"logalert_beats_{uuid.uuid4().hex[:8]}"
    backend = connect(engine_options(engine_url))
    store = EngineState(lambda: backend, index)
    try:
        for i in range(60):
            store.lease_round(replica(f"gone-{i}"), [])
        store.lease_round(replica("a"), [], drop=[f"gone-{i}" for i in range(60)])  # 60 null keys
        store.lease_round(replica("a", 2), [])  # sees them, rewrites the record without them
        from logalert.state.lease_index import REPLICAS_ID

        raw = engine.get(index=index, id=REPLICAS_ID)["_source"]["replicas"]
        assert list(raw) == ["a"] and raw["a"]["beat"] == 2
        assert set(store.replicas()) == {"a"}
    finally:
        engine.indices.delete(index=index, ignore_unavailable=True)
