"""Command line: ``logalert run | test-rule | validate``.

Exit codes: 0 fine, 1 invalid config or rules, 2 search engine unreachable or
refused the query. Everything printed goes through secret masking.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any, Sequence

from logalert import __version__, secrets
from logalert.config import Config, load_config
from logalert.errors import ConfigError, EngineError
from logalert.model import Window
from logalert.rules import load_folder, load_rule
from logalert.timeutil import iso, now, parse_cli_time

if TYPE_CHECKING:
    from logalert.engine import Pool

# Engine clients, Jinja and the runner load only for the commands that use them:
# `validate` in CI and `test-rule --schema-only` start faster without them.

log = logging.getLogger("logalert")

EXIT_OK, EXIT_INVALID, EXIT_ENGINE = 0, 1, 2


def out(text: str = "", stream: Any = None) -> None:
    (stream or sys.stdout).write(secrets.mask(text) + "\n")


def err(text: str) -> None:
    out(text, sys.stderr)


def _config(path: str | None) -> Config:
    if path is None and os.path.exists("config.yaml"):
        path = "config.yaml"
    config = load_config(path)
    for warning in config.warnings:
        err(str(warning))
    return config


def _time(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return parse_cli_time(value)
    except ValueError:
        raise SystemExit(f"--{name}: not a time: {value!r} (use ISO 8601 such as 2026-01-31T12:00:00Z, or now-2h)")


def _writeback(config: Config, pool: Pool) -> Any:
    """The daemon's state: the writeback index on the config's engine."""
    from logalert.engine import CONNECTION_OPTIONS
    from logalert.state.writeback import EngineState

    key = ("writeback",) + tuple(config.get(k) for k in CONNECTION_OPTIONS)
    return EngineState(lambda: pool.get(key, config.options), config["writeback_index"])


# --- validate ----------------------------------------------------------------------------
def cmd_validate(args: argparse.Namespace) -> int:
    config = _config(args.config)
    result = load_folder(args.paths, config)
    for problem in result.problems:
        out(str(problem))
    files = len({p.file for p in result.errors})
    out(f"{len(result.rules)} rule(s) valid, {files} file(s) invalid, "
        f"{len(result.problems) - len(result.errors)} warning(s)")
    return EXIT_INVALID if result.errors else EXIT_OK


# --- test-rule ---------------------------------------------------------------------------
def cmd_test_rule(args: argparse.Namespace) -> int:
    config = _config(args.config)
    try:
        rule, warnings = load_rule(args.rule, config)
    except ConfigError as exc:
        for problem in exc.problems:
            err(str(problem))
        return EXIT_INVALID
    for warning in warnings:
        err(str(warning))
    if args.schema_only:
        out(f"{args.rule}: rule {rule.name!r} is valid")
        return EXIT_OK
    from logalert.engine import Pool, connect, describe_target, query
    from logalert.notify import render
    from logalert.run.runner import RuleRunner
    from logalert.state import MemoryState

    end = _time(args.end, "end") or now()
    start = _time(args.start, "start") or end - dt.timedelta(days=args.days)
    if start >= end:
        err("--start must be before --end")
        return EXIT_INVALID
    window = Window(start, end)
    if not args.verbose:  # the report below states the error once
        logging.getLogger("logalert.run.runner").setLevel(logging.CRITICAL)
    report: dict[str, Any] = {"rule": rule.name, "file": rule.file, "type": rule.type,
                              "engine": describe_target(rule.options), "window": [iso(start), iso(end)]}
    try:
        backend = connect(rule.options)
        report["engine_version"] = backend.describe()
        if args.count_only:
            report["count"] = backend.count(query.indices(rule, window), query.count_body(rule, window))
            return _report(args, report, EXIT_OK)
        pool = Pool()
        pool._backends[rule.connection] = backend  # reuse the probed connection
        runner = RuleRunner(rule, pool, MemoryState())
        result = runner.run(window, send=args.alert)
    except EngineError as exc:
        report["error"] = str(exc)
        return _report(args, report, EXIT_ENGINE)
    if result.error is not None:
        report["error"] = str(result.error)
        return _report(args, report, EXIT_ENGINE)
    report.update(hits=result.hits, matches=len(result.matches), alerts=len(result.alerts))
    report["first_alerts"] = [{"id": a.id, "subject": a.subject, "body": a.body} for a in result.alerts[: args.show]]
    report["first_matches"] = [render.match_summary(m) for m in result.matches[: args.show]]
    if args.alert:
        report["delivered"] = result.delivered
    return _report(args, report, EXIT_OK)


def _report(args: argparse.Namespace, report: dict[str, Any], code: int) -> int:
    if args.format == "json":
        out(json.dumps(report, indent=2, default=str))
        return code
    out(f"rule:    {report['rule']} ({report['type']}) from {report['file']}")
    out(f"engine:  {report['engine']} {report.get('engine_version', '')}".rstrip())
    out(f"window:  {report['window'][0]} .. {report['window'][1]}")
    if "error" in report:
        err(f"error:   {report['error']}")
        return code
    if "count" in report:
        out(f"count:   {report['count']}")
        return code
    out(f"hits:    {report['hits']}")
    out(f"matches: {report['matches']}")
    out(f"alerts:  {report['alerts']} (after realert/silence)")
    for alert in report["first_alerts"]:
        out("")
        out(f"--- alert {alert['id']}: {alert['subject']}")
        out(alert["body"].rstrip())
    if report["alerts"] > len(report["first_alerts"]):
        out(f"\n... {report['alerts'] - len(report['first_alerts'])} more alert(s)")
    if "delivered" in report:
        out("")
        for alert_id, results in report["delivered"].items():
            out(f"sent {alert_id}: " + ", ".join(f"{k}={'ok' if v else 'FAILED'}" for k, v in results.items()))
    else:
        out("\n(nothing was sent; add --alert to send through the rule's notifiers)")
    return code


# --- run ---------------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from logalert.daemon.scheduler import Daemon
    from logalert.engine import Pool

    config = _config(args.config)
    paths = args.rule or [config.rules_folder]
    pool = Pool()
    state = _writeback(config, pool)
    if args.once:
        return _run_once(config, paths, state, pool, _time(args.start, "start"), _time(args.end, "end"))
    daemon = Daemon(config, paths, state, pool)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("received %s; stopping after in-flight runs", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    daemon.start()
    health = None
    if int(config.get("health_port") or 0):
        from logalert.daemon.health import serve

        health = serve(int(config["health_port"]), daemon)
    daemon.wait(stop)
    daemon.stop()
    if health is not None:
        health.shutdown()
    log.info("stopped")
    return EXIT_OK


def _run_once(config: Config, paths: list[str], state: Any, pool: Pool,
              start: dt.datetime | None, end: dt.datetime | None) -> int:
    """Every rule once, as one tick (their searches share _msearch requests)."""
    from concurrent.futures import ThreadPoolExecutor

    from logalert.run.runner import RuleRunner
    from logalert.run.tick import run_tick

    result = load_folder(paths, config)
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

    def window_for(rule: Any) -> Window | None:
        if not (start or end):
            return None
        stop_at = end or now()
        return Window(start or stop_at - rule.buffer_time, stop_at)

    with ThreadPoolExecutor(max_workers=int(config["max_threads"])) as workers:
        outcomes = run_tick(runners, state, workers, window_for=window_for)
    for outcome in outcomes:
        if outcome.error is not None:
            code = max(code, EXIT_ENGINE)
        elif outcome.window is not None:
            log.info("rule %r: %d hits, %d matches, %d alerts", outcome.rule, outcome.hits,
                     outcome.match_count, outcome.alert_count)
    pool.close()
    return code


# --- init / status / silence -------------------------------------------------------------
def _state_or_exit(args: argparse.Namespace) -> tuple[Config, Any]:
    from logalert.engine import Pool

    config = _config(args.config)
    return config, _writeback(config, Pool())


def cmd_init(args: argparse.Namespace) -> int:
    config, state = _state_or_exit(args)
    try:
        created = state.ensure_index(state._factory())
    except EngineError as exc:
        err(f"error: {exc}")
        return EXIT_ENGINE
    out(f"writeback index {config['writeback_index']!r} {'created' if created else 'already exists with the right mappings'}")
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    config, state = _state_or_exit(args)
    try:
        statuses = sorted(state.all_status(), key=lambda s: s.rule)
        silences = state.list_silences()
        pending = state.pending_outbox()
        failed = [e for e in state.outbox() if e.status == "failed"]
    except EngineError as exc:
        err(f"error: {exc}")
        return EXIT_ENGINE
    if args.format == "json":
        out(json.dumps({
            "rules": [{"rule": s.rule, "last_run": iso(s.last_run) if s.last_run else None,
                       "window_end": iso(s.last_end) if s.last_end else None, "hits": s.hits,
                       "matches": s.matches, "alerts": s.alerts, "duration": round(s.duration, 3),
                       "error": s.error} for s in statuses],
            "silences": [{"rule": x.rule, "key": x.key, "until": iso(x.until), "reason": x.reason} for x in silences],
            "pending_alerts": len(pending), "failed_alerts": len(failed)}, indent=2))
        return EXIT_OK
    out(f"{'RULE':32} {'LAST RUN':24} {'WINDOW END':24} {'HITS':>6} {'MATCHES':>7} {'ALERTS':>6}  ERROR")
    for s in statuses:
        out(f"{s.rule[:32]:32} {iso(s.last_run) if s.last_run else '-':24} {iso(s.last_end) if s.last_end else '-':24} "
            f"{s.hits:>6} {s.matches:>7} {s.alerts:>6}  {(s.error or '')[:80]}")
    current = [x for x in silences if x.until > now()]
    out(f"\nsilences: {len(current)} active")
    for x in current:
        out(f"  {x.rule} [{x.key or '*'}] until {iso(x.until)} ({x.reason})")
    out(f"alerts: {len(pending)} pending, {len(failed)} failed")
    for e in failed[-10:]:
        out(f"  FAILED {e.rule} via {e.alerter}: {e.subject} ({e.last_error})")
    return EXIT_OK


def cmd_silence(args: argparse.Namespace) -> int:
    from logalert.run.realert import ALL_KEYS
    from logalert.state.base import Silence

    config, state = _state_or_exit(args)
    try:
        if args.list:
            active = [x for x in state.list_silences() if x.until > now()]
            for x in sorted(active, key=lambda x: (x.rule, x.key)):
                out(f"{x.rule} [{x.key or '*'}] until {iso(x.until)} ({x.reason})")
            if not active:
                out("no active silences")
            return EXIT_OK
        if not args.rule:
            err("silence: give a RULE name (or --list)")
            return EXIT_INVALID
        if args.remove:
            removed = state.remove_silence(args.rule, args.query_key)
            out(f"removed {removed} silence(s) of {args.rule!r}")
            return EXIT_OK
        span = _duration(args.duration)
        until = now() + span
        state.put_silence(Silence(args.rule, args.query_key or ALL_KEYS, until, 0, "manual"))
    except EngineError as exc:
        err(f"error: {exc}")
        return EXIT_ENGINE
    out(f"silenced {args.rule!r}{f' [{args.query_key}]' if args.query_key else ''} until {iso(until)}")
    return EXIT_OK


def _duration(text: str) -> dt.timedelta:
    from logalert.config.settings import _SHORT_SPAN, _SHORT_UNITS

    match = _SHORT_SPAN.match(text.strip())
    if not match:
        raise SystemExit(f"--duration: not a duration: {text!r} (use 30m, 2h, 1d, 1w)")
    return dt.timedelta(**{_SHORT_UNITS[match.group(2)]: float(match.group(1))})


# --- entry point ---------------------------------------------------------------------------
def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="logalert", description="Alerting on logs in Elasticsearch/OpenSearch (ElastAlert rule format).")
    p.add_argument("--version", action="version", version=f"logalert {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run the daemon")
    run.add_argument("--config", help="global config file (default: ./config.yaml when present)")
    run.add_argument("--rule", action="append", help="run only this rule file (repeatable)")
    run.add_argument("--once", action="store_true", help="run each rule once over its window and exit")
    run.add_argument("--start", help="with --once: window start (ISO 8601 or now-2h)")
    run.add_argument("--end", help="with --once: window end (default now)")
    run.add_argument("--verbose", "-v", action="store_true")
    run.set_defaults(func=cmd_run)

    test = sub.add_parser("test-rule", help="run one rule against the engine without sending")
    test.add_argument("rule")
    test.add_argument("--config")
    test.add_argument("--days", type=float, default=1.0, help="look back this many days (default 1)")
    test.add_argument("--start")
    test.add_argument("--end")
    test.add_argument("--count-only", action="store_true", help="only count the documents the filter matches")
    test.add_argument("--schema-only", action="store_true", help="only validate the file")
    test.add_argument("--alert", action="store_true", help="really send the alerts through the rule's notifiers")
    test.add_argument("--format", choices=["text", "json"], default="text")
    test.add_argument("--show", type=int, default=3, help="how many rendered alerts to print (default 3)")
    test.add_argument("--verbose", "-v", action="store_true")
    test.set_defaults(func=cmd_test_rule)

    val = sub.add_parser("validate", help="check rule files (for CI)")
    val.add_argument("paths", nargs="+", help="rule files or folders")
    val.add_argument("--config")
    val.add_argument("--verbose", "-v", action="store_true")
    val.set_defaults(func=cmd_validate)

    init = sub.add_parser("init", help="create the writeback index with its mappings")
    init.add_argument("--config")
    init.set_defaults(func=cmd_init)

    st = sub.add_parser("status", help="each rule's last run, window end, counts, errors; silences")
    st.add_argument("--config")
    st.add_argument("--format", choices=["text", "json"], default="text")
    st.set_defaults(func=cmd_status)

    si = sub.add_parser("silence", help="silence a rule (or one query_key value) for a while")
    si.add_argument("rule", nargs="?", help="rule name")
    si.add_argument("--duration", default="1h", help="e.g. 30m, 2h, 1d (default 1h)")
    si.add_argument("--query-key", help="only this query_key value (compound keys: comma-joined)")
    si.add_argument("--list", action="store_true", help="list active silences")
    si.add_argument("--remove", action="store_true", help="remove the rule's silences (or one --query-key)")
    si.add_argument("--config")
    si.set_defaults(func=cmd_silence)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    secrets.install_logging(getattr(args, "verbose", False))
    try:
        return int(args.func(args))
    except ConfigError as exc:
        for problem in exc.problems:
            err(str(problem))
        return EXIT_INVALID
    except KeyboardInterrupt:
        return 130
