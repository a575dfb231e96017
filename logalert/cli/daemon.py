"""``run``: the daemon (with the web console when ``web_port`` is set), or every rule once
(``--once``, with ``--start/--end`` a backfill)."""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import signal
import threading
from typing import Any

from logalert.cli.common import EXIT_ENGINE, EXIT_INVALID, EXIT_OK, cli_time, config, writeback
from logalert.cli.web import start_console
from logalert.config import Config
from logalert.model import Window
from logalert.rules import load_folder
from logalert.timeutil import now

log = logging.getLogger("logalert")


def cmd_run(args: argparse.Namespace) -> int:
    from logalert.daemon.scheduler import Daemon
    from logalert.engine import Pool
    from logalert.run import malloc

    malloc.limit_arenas()
    cfg = config(args.config)
    paths = args.rule or [cfg.rules_folder]
    pool = Pool()
    state = writeback(cfg, pool)
    if args.once:
        return _run_once(cfg, paths, state, pool, cli_time(args.start, "start"), cli_time(args.end, "end"))
    daemon = Daemon(cfg, paths, state, pool)
    # The console first: a refused address or a port in use stops us before any rule runs.
    console = start_console(cfg, state, pool, daemon) if cfg["web_port"] else None
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("received %s; stopping after in-flight runs", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    daemon.start()
    health = None
    if cfg["health_port"]:
        from logalert.daemon.health import serve

        health = serve(int(cfg["health_port"]), daemon)
    while not stop.wait(1.0):  # wake up now and then: signals are handled between waits
        pass
    if console is not None:
        console.shutdown()
    daemon.stop()
    if health is not None:
        health.shutdown()
    log.info("stopped")
    return EXIT_OK


def _run_once(cfg: Config, paths: list[str], state: Any, pool: Any,
              start: dt.datetime | None, end: dt.datetime | None) -> int:
    """Every rule once, as one tick (their searches share _msearch requests); with
    ``--start``/``--end``, rules that send resolved notifications run window by window."""
    from concurrent.futures import ThreadPoolExecutor

    from logalert.run.runner import RuleRunner
    from logalert.run.tick import run_tick

    result = load_folder(paths, cfg)
    for problem in result.problems:
        (log.error if problem.fatal else log.warning)("%s", problem)
    code = EXIT_INVALID if result.errors else EXIT_OK
    runners = []
    for rule in result.rules:
        try:
            runners.append(RuleRunner(rule, pool, state))
        except Exception as exc:  # noqa: BLE001
            log.error("rule %r (%s): cannot start: %s", rule.name, rule.file, exc)
            code = EXIT_INVALID

    with ThreadPoolExecutor(max_workers=int(cfg["max_threads"])) as workers:
        if not (start or end):
            outcomes = run_tick(runners, state, workers)
        else:
            outcomes = []
            plans = {id(r.rule): _backfill(r, start, end or now()) for r in runners}
            for k in range(max((len(w) for w in plans.values()), default=0)):
                # Round k runs every rule that has a k-th window: rules share _msearch
                # requests as in one tick, and firing state moves on window by window.
                batch = [r for r in runners if k < len(plans[id(r.rule)])]
                outcomes += run_tick(batch, state, workers, window_for=lambda rule, k=k: plans[id(rule)][k])
    for outcome in outcomes:
        if outcome.error is not None:
            code = max(code, EXIT_ENGINE)
        elif outcome.window is not None:
            log.info("rule %r: %d hits, %d matches, %d alerts", outcome.rule, outcome.hits,
                     outcome.match_count, outcome.alert_count, extra=outcome.log_fields())
    pool.close()
    return code


def _backfill(runner: Any, start: dt.datetime | None, end: dt.datetime) -> list[Window]:
    """The windows of one rule over a backfill range: one (as ElastAlert's --start/--end)
    unless the rule tracks firing alerts, which are judged at each window's end and so
    need the live daemon's run_every steps to resolve as it would."""
    from logalert.run import resolve
    from logalert.run.window import backfill_windows

    rule = runner.rule
    first = start or end - rule.buffer_time
    if not any(resolve.sends_resolved(a) for a in runner.alerters):
        return [Window(first, end)]
    return backfill_windows(first, end, run_every=rule.run_every, buffer_time=rule.buffer_time)


def add_parsers(sub: Any) -> None:
    run = sub.add_parser(
        "run", help="run the daemon",
        description="Load the rules folder (config.yaml's rules_folder), run each rule every run_every over "
                    "its index, send alerts through its notifiers and keep state in the writeback index; "
                    "reload rules when files change; serve /healthz, /metrics and the web console when "
                    "their ports are set. SIGTERM stops after the runs in flight. --once runs each rule "
                    "once (over --start/--end when given: a backfill) and exits: 0 ok, 1 invalid rules, "
                    "2 engine errors.")
    run.add_argument("--config", help="global config file (default: ./config.yaml when present)")
    run.add_argument("--rule", action="append", help="run only this rule file (repeatable)")
    run.add_argument("--once", action="store_true", help="run each rule once over its window and exit")
    run.add_argument("--start", help="with --once: window start (ISO 8601 or now-2h)")
    run.add_argument("--end", help="with --once: window end (default now)")
    run.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    run.set_defaults(func=cmd_run)
