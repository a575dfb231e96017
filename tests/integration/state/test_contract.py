"""The StateStore contract, run over every implementation.

test-rule runs a rule on MemoryState, the daemon on EngineState (the writeback index);
the runner promises they never disagree, which holds only if both stores answer every
question alike. Each test here runs once per store (``store`` is parametrised) against
the same expected answers. Listings are compared as sets: no store promises an order,
except ``errors`` (newest first).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid
from collections.abc import Iterable
from typing import Any

import pytest

from logalert.engine import connect
from logalert.state.base import (
    Aggregation,
    OutboxEntry,
    RuleStatus,
    Silence,
    StateStore,
)
from logalert.state.memory import MemoryState
from logalert.state.writeback import EngineState
from tests.integration.helpers import engine_options

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)

STORES = ["memory", "engine"]


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture(params=STORES)
def store(request) -> Iterable[StateStore]:
    """A fresh, empty store; for the engine, a writeback index of its own, deleted afterwards.
    The memory store does not start the engine."""
    if request.param == "memory":
        yield MemoryState()
        return
    engine_url, engine = request.getfixturevalue("engine_url"), request.getfixturevalue("engine")
    index = f"logalert_contract_{uuid.uuid4().hex[:8]}"
    backend = connect(engine_options(engine_url))
    yield EngineState(lambda: backend, index)
    engine.indices.delete(index=index, ignore_unavailable=True)


def by(items: Iterable[Any], *fields: str) -> list[Any]:
    return sorted(items, key=lambda x: tuple(getattr(x, f) for f in fields))


def status(rule: str = "r", **changes: Any) -> RuleStatus:
    base = RuleStatus(rule, last_end=at(10), last_run=at(10.5), hits=7, matches=2, alerts=1, duration=0.25,
                      error=None, seen={"logs-a/1": at(9).timestamp(), "logs-a/2": at(9.5).timestamp()})
    return dataclasses.replace(base, **changes)


def entry(name: str, rule: str = "r", alerter: str = "slack", **changes: Any) -> OutboxEntry:
    base = OutboxEntry(id=f"{name}/{alerter}", alert_id=name, rule=rule, alerter=alerter,
                       subject=f"subject of {name}", body=f"body of {name}\nsecond line", created=at(1))
    return dataclasses.replace(base, **changes)


def record(n: int) -> dict[str, Any]:
    """A digest's match record as notify.digest writes them (JSON-able)."""
    return {"id": f"m{n}", "timestamp": f"2024-05-01T12:0{n}:00.000Z", "fields": {"message": f"boom {n}", "n": n},
            "index": "logs-a", "doc_id": str(n), "key": ["api-1"], "details": {"count": n}}


def bucket(key: str, rule: str = "r", send_at: float = 10, matches: int = 1) -> Aggregation:
    return Aggregation(rule, key, created=at(0), send_at=at(send_at), matches=[record(i) for i in range(matches)])


# --- rule status ----------------------------------------------------------------------
def test_a_saved_status_reads_back_whole_and_a_new_save_replaces_it(store):
    assert store.load_status("r") is None
    assert store.all_status() == []
    first = status()
    store.save_status(first)
    assert store.load_status("r") == first
    assert store.all_status() == [first]
    later = status(last_end=at(11), last_run=at(11.5), hits=0, matches=0, alerts=0, error="engine down", seen={})
    store.save_status(later)
    assert store.load_status("r") == later
    assert store.all_status() == [later]


def test_status_copies_are_independent_of_the_store(store):
    saved = status()
    store.save_status(saved)
    snapshot = dataclasses.replace(saved, seen=saved.seen.copy())
    saved.hits, saved.last_end = 99, at(50)
    saved.seen["logs-a/3"] = at(20).timestamp()
    assert store.load_status("r") == snapshot
    loaded = store.load_status("r")
    loaded.matches = 42
    loaded.seen.clear()
    assert store.load_status("r") == snapshot
    listed = store.all_status()
    listed[0].seen["logs-a/4"] = 1.0
    listed[0].error = "changed"
    assert store.load_status("r") == snapshot
    assert store.all_status() == [snapshot]


