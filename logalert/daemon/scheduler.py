"""The daemon: APScheduler ticks, hot reload, graceful shutdown.

Rules with the same run_every share one job (a tick), so their searches travel
together in _msearch batches (``logalert.run.tick``). A tick never overlaps itself, so
one rule never runs twice at once (max_instances=1); missed ticks are coalesced;
a bounded pool (max_threads) finishes the rules of a tick. The scheduler knows
nothing about rule types or engines.

Several daemons may share the rules and the writeback index: a tick runs only the rules
whose lease this replica holds (``logalert.daemon.leases``), a rule taken over starts
with its state re-read and fresh rule-type memory, and its first run is at once.

``limit_execution`` (a cron expression): a rule runs at a tick only when its cron matches
the tick's minute or fired since the previous tick (within the last run_every), so ``* 10-18 * * 1-5`` runs it on
weekdays from 10:00 to 18:59 and ``0 * * * *`` once an hour whatever run_every is. The
first run after a pause covers the paused time (its window starts at the last end, up to
old_query_limit), as ElastAlert2's does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor as FuturesPool
from typing import Any, Callable

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from logalert import metrics
from logalert.config import Config
from logalert.daemon.guard import GuardedAlerter
from logalert.daemon.leases import LeaseManager, ranking
from logalert.engine import Pool
from logalert.errors import EngineError
from logalert.notify import alerters as alerter_registry
from logalert.rules import Rule, load_folder, rule_files
from logalert.run.runner import RuleRunner
from logalert.run.tick import run_tick
from logalert.state.base import LeaseStore, StateStore
from logalert.timeutil import iso, now

log = logging.getLogger(__name__)

RELOAD_SECONDS = 10.0
PURGE_SECONDS = 3600.0  # writeback retention runs hourly
PURGE_FIRST_SECONDS = 60.0  # and first a minute after start, off the start-up path


def allowed(rule: Rule, at: dt.datetime, since: dt.datetime | None = None) -> bool:
    """Whether limit_execution lets ``rule`` run at a tick at ``at``: its cron matches the
    tick's minute or fired in the run_every before (always, without limit_execution), or
    since ``since``, the rule's previous check: a tick that comes late must not skip a
    fire that fell between the two. Looking back is capped at two run_every and a minute,
    so a rule not checked for long (held by another replica) does not run for an old fire."""
    cron = rule.limit_execution
    if cron is None:
        return True
    minute = at.replace(second=0, microsecond=0)
    after = min(at - rule.run_every, minute - dt.timedelta(microseconds=1))
    if since is not None:
        after = min(after, max(since, at - 2 * rule.run_every - dt.timedelta(minutes=1)))
    return cron.fired(after, at)


class Daemon:
    def __init__(self, config: Config, rule_paths: list[str], state: StateStore, pool: Pool | None = None):
        self.config = config
        self.rule_paths = rule_paths
        self.state = state
        self.pool = pool or Pool()
        self.runners: dict[str, RuleRunner] = {}
        self.rule_names: set[str] = set()  # every rule in the files, disabled ones too
        self._fingerprint = ""
        self._extra_files: set[str] = set()
        self._stopping = threading.Event()
        self.workers = FuturesPool(max_workers=int(config["max_threads"]), thread_name_prefix="rule")
        self.leases: LeaseManager | None = None
        self._unrun: set[str] = set()  # rules whose runner has not run yet (fresh memory)
        self._short: set[str] = set()  # rules held back: their lease could not be renewed
        self._runners_lock = threading.Lock()  # reload and the lease thread both replace runners
        self.clock: Callable[[], dt.datetime] = now  # when limit_execution is judged (tests set it)
        self._paused: set[str] = set()  # rules held back by limit_execution (said once per pause)
        self._limit_checked: dict[str, dt.datetime] = {}  # rule -> when limit_execution was last judged
        if isinstance(state, LeaseStore):
            duration = config.span("lease_duration").total_seconds()
            renew = config.span("lease_renew_interval").total_seconds()
            if renew > duration / 2:
                log.warning("lease_renew_interval %gs is more than half of lease_duration %gs; using %gs",
                            renew, duration, duration / 3)
                renew = duration / 3
            self.leases = LeaseManager(state, duration=duration, renew=renew, adopt=self._adopt, drop=self._drop)
            state.gate = self.leases.refusal
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )

    # --- rules -------------------------------------------------------------------
    def fingerprint(self) -> str:
        """Changes whenever a rule file or a file it imports changes, including a
        Kubernetes ConfigMap swap (the ``..data`` symlink moves; stat follows it)."""
        digest = hashlib.sha1()
        files = sorted(set(rule_files(self.rule_paths, self.config["scan_subdirectories"])) | self._extra_files)
        for path in files:
            try:
                st = os.stat(path)
                digest.update(f"{path}\0{st.st_mtime_ns}\0{st.st_size}\0{st.st_ino}\n".encode())
            except OSError:
                digest.update(f"{path}\0missing\n".encode())
        return digest.hexdigest()

    def load(self) -> int:
        """(Re)load rules. A file that became invalid keeps its last good version
        running; returns the number of fatal problems found."""
        self._fingerprint = self.fingerprint()
        result = load_folder(self.rule_paths, self.config)
        for problem in result.problems:
            (log.error if problem.fatal else log.warning)("%s", problem)
        broken_files = {p.file for p in result.errors}
        new = {rule.name: rule for rule in result.rules}
        self._extra_files = {pos[0] for r in result.rules for pos in r.positions.values() if not pos[0].startswith("$")}
        for name, runner in list(self.runners.items()):
            if name in new:
                continue
            if runner.rule.file in broken_files:
                log.error("rule %r: %s is invalid now; the last good version keeps running", name, runner.rule.file)
                continue
            log.info("rule %r removed", name)
            self._unschedule(name)
        for name, rule in new.items():
            current = self.runners.get(name)
            if current is not None and current.rule.options == rule.options:
                continue
            if rule.get("is_enabled") is False:
                log.info("rule %r is disabled (is_enabled: false)", name)
                if current is not None:
                    self._unschedule(name)
                continue
            self._schedule(rule, replace=current is not None)
        self.rule_names = set(new) | set(self.runners)
        if self.leases is not None:
            self.leases.set_rules(self.runners)
        return len(result.errors)

    def _runner(self, rule: Rule) -> RuleRunner:
        if self.leases is None:
            return RuleRunner(rule, self.pool, self.state)
        leases = self.leases
        alerters = [GuardedAlerter(alerter_registry.get(t.name)(rule, t.options), lambda: leases.refusal(rule.name))
                    for t in rule.alerts]
        return RuleRunner(rule, self.pool, self.state, alerters=alerters)  # type: ignore[arg-type]

    def _schedule(self, rule: Rule, replace: bool) -> None:
        try:
            runner = self._runner(rule)
        except Exception as exc:  # noqa: BLE001 - one rule's setup failure must not stop the rest
            log.error("rule %r (%s): cannot start: %s", rule.name, rule.file, exc)
            return
        with self._runners_lock:
            old = self.runners.get(rule.name)
            self.runners[rule.name] = runner
            self._unrun.add(rule.name)
        if old is not None and old.rule.run_every != rule.run_every:
            self._drop_tick_if_unused(old.rule.run_every.total_seconds())
        seconds = rule.run_every.total_seconds()
        job_id = f"tick-{seconds:g}s"
        if self.scheduler.get_job(job_id) is None:
            self.scheduler.add_job(self._run_tick, IntervalTrigger(seconds=seconds, timezone="UTC"), args=[seconds],
                                   id=job_id, name=f"rules every {seconds:g}s", next_run_time=now())
        log.info("rule %r %s: %s every %s", rule.name, "reloaded" if replace else "loaded", rule.type, rule.run_every)

    def _unschedule(self, name: str) -> None:
        runner = self.runners.pop(name, None)
        if runner is not None:
            self._drop_tick_if_unused(runner.rule.run_every.total_seconds())

    def _drop_tick_if_unused(self, seconds: float) -> None:
        if any(r.rule.run_every.total_seconds() == seconds for r in self.runners.values()):
            return
        job_id = f"tick-{seconds:g}s"
        if self.scheduler.get_job(job_id):
            self.scheduler.remove_job(job_id)

    def _run_tick(self, seconds: float, only: frozenset[str] | None = None) -> None:
        if self._stopping.is_set():
            return
        runners = [r for r in list(self.runners.values()) if r.rule.run_every.total_seconds() == seconds
                   and (only is None or r.rule.name in only)]
        runners = self._within_limits(runners)
        claimed: list[str] = []
        if self.leases is not None:  # only the rules this replica holds, each in one tick at a time
            claimed = self.leases.claim([r.rule.name for r in runners])
            if only is None:
                self._held_back(runners, claimed)
            runners = [r for r in runners if r.rule.name in set(claimed)]
        self._unrun.difference_update(r.rule.name for r in runners)
        try:
            results = run_tick(runners, self.state, self.workers)
        finally:
            if self.leases is not None:
                self.leases.done(claimed)
        for result in results:
            if result.window is not None and result.error is None:
                log.info("rule %r: %d hits, %d matches, %d alerts in [%s, %s) (%.2fs)", result.rule, result.hits,
                         result.match_count, result.alert_count, result.window.start.isoformat(timespec="seconds"),
                         result.window.end.isoformat(timespec="seconds"), result.duration, extra=result.log_fields())

    def _within_limits(self, runners: list[RuleRunner]) -> list[RuleRunner]:
        """The runners whose limit_execution lets them run now; a pause is logged once."""
        at = self.clock()
        out = []
        for runner in runners:
            rule = runner.rule
            since, self._limit_checked[rule.name] = self._limit_checked.get(rule.name), at
            if allowed(rule, at, since):
                if rule.name in self._paused:
                    self._paused.discard(rule.name)
                    log.info("rule %r: limit_execution %r reached; running again", rule.name,
                             rule.get("limit_execution"))
                out.append(runner)
            elif rule.name not in self._paused:
                self._paused.add(rule.name)
                cron = rule.limit_execution
                fire = cron.next_fire(at) if cron is not None else None
                log.info("rule %r: paused by limit_execution %r (%s); next run at the first tick from %s",
                         rule.name, rule.get("limit_execution"), rule.get("limit_execution_timezone") or "UTC",
                         iso(fire) if fire else "never")
        return out

    def _held_back(self, runners: list[RuleRunner], claimed: list[str]) -> None:
        """Rules this replica holds but may not run now (its lease could not be renewed):
        said once per episode; with the store out of reach, counted as failed runs."""
        assert self.leases is not None
        names = [r.rule.name for r in runners if r.rule.name not in claimed]
        short = set(self.leases.short(names))
        for name in sorted(short - self._short):
            log.warning("rule %r: not run, and nothing sent, until this replica renews its lease (%s)", name,
                        self.leases.refusal(name))
        self._short = (self._short - set(claimed)) | short
        if self.leases.last_error:
            for name in names:
                metrics.inc("logalert_rule_runs_total", rule=name, outcome="error")

    # --- leases (called from the lease thread) ---------------------------------------------
    def _adopt(self, names: list[str]) -> None:
        """Rules just taken: their state is re-read, their rule types start afresh (they
        rebuild their memory from the engine, as after a restart), and they run at once."""
        self.state.adopt(names)
        groups: dict[float, set[str]] = {}
        for name in names:
            runner = self.runners.get(name)
            if runner is None:
                continue
            if name not in self._unrun:
                try:
                    fresh = self._runner(runner.rule)
                except Exception as exc:  # noqa: BLE001 - it built before; keep the old one
                    log.error("rule %r: cannot start afresh: %s", name, exc)
                else:
                    with self._runners_lock:
                        if self.runners.get(name) is runner:  # not reloaded meanwhile
                            self.runners[name] = runner = fresh
                            self._unrun.add(name)
            groups.setdefault(runner.rule.run_every.total_seconds(), set()).add(name)
        if self.scheduler.running and not self._stopping.is_set():
            for seconds, group in groups.items():
                self.scheduler.add_job(self._run_tick, args=[seconds, frozenset(group)], next_run_time=now(),
                                       name=f"first run of {len(group)} rule(s) taken over")

    def _drop(self, names: list[str], handover: bool) -> None:
        """Rules given up (``handover``: between runs, their state written first) or lost."""
        self.state.forget(names)

    def _purge(self) -> None:
        """Writeback retention: delete the records past writeback_retention (batched in
        the engine); a failure is logged and tried again at the next pass. With several
        replicas, one of them does it."""
        if self.leases is not None and ranking("\0retention", self.leases.live())[0] != self.leases.me:
            return
        before = now() - self.config.span("writeback_retention")
        keep = set(self.rule_names) | set(self.runners)
        try:
            self._give_up_orphans(keep)
            deleted = self.state.purge(before, keep_rules=keep)
        except EngineError as exc:
            log.error("writeback retention: deleting records before %s failed (retried in %s): %s",
                      iso(before), dt.timedelta(seconds=PURGE_SECONDS), exc)
            return
        if deleted:
            log.info("writeback retention: deleted %d record(s) from before %s", deleted, iso(before))

    def _give_up_orphans(self, keep: set[str]) -> None:
        """Pending alerts of rules no longer in the files: nothing retries them, so once
        alert_time_limit has passed they are marked failed (and logged), as the rule's
        own retries would have; retention then deletes them like any failed alert."""
        limit = self.config.span("alert_time_limit")
        stale = [e for e in self.state.pending_outbox() if e.rule not in keep and now() - e.created > limit]
        for entry in stale:
            entry.status = "failed"
            entry.last_error = (entry.last_error or "") + " [rule no longer loaded; gave up after alert_time_limit]"
            log.error("rule %r: alert %s via %s dropped: the rule is no longer loaded", entry.rule, entry.alert_id,
                      entry.alerter)
        if stale:
            self.state.put_outbox_many(stale)

    def _maybe_reload(self) -> None:
        if self.fingerprint() != self._fingerprint:
            log.info("rules changed on disk; reloading")
            self.load()

    def reload_soon(self) -> None:
        """Check the rule files now rather than at the next reload interval (the web
        console just saved one); the check runs in the scheduler, as every reload does."""
        job = self.scheduler.get_job("__reload__")
        if job is not None:
            job.modify(next_run_time=now())

    # --- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        self.load()
        self.scheduler.add_job(self._maybe_reload, IntervalTrigger(seconds=RELOAD_SECONDS, timezone="UTC"),
                               id="__reload__", name="reload rules")
        self.scheduler.add_job(self._purge, IntervalTrigger(seconds=PURGE_SECONDS, timezone="UTC"),
                               id="__purge__", name="writeback retention",
                               next_run_time=now() + dt.timedelta(seconds=PURGE_FIRST_SECONDS))
        self.scheduler.start()
        if self.leases is not None:
            self.leases.start()
            log.info("logalert replica %s: %d rule(s) loaded, shared with %d other live replica(s) "
                     "(lease %gs, renewed every %gs); Ctrl-C or SIGTERM stops", self.leases.me, len(self.runners),
                     len(self.leases.live()) - 1, self.leases.duration, self.leases.renew)
            return
        log.info("logalert running %d rule(s); Ctrl-C or SIGTERM stops", len(self.runners))

    def stop(self, timeout: float = 30.0) -> bool:
        """Stop scheduling and let in-flight runs finish (up to ``timeout``)."""
        self._stopping.set()
        done = threading.Event()

        def shutdown() -> None:
            self.scheduler.shutdown(wait=True)
            done.set()

        threading.Thread(target=shutdown, daemon=True).start()
        finished = done.wait(timeout)
        if not finished:
            log.warning("in-flight rule runs did not finish within %.0fs", timeout)
        if self.leases is not None:
            self.leases.stop()  # after the runs: their state is written, then the leases released
        self.workers.shutdown(wait=False, cancel_futures=True)
        self.pool.close()
        return finished

    @property
    def running(self) -> bool:
        return self.scheduler.running and not self._stopping.is_set()

    def rule_health(self) -> dict[str, dict[str, Any]]:
        """Each scheduled rule's last run, window end and error, for ``/healthz``. A state
        store that is down is reported per rule: the daemon itself is alive. A rule another
        replica holds is reported as such (its state is that replica's to tell)."""
        out: dict[str, dict[str, Any]] = {}
        owned = set(self.leases.owned()) if self.leases is not None else None
        for name in list(self.runners):
            if owned is not None and name not in owned:
                reason = self.leases.last_error if self.leases is not None else None
                out[name] = {"error": f"not run by this replica: {reason}"} if reason else {"lease": "held by another replica"}
                continue
            try:
                status = self.state.load_status(name)
            except Exception as exc:  # noqa: BLE001 - whatever the store raised, we are alive
                out[name] = {"error": f"state unavailable: {exc}"}
                continue
            out[name] = {
                "last_run": iso(status.last_run) if status and status.last_run else None,
                "last_end": iso(status.last_end) if status and status.last_end else None,
                "error": status.error if status else None,
            }
        return out

