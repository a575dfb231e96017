"""The lease protocol, replicas in one process: several LeaseManagers share one
MemoryState (the same conditional writes the writeback index does) and one fake
monotonic clock, and rounds are stepped by hand. Invariants checked after every step:
no rule is runnable on two replicas, and a replica that lost (or may lose) a rule has
stopped sending before anyone else can take it."""

from __future__ import annotations

import datetime as dt

import pytest

from logalert.daemon.guard import GuardedAlerter
from logalert.daemon.leases import LeaseManager, guard_for, ranking
from logalert.errors import DeliveryError, EngineError
from logalert.state import MemoryState

RULES = [f"rule-{i}" for i in range(12)]
D, R = 6.0, 2.0


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


class Flaky:
    """A store this replica cannot reach while ``down`` (a partition)."""

    def __init__(self, inner: MemoryState) -> None:
        self.inner, self.down = inner, False

    def __getattr__(self, name):
        attr = getattr(self.inner, name)
        if not callable(attr):
            return attr

        def call(*args, **kwargs):
            if self.down:
                raise EngineError("cannot reach the search engine")
            return attr(*args, **kwargs)
        return call


class Replica:
    def __init__(self, name: str, store, clock: Clock, rules=RULES):
        self.adopted: list[str] = []
        self.dropped: list[tuple[str, bool]] = []
        self.lm = LeaseManager(store, duration=D, renew=R, replica_id=name, clock=clock,
                               adopt=self.adopted.extend,
                               drop=lambda names, handover: self.dropped.extend((n, handover) for n in names),
                               wall=lambda: dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(seconds=clock.t))
        self.lm.set_rules(rules)
        self.alive = True

    def runnable(self) -> set[str]:
        got = self.lm.claim(RULES)
        self.lm.done(got)
        return set(got)

    def sending(self) -> set[str]:
        return {r for r in RULES if self.lm.refusal(r) is None}


@pytest.fixture
def world():
    store, clock = MemoryState(), Clock()
    replicas: dict[str, Replica] = {}

    def add(name: str, store_=None) -> Replica:
        replicas[name] = Replica(name, store_ or store, clock)
        replicas[name].lm.round_once(join=True)
        return replicas[name]

    def step(seconds: float = R) -> None:
        """``seconds`` pass in small slices; every live replica runs its rounds on time."""
        end = clock.t + seconds
        while clock.t < end - 1e-9:
            clock.t = round(min(end, clock.t + 0.5), 6)
            for rep in replicas.values():
                since = clock.t - getattr(rep, "last", -1e9)
                woken = rep.lm._wake.is_set() and since >= min(1.0, R / 2)  # noqa: SLF001
                if rep.alive and (since >= R - 1e-9 or woken or _due(rep, clock)):
                    rep.last = clock.t
                    rep.lm._wake.clear()  # noqa: SLF001
                    try:
                        rep.lm.round_once()
                    except EngineError:
                        pass
            check(replicas)

    return store, clock, add, step, replicas


def _due(rep: Replica, clock: Clock) -> bool:
    return any(clock.t >= w.first + D for w in rep.lm._watched.values())  # noqa: SLF001


def check(replicas: dict[str, Replica]) -> None:
    """At most one replica may send for a rule at any moment, dead ones included (a
    killed replica's clock still runs: it must have stopped on its own)."""
    for rule in RULES:
        senders = [n for n, rep in replicas.items() if rule in rep.sending()]
        assert len(senders) <= 1, f"{rule} sendable on {senders}"


def owners(store: MemoryState) -> dict[str, str | None]:
    return {x.rule: x.owner for x in store.leases()}


def test_guard_leaves_room_for_normal_renewals():
    assert guard_for(30, 10) == 5 and guard_for(6, 2) == 2
    assert 30 - 10 > 2 * guard_for(30, 10) - 1e-9 and 6 - 2 >= 2 * guard_for(6, 2)


