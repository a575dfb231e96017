"""Rule leases: several daemons on the same rules and writeback index, each rule run by
exactly one of them at a time, and taken over without a gap when that one dies.

Every round (``lease_renew_interval``) a replica sends one ``_bulk``: its heartbeat and
the renewal of every lease it holds, each a conditional write on the version it last
wrote. Rules are spread by rendezvous hashing over the live replicas; a replica reads
(real-time) the leases of the rules it should hold and of those it would inherit if
their holder died (it ranks second), and takes one:

- at once when it is missing (``_create``) or released (a holder that stopped, or
  handed the rule over to a replica that joined);
- when its version stayed unchanged for a whole ``lease_duration`` on this replica's
  own monotonic clock: the holder then has not renewed for that long, so by its own
  clock its lease has run out too (no wall clocks are compared).

A holder counts its lease valid until the moment it *sent* its last successful renewal
plus the duration, and neither starts a run nor sends an alert when less than ``guard``
seconds of it remain: so it has stopped sending ``guard`` seconds before anyone can take
over, even when it cannot reach the engine at all (a partition). A replica releases a
rule only between runs, after the run's state is written; the next holder re-reads that
state (``StateStore.adopt``) and starts with fresh rule-type memory, as after a restart.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import socket
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Collection

from logalert import metrics
from logalert.errors import EngineError
from logalert.state.base import Lease, LeaseOutcome, LeaseStore, LeaseWrite, Replica, Version
from logalert.timeutil import now as utcnow

log = logging.getLogger(__name__)

FORGET_AFTER = 10  # heartbeats unchanged for this many lease durations are removed


def guard_for(duration: float, renew: float) -> float:
    """Seconds of lease a holder keeps in reserve: no run starts and nothing is sent with
    less left. Normal renewals never bring the lease that low (duration - renew > 2 guard)."""
    return max(0.5, min(5.0, (duration - renew) / 2))


def ranking(rule: str, replicas: Collection[str]) -> list[str]:
    """Rendezvous hashing: replicas in order of preference for ``rule``; when one leaves
    only its own rules move, each to the replica ranked next."""
    return sorted(replicas, key=lambda r: hashlib.sha1(f"{rule}\0{r}".encode()).digest(), reverse=True)


def new_replica_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


@dataclass
class Held:
    version: Version
    valid_until: float  # monotonic
    since: dt.datetime | None  # held since (wall time)
    ready: bool = False  # the rule's state is adopted: runs may start


@dataclass
class Watched:
    version: Version
    first: float  # monotonic time this version was first seen


@dataclass
class Peer:
    replica: Replica
    changed: float  # monotonic time its beat was first seen at this value


class LeaseManager:
    def __init__(self, store: LeaseStore, *, duration: float, renew: float,
                 adopt: Callable[[list[str]], None], drop: Callable[[list[str], bool], None],
                 replica_id: str | None = None, clock: Callable[[], float] = time.monotonic,
                 wall: Callable[[], dt.datetime] = utcnow):
        self.store = store
        self.duration, self.renew = float(duration), float(renew)
        self.guard = guard_for(self.duration, self.renew)
        self.me = replica_id or new_replica_id()
        self._adopt, self._drop = adopt, drop  # drop(rules, handover): write what is final first when handing over
        self.clock, self.wall = clock, wall
        self._lock = threading.Lock()
        self._rules: set[str] = set()
        self._fingerprint = ""
        self._held: dict[str, Held] = {}
        self._busy: Counter[str] = Counter()
        self._releasing: set[str] = set()
        self._leaving: set[str] = set()  # to hand over once the run in flight ends: no new run starts
        self._watched: dict[str, Watched] = {}
        self._peers: dict[str, Peer] = {}
        self._beat = 0
        self._started = wall()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.takeovers = 0
        self.last_error: str | None = None  # why the last round failed (the store out of reach)
        metrics.inc("logalert_lease_takeovers_total", 0)

    # --- what the scheduler asks ---------------------------------------------------------
    def set_rules(self, rules: Collection[str]) -> None:
        """The rules loaded now (hot reload): leases of the others are released. Rules are
        shared among the replicas that loaded the same rule names (a rolling update or a
        ConfigMap change reaching pods at different times makes two groups for a while): a
        rule only one group has is never handed to a replica that would not run it."""
        with self._lock:
            self._rules = set(rules)
            self._fingerprint = hashlib.sha1("\0".join(sorted(self._rules)).encode()).hexdigest()[:12]
        self._wake.set()

    def claim(self, rules: Collection[str]) -> list[str]:
        """The rules of ``rules`` this replica may run now, marked busy until ``done``:
        held, state adopted, not being handed over, not running, and with more than
        ``guard`` of the lease left."""
        now = self.clock()
        with self._lock:
            ok = [r for r in rules if (h := self._held.get(r)) is not None and h.ready and r not in self._releasing
                  and r not in self._leaving and not self._busy[r] and h.valid_until - now >= self.guard]
            self._busy.update(ok)
        return ok

    def short(self, rules: Collection[str]) -> list[str]:
        """The rules of ``rules`` held with less than ``guard`` left (renewals failing)."""
        now = self.clock()
        with self._lock:
            return [r for r in rules if (h := self._held.get(r)) is not None and h.valid_until - now < self.guard]

    def done(self, rules: Collection[str]) -> None:
        with self._lock:
            self._busy.subtract(rules)
            idle = [r for r in rules if self._busy[r] <= 0]
            for r in idle:
                del self._busy[r]
            if self._leaving.intersection(idle):
                self._wake.set()  # a rule waiting for its run to end can be handed over now

    def refusal(self, rule: str) -> str | None:
        """Why this replica must not send (or write) for ``rule`` now; None when it may."""
        with self._lock:
            held = self._held.get(rule)
        if held is None:
            return "this replica does not hold the rule's lease"
        left = held.valid_until - self.clock()
        if left < self.guard:
            return f"{max(left, 0.0):.1f}s of this replica's lease left (less than {self.guard:g}s)"
        return None

    def owned(self) -> list[str]:
        now = self.clock()
        with self._lock:
            return sorted(r for r, h in self._held.items() if h.valid_until > now)

    def live(self) -> list[str]:
        return sorted(self._live(self.clock()))

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        try:
            self.round_once(join=True)  # learn who else is there before deciding anything
            self.round_once()
        except EngineError as exc:
            log.warning("leases: first round failed (retried every %gs): %s", self.renew, exc)
            self.last_error = str(exc)
        self._thread = threading.Thread(target=self._loop, name="leases", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Release every lease (their state is written first) and leave: the other
        replicas take the rules over at their next round, without waiting for expiry."""
        self._stop.set()
        self._wake.set()
        if self._thread is None:
            return  # never started
        self._thread.join(timeout=self.renew + 30)
        with self._lock:
            held = dict(self._held)
            self._releasing.update(held)
        try:
            if held:
                self._drop(sorted(held), True)
            writes = [LeaseWrite(r, None, h.version) for r, h in held.items()]
            _, outcomes = self.store.lease_round(None, writes, drop=[self.me])
            released = sum(1 for o in outcomes if o.version is not None)
            log.info("leases: released %d of %d lease(s) and left", released, len(held))
        except EngineError as exc:
            log.warning("leases: releasing on the way out failed (others take over after %gs): %s",
                        self.duration, exc)
        with self._lock:
            self._held.clear()
        metrics.set_gauge("logalert_rules_owned", 0)

    def _loop(self) -> None:
        next_round = last = self.clock()
        next_round += self.renew
        while not self._stop.is_set():
            due = min([next_round] + [w.first + self.duration for w in self._watched.values()])
            due = max(due, last + min(1.0, self.renew / 2))  # never faster, even when a round fails
            self._wake.wait(max(0.0, due - self.clock()))
            self._wake.clear()
            if self._stop.is_set():
                return
            last = self.clock()
            if last >= next_round:
                next_round = last + self.renew
            try:
                self.round_once()
            except EngineError as exc:
                log.warning("leases: round failed (the leases run out unless renewed): %s", exc)
                self.last_error = str(exc)
            except Exception:  # noqa: BLE001 - the lease thread must survive a bug in one round
                log.exception("leases: round crashed")

    # --- one round ---------------------------------------------------------------------------
    def _live(self, now: float) -> set[str]:
        with self._lock:
            return {self.me} | {rid for rid, p in self._peers.items()
                                if now - p.changed < self.duration and p.replica.rules == self._fingerprint}

    def round_once(self, join: bool = False) -> None:
        """One round: read the leases worth taking, then one write of heartbeat,
        takeovers, releases and renewals. The lease thread calls it every renew interval
        (sooner when a watched lease is due); raises EngineError when the store is out
        of reach."""
        now = self.clock()
        with self._lock:
            rules = set(self._rules) if not join else set()
            held = dict(self._held)
        live = self._live(now)
        ranked = {r: ranking(r, live)[:2] for r in rules}
        desired = {r for r in rules if ranked[r][0] == self.me}
        writes: list[LeaseWrite] = []
        kinds: dict[str, str] = {}
        watch = sorted(r for r in rules if r not in held and self.me in ranked[r])
        self._watched = {r: w for r, w in self._watched.items() if r in watch}
        if watch:
            leases = self.store.read_leases(watch)  # EngineError: nothing taken this round
            seen = self.clock()
            for rule in watch:
                write, kind = self._decide(rule, leases.get(rule), rule in desired, seen)
                if write is not None:
                    writes.append(write)
                    kinds[rule] = kind
        handover = self._handover(held, rules, desired)
        expires = self.wall() + dt.timedelta(seconds=self.duration)
        for rule, h in held.items():
            if rule in handover:
                writes.append(LeaseWrite(rule, None, h.version))
                kinds[rule] = "release"
            else:
                writes.append(LeaseWrite(rule, self.me, h.version, expires, h.since))
                kinds[rule] = "renew"
        self._beat += 1
        me = Replica(self.me, self._beat, self.wall(), socket.gethostname(), os.getpid(), self._started,
                     self._fingerprint)
        dead = [rid for rid, p in self._peers.items() if now - p.changed > FORGET_AFTER * self.duration]
        sent = self.clock()
        try:
            replicas, outcomes = self.store.lease_round(me, writes, drop=dead)
        except EngineError:
            self._unhand(handover)
            raise
        self.last_error = None
        self._see(replicas, self.clock())
        now_live = self._live(self.clock())
        if now_live != live:
            self._wake.set()  # someone joined or left: rules move at the next round, now
            log.info("leases: %d live replica(s) now (joined: %s; left: %s)", len(now_live),
                     ", ".join(sorted(now_live - live)) or "none", ", ".join(sorted(live - now_live)) or "none")
        self._apply(writes, outcomes, kinds, sent)
        self._ready_up()
        metrics.set_gauge("logalert_rules_owned", len(self.owned()))
        metrics.set_gauge("logalert_replicas_live", len(self._live(self.clock())))

    def _decide(self, rule: str, lease: Lease | None, desired: bool, seen: float) -> tuple[LeaseWrite | None, str]:
        since = self.wall()
        expires = since + dt.timedelta(seconds=self.duration)
        if lease is None:
            self._watched.pop(rule, None)
            return (LeaseWrite(rule, self.me, None, expires, since), "acquire") if desired else (None, "")
        if lease.owner is None or lease.owner == self.me:
            self._watched.pop(rule, None)
            if desired or lease.owner == self.me:
                return LeaseWrite(rule, self.me, lease.version, expires, since), "acquire"
            return None, ""
        watched = self._watched.get(rule)
        if watched is None or watched.version != lease.version:
            self._watched[rule] = Watched(lease.version, seen)
            return None, ""
        if seen - watched.first >= self.duration:
            log.info("leases: rule %r: lease of %s unchanged for %.1fs; taking over", rule, lease.owner,
                     seen - watched.first)
            return LeaseWrite(rule, self.me, lease.version, expires, since), "takeover"
        return None, ""

    def _handover(self, held: dict[str, Held], rules: set[str], desired: set[str]) -> set[str]:
        """Rules to release this round (no longer loaded, or another live replica ranks
        first), between runs only; their final state is written before the release. A
        rule whose run is in flight starts no new run meanwhile: back-to-back runs (a tick
        as long as run_every) cannot keep it here."""
        with self._lock:
            self._leaving = {r for r in held if r not in rules or r not in desired}
            going = {r for r in self._leaving if not self._busy[r]}
            self._releasing |= going
        if going:
            try:
                self._drop(sorted(going), True)
            except EngineError as exc:
                log.warning("leases: writing the state of %d rule(s) before handing them over failed: %s",
                            len(going), exc)
                self._unhand(going)
                return set()
            log.info("leases: handing %d rule(s) over: %s", len(going), ", ".join(sorted(going)[:10]) +
                     (", …" if len(going) > 10 else ""))
        return going

    def _unhand(self, rules: Collection[str]) -> None:
        """A handover that did not happen: the rules stay, their state is re-read first."""
        with self._lock:
            self._releasing -= set(rules)
            for r in rules:
                if r in self._held:
                    self._held[r].ready = False

    def _see(self, replicas: dict[str, Replica], now: float) -> None:
        if self.me not in replicas:
            return  # the heartbeat was not recorded: this answer says nothing about the others
        wall = self.wall()
        with self._lock:
            for rid, rep in replicas.items():
                peer = self._peers.get(rid)
                if peer is not None and peer.replica.beat == rep.beat:
                    continue
                # First sight: its wall time says how old the beat is. Wall clocks decide
                # nothing about leases; here a skewed one only delays who watches what.
                age = 0.0 if peer is not None else min(max((wall - rep.at).total_seconds(), 0.0), self.duration)
                self._peers[rid] = Peer(rep, now - age)
            for rid in set(self._peers) - set(replicas):
                del self._peers[rid]

    def _apply(self, writes: list[LeaseWrite], outcomes: list[LeaseOutcome], kinds: dict[str, str], sent: float) -> None:
        lost: list[str] = []
        with self._lock:
            for write, outcome in zip(writes, outcomes):
                rule, kind = write.rule, kinds[write.rule]
                if kind == "renew":
                    if outcome.version is not None and rule in self._held:
                        self._held[rule].version = outcome.version
                        self._held[rule].valid_until = sent + self.duration
                    elif outcome.conflict:
                        log.warning("leases: rule %r: lease lost to another replica", rule)
                        self._held.pop(rule, None)
                        lost.append(rule)
                elif kind == "release":
                    self._held.pop(rule, None)
                    self._releasing.discard(rule)
                elif outcome.version is not None:
                    self._held[rule] = Held(outcome.version, sent + self.duration, write.since)
                    self._watched.pop(rule, None)
                    if kind == "takeover":
                        self.takeovers += 1
                        metrics.inc("logalert_lease_takeovers_total")
                else:
                    self._watched.pop(rule, None)
        if lost:
            try:
                self._drop(lost, False)
            except EngineError as exc:  # dropping what is lost writes nothing; defensive
                log.warning("leases: forgetting %d lost rule(s) failed: %s", len(lost), exc)

    def _ready_up(self) -> None:
        with self._lock:  # a rule lost and taken back while its old run still ends waits for it
            waiting = sorted(r for r, h in self._held.items() if not h.ready and not self._busy[r])
        if not waiting:
            return
        try:
            self._adopt(waiting)
        except EngineError as exc:
            log.warning("leases: reading the state of %d rule(s) just taken failed (retried): %s", len(waiting), exc)
            return
        with self._lock:
            for r in waiting:
                if r in self._held:
                    self._held[r].ready = True
        log.info("leases: now running %d more rule(s): %s", len(waiting), ", ".join(waiting[:10]) +
                 (", …" if len(waiting) > 10 else ""))


