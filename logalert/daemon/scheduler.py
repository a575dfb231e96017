"""The daemon: APScheduler ticks, hot reload, graceful shutdown.

Rules with the same run_every share one job (a tick), so their searches travel
together in _msearch batches (``logalert.run.tick``). A tick never overlaps itself, so
one rule never runs twice at once (max_instances=1); missed ticks are coalesced;
a bounded pool (max_threads) finishes the rules of a tick. The scheduler knows
nothing about rule types or engines.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor as FuturesPool
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from logalert.config import Config
from logalert.engine import Pool
from logalert.errors import EngineError
from logalert.rules import Rule, load_folder, rule_files
from logalert.run.runner import RuleRunner
from logalert.run.tick import run_tick
from logalert.state.base import StateStore
from logalert.timeutil import iso, now

log = logging.getLogger(__name__)

RELOAD_SECONDS = 10.0
PURGE_SECONDS = 3600.0  # writeback retention runs hourly
PURGE_FIRST_SECONDS = 60.0  # and first a minute after start, off the start-up path


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
        return len(result.errors)

    def _schedule(self, rule: Rule, replace: bool) -> None:
        try:
            runner = RuleRunner(rule, self.pool, self.state)
        except Exception as exc:  # noqa: BLE001 - one rule's setup failure must not stop the rest
            log.error("rule %r (%s): cannot start: %s", rule.name, rule.file, exc)
            return
        old = self.runners.get(rule.name)
        self.runners[rule.name] = runner
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

    def _run_tick(self, seconds: float) -> None:
        if self._stopping.is_set():
            return
        runners = [r for r in list(self.runners.values()) if r.rule.run_every.total_seconds() == seconds]
        for result in run_tick(runners, self.state, self.workers):
            if result.window is not None and result.error is None:
                log.info("rule %r: %d hits, %d matches, %d alerts in [%s, %s) (%.2fs)", result.rule, result.hits,
                         result.match_count, result.alert_count, result.window.start.isoformat(timespec="seconds"),
                         result.window.end.isoformat(timespec="seconds"), result.duration, extra=result.log_fields())

    def _purge(self) -> None:
        """Writeback retention: delete the records past writeback_retention (batched in
        the engine); a failure is logged and tried again at the next pass."""
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

    # --- lifecycle -----------------------------------------------------------------
    def start(self) -> None:
        self.load()
        self.scheduler.add_job(self._maybe_reload, IntervalTrigger(seconds=RELOAD_SECONDS, timezone="UTC"),
                               id="__reload__", name="reload rules")
        self.scheduler.add_job(self._purge, IntervalTrigger(seconds=PURGE_SECONDS, timezone="UTC"),
                               id="__purge__", name="writeback retention",
                               next_run_time=now() + dt.timedelta(seconds=PURGE_FIRST_SECONDS))
        self.scheduler.start()
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
        self.workers.shutdown(wait=False, cancel_futures=True)
        self.pool.close()
        return finished

    @property
    def running(self) -> bool:
        return self.scheduler.running and not self._stopping.is_set()

    def rule_health(self) -> dict[str, dict[str, Any]]:
        """Each scheduled rule's last run, window end and error, for ``/healthz``. A state
        store that is down is reported per rule: the daemon itself is alive."""
        out: dict[str, dict[str, Any]] = {}
        for name in list(self.runners):
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