def test_a_single_replica_takes_every_rule_and_renews_them_in_one_write_per_round(world):
    store, clock, add, step, _ = world
    calls = []
    real = store.lease_round
    store.lease_round = lambda *a, **k: calls.append(len(a[1])) or real(*a, **k)  # type: ignore[method-assign]
    solo = add("solo")
    solo.lm.round_once()
    assert solo.runnable() == set(RULES) and sorted(solo.adopted) == sorted(RULES)
    calls.clear()
    step(10 * R)
    assert calls == [len(RULES)] * 10  # one write per round: heartbeat + every renewal
    assert set(owners(store).values()) == {"solo"}


def test_rules_are_spread_over_live_replicas_and_each_runs_on_exactly_one(world):
    store, clock, add, step, reps = world
    for name in ("a", "b", "c"):
        add(name)
    step(3 * R)
    runnable = {n: r.runnable() for n, r in reps.items()}
    assert set().union(*runnable.values()) == set(RULES)
    assert sum(len(x) for x in runnable.values()) == len(RULES)
    for rule in RULES:  # each where rendezvous hashing puts it
        assert rule in runnable[ranking(rule, ["a", "b", "c"])[0]]


def test_a_joining_replica_gets_its_share_handed_over_between_runs(world):
    store, clock, add, step, reps = world
    a = add("a")
    step(2 * R)
    assert a.runnable() == set(RULES)
    busy = a.lm.claim(RULES)  # every run is in flight on a
    b = add("b")
    step(3 * R)
    assert b.runnable() == set() and not b.adopted  # nothing moves in the middle of a run
    a.lm.done(busy)
    step(2 * R)
    mine = {r for r in RULES if ranking(r, ["a", "b"])[0] == "b"}
    assert b.runnable() == mine and a.runnable() == set(RULES) - mine
    assert {r for r, handover in a.dropped if handover} == mine  # a wrote their state first
    assert sorted(b.adopted) == sorted(mine)


def test_back_to_back_runs_do_not_keep_a_rule_from_the_replica_it_belongs_to(world):
    """Each run of a starts the moment the previous one ends (ticks as long as
    run_every): a round never finds b's rules idle, so once a knows b they start no new
    run on a, and go to b after the run in flight."""
    store, clock, add, step, reps = world
    a = add("a")
    step(2 * R)
    inflight = a.lm.claim(RULES)
    b = add("b")
    mine = {r for r in RULES if ranking(r, ["a", "b"])[0] == "b"}
    for _ in range(8):
        step(R / 2)  # rounds only ever see every rule in flight on a
        a.lm.done(inflight)
        inflight = a.lm.claim(RULES)
    assert not set(inflight) & mine  # b's rules wait on a for nothing more
    assert b.runnable() == mine
    a.lm.done(inflight)
    assert a.runnable() == set(RULES) - mine
    assert {r for r, handover in a.dropped if handover} == mine


def test_a_killed_replicas_rules_are_taken_over_after_one_lease_duration_and_not_before(world):
    store, clock, add, step, reps = world
    a, b, c = add("a"), add("b"), add("c")
    step(3 * R)
    victim = a.runnable()
    assert victim
    a.alive = False  # kill -9: no more rounds
    killed_at = clock.t
    taken_at: dict[str, float] = {}
    while len(taken_at) < len(victim):
        step(0.5)
        for rule in victim - set(taken_at):
            if any(rule in r.runnable() for r in (b, c)):
                taken_at[rule] = clock.t - killed_at
        assert clock.t - killed_at < D + R + 1, f"not taken over: {victim - set(taken_at)}"
    assert min(taken_at.values()) >= D - R  # a's last renewal was at most R before the kill
    assert max(taken_at.values()) <= D + R + 0.5
    assert b.lm.takeovers + c.lm.takeovers == len(victim)
    assert a.sending() == set()  # a's clock ran on: it stopped sending by itself