def test_all_status_holds_every_rule_once(store):
    for rule in ("b", "a", "c"):
        store.save_status(status(rule))
    store.save_status(status("b", hits=3))
    assert by(store.all_status(), "rule") == [status("a"), status("b", hits=3), status("c")]


def test_preloaded_statuses_read_like_loaded_ones(store):
    store.save_status(status("known"))
    store.preload_status(["known", "missing"])
    assert store.load_status("known") == status("known")
    assert store.load_status("missing") is None
    store.save_status(status("missing", hits=1))  # a rule's first run after the preload
    assert store.load_status("missing") == status("missing", hits=1)
    store.preload_status([])
    assert by(store.all_status(), "rule") == [status("known"), status("missing", hits=1)]


def test_deferred_status_writes_are_read_back_at_once_and_all_kept(store):
    store.save_status(status("a"))
    with store.deferred_status():
        store.save_status(status("a", hits=1))
        store.save_status(status("b", hits=2))
        store.save_status(status("a", hits=3))
        assert store.load_status("a") == status("a", hits=3)
        assert store.load_status("b") == status("b", hits=2)
    assert store.load_status("a") == status("a", hits=3)
    assert by(store.all_status(), "rule") == [status("a", hits=3), status("b", hits=2)]


def test_deferred_status_writes_survive_an_error_in_the_block(store):
    with pytest.raises(RuntimeError), store.deferred_status():
        store.save_status(status("a", hits=5))
        raise RuntimeError("a rule run blew up")
    assert store.load_status("a") == status("a", hits=5)
    assert store.all_status() == [status("a", hits=5)]


def test_times_read_back_in_utc_to_the_millisecond(store):
    local = dt.timezone(dt.timedelta(hours=2))
    precise = dt.datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=local)
    stored = dt.datetime(2024, 5, 1, 12, 0, 0, 123000, tzinfo=UTC)

    def same(value: dt.datetime | None) -> bool:
        return value == stored and value.utcoffset() == dt.timedelta(0)

    store.save_status(status(last_end=precise, last_run=precise))
    assert [same(s.last_end) and same(s.last_run) for s in store.all_status()] == [True]
    store.put_silence(Silence("r", "k", precise))
    assert [same(x.until) for x in store.list_silences()] == [True]
    store.put_outbox(entry("a", created=precise, status="sent", sent_at=precise))
    assert [same(e.created) and same(e.sent_at) for e in store.outbox()] == [True]
    store.put_aggregation(Aggregation("r", "k", created=precise, send_at=precise))
    # What the rule runs read (the same values as the listings above):
    loaded = store.load_status("r")
    assert same(loaded.last_end) and same(loaded.last_run)
    assert same(store.get_silence("r", "k").until)
    got = store.get_outbox("a/slack")
    assert same(got.created) and same(got.sent_at)
    agg = store.get_aggregation("r", "k")
    assert same(agg.created) and same(agg.send_at)


def test_more_than_a_thousand_statuses_are_all_listed(store):
    with store.deferred_status():
        for i in range(1001):
            store.save_status(RuleStatus(f"rule {i}", last_end=at(1)))
    assert len(store.all_status()) == 1001


# --- silences -------------------------------------------------------------------------
def test_silences_put_get_replace_and_list(store):
    assert store.get_silence("r", "a") is None
    assert store.list_silences() == []
    a, b, whole = Silence("r", "a", at(5)), Silence("r", "b", at(6), 2, "realert"), Silence("r", "*", at(60), 0, "manual")
    other = Silence("other", "", at(7))
    for silence in (a, b, whole, other):
        store.put_silence(silence)
    assert [store.get_silence(x.rule, x.key) for x in (a, b, whole, other)] == [a, b, whole, other]
    assert store.get_silence("r", "") is None and store.get_silence("other", "a") is None
    longer = Silence("r", "a", at(15), 1, "realert")
    store.put_silence(longer)
    assert store.get_silence("r", "a") == longer
    assert by(store.list_silences(), "rule", "key") == [other, whole, longer, b]


def test_put_silences_records_them_all(store):
    batch = [Silence("r", f"host-{i}", at(i), i % 3) for i in range(5)]
    store.put_silence(Silence("r", "host-0", at(100)))
    store.put_silences(batch)
    store.put_silences([])
    assert [store.get_silence("r", f"host-{i}") for i in range(5)] == batch
    assert by(store.list_silences(), "key") == batch


def test_remove_silence_by_key_and_by_rule(store):
    store.put_silences([Silence("r", "a", at(5)), Silence("r", "b", at(5)), Silence("r", "*", at(5), 0, "manual"),
                        Silence("other", "a", at(5))])
    assert store.remove_silence("r", "a") == 1
    assert store.get_silence("r", "a") is None and store.get_silence("r", "b") is not None
    assert store.remove_silence("r", "a") == 0
    assert store.remove_silence("r", "nope") == 0
    assert store.remove_silence("r") == 2  # "b" and the whole-rule "*"
    assert store.get_silence("r", "b") is None and store.get_silence("r", "*") is None
    assert store.remove_silence("r") == 0
    assert store.list_silences() == [Silence("other", "a", at(5))]
    assert store.get_silence("other", "a") == Silence("other", "a", at(5))


def test_more_than_a_thousand_silences_are_all_kept(store):
    batch = [Silence("r", f"user-{i}", at(i)) for i in range(1001)]
    store.put_silences(batch)
    assert len(store.list_silences()) == 1001
    assert store.remove_silence("r") == 1001


# --- outbox ---------------------------------------------------------------------------
def test_outbox_entries_put_get_and_list_by_rule(store):
    assert store.get_outbox("a/slack") is None
    assert store.pending_outbox() == [] and store.outbox() == []
    a, a_mail, b = entry("a"), entry("a", alerter="email"), entry("b", rule="other", created=at(2))
    for e in (a, a_mail, b):
        store.put_outbox(e)
    assert [store.get_outbox(e.id) for e in (a, a_mail, b)] == [a, a_mail, b]
    assert by(store.pending_outbox(), "id") == [a_mail, a, b]
    assert by(store.pending_outbox("r"), "id") == [a_mail, a]
    assert store.pending_outbox("nobody") == []
    assert by(store.outbox(), "id") == [a_mail, a, b]
    assert store.outbox("other") == [b]


def test_outbox_entries_keep_their_matches_for_a_retry(store):
    doc = {"@timestamp": "2024-01-01T00:00:01Z", "kubernetes": {"namespace_name": "shop"}, "message": "boom"}
    kept = dataclasses.replace(entry("m"), matches=[{"timestamp": "2024-01-01T00:00:01+00:00", "fields": doc,
                                                     "index": "logs-1", "doc_id": "d1", "key": ["shop"], "details": {}}])
    store.put_outbox(kept)
    assert store.get_outbox(kept.id) == kept
    assert store.pending_outbox("r") == [kept]


def test_outbox_status_moves_from_pending_to_sent_or_failed(store):
    a, b, c = entry("a"), entry("b"), entry("c")
    store.put_outbox_many([a, b, c])
    retried = dataclasses.replace(a, attempts=1, last_error="HTTP 503")
    store.put_outbox(retried)  # a failed attempt that will be retried stays pending
    assert by(store.pending_outbox("r"), "id") == [retried, b, c]
    sent = dataclasses.replace(retried, status="sent", attempts=2, sent_at=at(3))
    failed = dataclasses.replace(b, status="failed", attempts=5, last_error="HTTP 400: invalid_payload")
    store.put_outbox(sent)
    store.put_outbox_many([failed])
    assert store.pending_outbox() == [c]
    assert store.get_outbox(a.id) == sent and store.get_outbox(b.id) == failed
    assert by(store.outbox("r"), "id") == [sent, failed, c]
    assert [e.id for e in store.outbox() if e.status == "failed"] == [b.id]  # what `logalert status` counts
    store.put_outbox(dataclasses.replace(c, status="sent", attempts=1, sent_at=at(4)))
    assert store.pending_outbox() == []