def test_a_partitioned_replica_stops_sending_guard_seconds_before_its_lease_can_be_taken(world):
    store, clock, add, step, reps = world
    flaky = Flaky(store)
    a = add("a", flaky)
    b = add("b")
    step(3 * R)
    theirs = a.runnable()
    assert theirs
    flaky.down = True
    cut = clock.t
    stopped_at = taken_at = None
    while taken_at is None:
        step(0.5)
        if stopped_at is None and not (a.sending() & theirs):
            stopped_at = clock.t - cut
        if theirs <= b.runnable():
            taken_at = clock.t - cut
        assert clock.t - cut < 3 * D
    assert stopped_at is not None and stopped_at <= D - a.lm.guard + 0.5
    assert taken_at - stopped_at >= a.lm.guard - 0.5
    flaky.down = False
    step(4 * R)  # back: a learns it lost them and forgets their state; then b hands them back
    assert {r for r, handover in a.dropped if not handover} >= theirs
    assert a.runnable() == theirs and b.runnable() == set(RULES) - theirs


def test_sigterm_releases_so_the_others_take_over_at_their_next_round(world):
    store, clock, add, step, reps = world
    a, b = add("a"), add("b")
    step(3 * R)
    mine = a.runnable()
    before = len(a.dropped)
    a.lm._thread = type("T", (), {"join": lambda self, timeout=None: None})()  # noqa: SLF001 - as if started
    a.lm.stop()
    a.alive = False
    assert {r for r, handover in a.dropped[before:] if handover} == mine
    assert all(owners(store)[r] is None for r in mine)
    step(R)
    assert b.runnable() == set(RULES)
    assert b.lm.takeovers == 0  # released, not expired
    assert "a" not in store.replicas()


def test_a_lease_written_by_someone_else_is_lost_at_the_next_renewal(world):
    store, clock, add, step, _ = world
    a = add("a")
    step(2 * R)
    rule = RULES[0]
    lease = store.read_leases([rule])[rule]
    from logalert.state.base import LeaseWrite
    store.lease_round(None, [LeaseWrite(rule, "intruder", lease.version)])
    step(R)
    assert rule not in a.runnable() and (rule, False) in a.dropped


def test_guarded_alerter_refuses_without_the_lease_and_passes_everything_else_through():
    sent = []

    class Inner:
        name, renews, options = "slack", False, {"send_resolved": True}

        def send(self, alert):
            sent.append(alert)

        def describe(self):
            return "slack to #ops"

    why = [None]
    guarded = GuardedAlerter(Inner(), lambda: why[0])
    guarded.send("alert 1")
    why[0] = "1.0s of this replica's lease left"
    with pytest.raises(DeliveryError) as refused:
        guarded.send("alert 2")
    assert refused.value.retryable and refused.value.retry_after == 0
    assert sent == ["alert 1"]
    assert (guarded.name, guarded.describe(), guarded.options["send_resolved"]) == ("slack", "slack to #ops", True)


def test_a_rule_only_newer_replicas_load_is_run_by_them_during_a_rolling_update(world):
    store, clock, add, step, reps = world
    old = add("old")
    step(2 * R)
    new_rules = RULES + ["added in v2"]
    new = reps["new"] = Replica("new", store, clock, rules=new_rules)
    new.lm.round_once(join=True)
    step(3 * R)
    # The two versions do not share (the old one would never run the new rule): the new
    # replica runs the added rule at once, the old one keeps the rest until it leaves.
    assert "added in v2" in runnable(new, new_rules)
    assert old.runnable() == set(RULES)
    old.lm._thread = type("T", (), {"join": lambda self, timeout=None: None})()  # noqa: SLF001
    old.lm.stop()
    old.alive = False
    step(2 * R)
    assert runnable(new, new_rules) == set(new_rules)


def runnable(rep: Replica, rules: list[str]) -> set[str]:
    got = rep.lm.claim(rules)
    rep.lm.done(got)
    return set(got)


def test_metrics_count_owned_rules_and_takeovers(world):
    from logalert import metrics

    metrics.reset()
    store, clock, add, step, reps = world
    a, b = add("a"), add("b")
    step(3 * R)
    victim = a.runnable()
    assert victim and b.runnable()
    a.alive = False
    step(D + 2 * R)
    assert b.runnable() == set(RULES)
    lines = metrics.render().splitlines()
    assert f"logalert_rules_owned {len(RULES)}" in lines  # b, the last to report, owns every rule
    assert f"logalert_lease_takeovers_total {len(victim)}" in lines