def test_outbox_many_reads_and_writes_several_at_once(store):
    a, b = entry("a"), entry("b", alerter="email")
    assert store.get_outbox_many([]) == {}
    assert store.get_outbox_many([a.id, b.id]) == {}
    store.put_outbox_many([a, b])
    store.put_outbox_many([])
    assert store.get_outbox_many([a.id, "missing/slack", b.id]) == {a.id: a, b.id: b}
    later = dataclasses.replace(a, status="sent", sent_at=at(2), attempts=1)
    store.put_outbox_many([later])
    assert store.get_outbox_many([a.id]) == {a.id: later}
    assert store.get_outbox(a.id) == later


def test_outbox_listing_is_capped_by_size(store):
    entries = [entry(f"e{i}", created=at(i)) for i in range(5)]
    store.put_outbox_many(entries)
    capped = store.outbox(size=2)
    assert len(capped) == 2 and all(e in entries for e in capped)
    assert len(store.outbox("r", size=3)) == 3
    assert by(store.outbox("r", size=10), "id") == entries


def test_outbox_copies_are_independent_of_the_store(store):
    a = entry("a")
    store.put_outbox(a)
    a.status, a.subject = "sent", "changed by the caller"
    assert store.get_outbox("a/slack") == entry("a")
    got = store.get_outbox("a/slack")
    got.attempts = 9
    store.pending_outbox()[0].last_error = "changed"
    store.get_outbox_many(["a/slack"])["a/slack"].status = "failed"
    assert store.get_outbox("a/slack") == entry("a")
    assert store.pending_outbox() == [entry("a")]


# --- aggregation buckets ---------------------------------------------------------------
def test_aggregation_buckets_put_get_due_and_delete(store):
    assert store.get_aggregation("r", "a") is None
    assert store.due_aggregations("r", at(100)) == []
    a, b, other = bucket("a", send_at=10), bucket("b", send_at=20, matches=2), bucket("a", rule="other", send_at=5)
    for agg in (a, b, other):
        store.put_aggregation(agg)
    assert store.get_aggregation("r", "a") == a and store.get_aggregation("other", "a") == other
    assert store.get_aggregation("r", "c") is None
    assert store.due_aggregations("r", at(9.9)) == []
    assert store.due_aggregations("r", at(10)) == [a]  # due at its send_at exactly
    assert by(store.due_aggregations("r", at(30)), "key") == [a, b]
    grown = bucket("a", send_at=10, matches=3)
    store.put_aggregation(grown)
    assert store.get_aggregation("r", "a") == grown
    store.delete_aggregation("r", "a")
    store.delete_aggregation("r", "never there")
    assert store.get_aggregation("r", "a") is None
    assert store.due_aggregations("r", at(30)) == [b]
    assert store.due_aggregations("other", at(30)) == [other]


def test_aggregation_copies_are_independent_of_the_store(store):
    agg = bucket("a", matches=2)
    store.put_aggregation(agg)
    agg.matches.append(record(9))
    agg.matches[0]["fields"]["message"] = "changed"
    assert store.get_aggregation("r", "a") == bucket("a", matches=2)
    got = store.get_aggregation("r", "a")
    got.matches.clear()
    store.due_aggregations("r", at(100))[0].matches[1]["details"]["count"] = -1
    assert store.get_aggregation("r", "a") == bucket("a", matches=2)


# --- run errors -----------------------------------------------------------------------
def test_run_errors_read_back_newest_first(store):
    assert store.errors() == []
    before = dt.datetime.now(UTC).replace(microsecond=0)
    for rule, message in (("a", "one"), ("b", "two"), ("a", "three")):
        store.record_error(rule, message)
        time.sleep(0.005)  # distinct milliseconds, so "newest" is well defined
    after = dt.datetime.now(UTC)
    assert [(e.rule, e.message) for e in store.errors()] == [("a", "three"), ("b", "two"), ("a", "one")]
    assert [e.message for e in store.errors("a")] == ["three", "one"]
    assert [e.message for e in store.errors(size=1)] == ["three"]
    assert [e.message for e in store.errors("b", size=5)] == ["two"]
    assert store.errors("nobody") == []
    created = [e.created for e in store.errors()]
    assert created == sorted(created, reverse=True)
    assert all(before <= c <= after and c.utcoffset() == dt.timedelta(0) and c.microsecond % 1000 == 0
               for c in created)
