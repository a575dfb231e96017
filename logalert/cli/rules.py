"""``validate`` (rule files in CI, ``--engine`` against the cluster) and ``test-rule``
(one rule against the real cluster)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
from typing import Any

from logalert.cli.common import (EXIT_ENGINE, EXIT_INVALID, EXIT_OK, EXIT_SEND, UsageError, cli_time, config,
                                 engine_error, err, out)
from logalert.config import Config
from logalert.errors import EngineError, Problem
from logalert.model import Window
from logalert.rules import Rule, load_folder, load_rule, rule_files
from logalert.timeutil import iso, now

# Engine clients, Jinja and the runner load only when a command reaches the engine:
# `validate` in CI and `test-rule --schema-only` start faster without them.


def cmd_validate(args: argparse.Namespace) -> int:
    cfg = config(args.config)
    result = load_folder(args.paths, cfg)
    found = _query_problems(args.paths, cfg, result.rules)
    broken = {p.file for p in found if p.fatal}
    rules = [r for r in result.rules if r.positions.get("filter", (None,))[0] not in broken]
    engine_failure = None
    if args.engine:
        try:
            found += _engine_problems(rules)
        except EngineError as exc:  # unreachable: the offline findings are still worth printing
            engine_failure = exc
    order = {file: i for i, file in enumerate(dict.fromkeys(p.file for p in result.problems + found))}
    problems = sorted(dict.fromkeys(result.problems + found), key=lambda p: order[p.file])  # a file's lines stay together
    for problem in problems:
        out(str(problem))
    if engine_failure is not None:
        err(f"error: {engine_error(engine_failure, args.verbose)}")
        return EXIT_ENGINE
    errors = [p for p in problems if p.fatal]
    invalid = {p.file for p in errors}
    valid = [r for r in rules if r.file not in invalid and r.positions.get("filter", (None,))[0] not in invalid]
    warnings = len(problems) - len(errors)
    out(f"{len(valid)} rule(s) valid, {len(invalid)} file(s) invalid, {warnings} warning(s)"
        + (" (--strict: warnings fail)" if args.strict and warnings else ""))
    return EXIT_INVALID if errors or (args.strict and warnings) else EXIT_OK


def _query_problems(paths: list[str], cfg: Config, rules: list[Rule]) -> list[Problem]:
    """Offline query checks of every rule file, and of each file a valid rule's ``filter:``
    came from (an ``import:``ed base), each file once. Imported here: only validate
    needs the query parser."""
    from logalert.rules import lint

    files = list(rule_files(paths, subdirectories=bool(cfg["scan_subdirectories"])))
    files += [rule.positions["filter"][0] for rule in rules if "filter" in rule.positions]
    return [problem for path in dict.fromkeys(files) for problem in lint.lint_file(path)]


def _engine_problems(rules: list[Rule]) -> list[Problem]:
    """``--engine``: each rule on the engine its connection options name (config.yaml's,
    unless the rule overrides them); one checker per engine shares its answers."""
    from logalert.engine import Pool
    from logalert.rules.engine_check import EngineCheck

    pool = Pool()
    checkers: dict[tuple[Any, ...], EngineCheck] = {}
    found: list[Problem] = []
    try:
        for rule in rules:
            if rule.connection not in checkers:
                checkers[rule.connection] = EngineCheck(pool.get(rule.connection, rule.options))
            try:
                found += sorted(checkers[rule.connection].check(rule), key=lambda p: (p.file, p.line or 0))
            except EngineError as exc:
                if exc.unreachable:
                    raise
                found.append(Problem(rule.file, None, None, f"the engine refused a check: {engine_error(exc, False)}"))
    finally:
        pool.close()
    return found


class _NoRetryPromises(logging.Filter):
    """test-rule keeps no outbox, so delivery's "kept pending, will retry" would promise
    what never happens; its report says which sends failed and why instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, "outcome", None) not in ("retrying", "failed")


def cmd_test_rule(args: argparse.Namespace) -> int:
    from logalert.cli import testrule_output as extra

    cfg = config(args.config)
    rule, warnings = load_rule(args.rule, cfg)
    for warning in warnings:
        err(str(warning))
    linted = extra.lint_problems(rule)
    if args.schema_only:
        for problem in linted:
            out(str(problem))
        if any(p.fatal for p in linted):
            return EXIT_INVALID
        out(f"{args.rule}: rule {rule.name!r} is valid")
        return EXIT_OK
    from logalert.engine import Pool, describe_target, query
    from logalert.notify import render
    from logalert.run.runner import RuleRunner
    from logalert.state import MemoryState

    end = cli_time(args.end, "end") or now()
    start = cli_time(args.start, "start") or end - dt.timedelta(days=args.days)
    if start >= end:
        raise UsageError("--start must be before --end")
    if args.show < 0 or args.docs < 0:
        raise UsageError("--show and --docs take a number of 0 or more")
    window = Window(start, end)
    if not args.verbose:  # the report below states the error once
        logging.getLogger("logalert.run.runner").setLevel(logging.CRITICAL)
    report: dict[str, Any] = {"rule": rule.name, "file": rule.file, "type": rule.type,
                              "engine": describe_target(rule.options), "window": [iso(start), iso(end)],
                              "lint": [str(p) for p in linted]}
    if rule.get("limit_execution"):
        report["notes"] = [f"limit_execution {rule.get('limit_execution')!r} is not applied by test-rule; "
                           "the daemon runs this rule only when its cron matches"]
    pool, state = Pool(), MemoryState()
    quiet = _NoRetryPromises()
    delivery_log = logging.getLogger("logalert.notify.delivery")
    delivery_log.addFilter(quiet)
    try:
        # The error is part of the report (also in --format json), so it is caught here.
        backend = pool.get(rule.connection, rule.options)
        report["engine_version"] = backend.describe()
        report["index_warnings"] = _index_warnings(extra, backend, rule)
        if args.count_only:
            report["count"] = backend.count(query.indices(rule, window), query.count_body(rule, window))
            return _report(args, report, EXIT_OK)
        result = RuleRunner(rule, pool, state).run(window, send=args.alert)
        if result.error is not None:
            raise result.error
        try:
            extra.gather(report, backend, rule, window, args.docs)
        except EngineError as exc:  # the run's own figures still stand
            if exc.unreachable:
                raise
            report["histogram_error"] = engine_error(exc, args.verbose)
    except EngineError as exc:
        report["error"] = engine_error(exc, args.verbose)
        if report["error"] != str(exc):
            report["error_full"] = str(exc)
        return _report(args, report, EXIT_ENGINE)
    finally:
        delivery_log.removeFilter(quiet)
        pool.close()
    report.update(hits=result.hits, matches=len(result.matches), alerts=len(result.alerts))
    report["first_alerts"] = [{"id": a.id, "subject": a.subject, "body": a.body} for a in result.alerts[: args.show]]
    report["first_matches"] = [render.match_summary(m) for m in result.matches[: args.show]]
    if any(p.fatal for p in linted):  # the engine will refuse it once it has data to search
        report["invalid"] = "the rule's query does not parse (see above); the engine will refuse it"
    if not args.alert:
        return _report(args, report, EXIT_INVALID if "invalid" in report else EXIT_OK)
    report["delivered"] = result.delivered
    reasons = {(e.alert_id, e.alerter): e.last_error for e in state.outbox()}
    report["send_failures"] = [{"alert": alert_id, "notifier": name, "error": reasons.get((alert_id, name))}
                               for alert_id, results in result.delivered.items() for name, ok in results.items() if not ok]
    return _report(args, report, EXIT_SEND if report["send_failures"] else EXIT_INVALID if "invalid" in report else EXIT_OK)


def _index_warnings(extra: Any, backend: Any, rule: Rule) -> list[str]:
    """An index pattern that matches nothing; a user the engine does not let resolve
    index names simply gets no warning."""
    try:
        return extra.index_warnings(backend, rule)
    except EngineError as exc:
        if exc.unreachable:
            raise
        return []


def _report(args: argparse.Namespace, report: dict[str, Any], code: int) -> int:
    if args.format == "json":
        out(json.dumps(report, indent=2, default=str))
        if report.get("send_failures"):
            err(_send_summary(report))
        if "invalid" in report:
            err(f"error:   {report['invalid']}")
        return code
    from logalert.cli import testrule_output as extra

    out(f"rule:    {report['rule']} ({report['type']}) from {report['file']}")
    out(f"engine:  {report['engine']} {report.get('engine_version', '')}".rstrip())
    out(f"window:  {report['window'][0]} .. {report['window'][1]}")
    for line in report["lint"] + report.get("index_warnings", []):
        out(line)
    for note in report.get("notes", []):
        out(f"note:    {note}")
    if "error" in report:
        err(f"error:   {report['error']}")
        return code
    if "count" in report:
        out(f"count:   {report['count']}")
        return code
    out(f"hits:    {report['hits']}")
    out(f"matches: {report['matches']}")
    out(f"alerts:  {report['alerts']} (after realert/silence)")
    for line in extra.render(report):
        out(line)
    if "histogram_error" in report:
        err(f"warning: no histogram or documents: {report['histogram_error']}")
    for alert in report["first_alerts"]:
        out("")
        out(f"--- alert {alert['id']}: {alert['subject']}")
        out(alert["body"].rstrip())
    if report["alerts"] > len(report["first_alerts"]):
        out(f"\n... {report['alerts'] - len(report['first_alerts'])} more alert(s)")
    if "delivered" not in report:
        out("\n(nothing was sent; add --alert to send through the rule's notifiers)")
    else:
        _deliveries(report)
    if "invalid" in report:
        err(f"error:   {report['invalid']}")
    return code


def _deliveries(report: dict[str, Any]) -> None:
    out("")
    failed = {(f["alert"], f["notifier"]): f["error"] for f in report["send_failures"]}
    for alert_id, results in report["delivered"].items():
        out(f"sent {alert_id}: " + ", ".join(
            f"{name}=ok" if ok else f"{name}=FAILED" + (f" ({failed[(alert_id, name)]})" if failed.get((alert_id, name)) else "")
            for name, ok in results.items()))
    if report["send_failures"]:
        err(_send_summary(report))


def _send_summary(report: dict[str, Any]) -> str:
    total = sum(len(results) for results in report["delivered"].values())
    return (f"error:   {len(report['send_failures'])} of {total} send(s) failed; test-rule keeps no outbox, "
            "so nothing will be retried")


def add_parsers(sub: Any) -> None:
    config_help = "global config file (default: ./config.yaml when present)"
    verbose_help = "debug logging, and the engine's full error text instead of one line"
    test = sub.add_parser("test-rule", help="run one rule against the engine without sending",
                          description="Run one rule over a time range through the daemon's own code path and show "
                                      "hits, matches, the documents, hits over time and the rendered alerts. Exit 0 "
                                      "when it ran, 1 invalid rule, 2 engine unreachable or query refused, 3 a send "
                                      "failed (--alert).")
    test.add_argument("rule", help="the rule file (YAML)")
    test.add_argument("--config", help=config_help)
    test.add_argument("--days", type=float, default=1.0, help="look back this many days from --end (default 1)")
    test.add_argument("--start", help="window start: ISO 8601 or now-2h (default: --end minus --days)")
    test.add_argument("--end", help="window end: ISO 8601 or now-2h (default now)")
    test.add_argument("--count-only", action="store_true", help="only count the documents the filter matches")
    test.add_argument("--schema-only", action="store_true", help="only validate the file (and its queries), offline")
    test.add_argument("--alert", action="store_true",
                      help="really send the alerts through the rule's notifiers (exit 3 when a send fails)")
    test.add_argument("--format", choices=["text", "json"], default="text",
                      help="text for people, json for scripts (same content; default text)")
    test.add_argument("--show", type=int, default=3, help="how many rendered alerts to print (default 3)")
    test.add_argument("--docs", type=int, default=10,
                      help="how many documents the filter selects to list as a table (default 10, 0: none)")
    test.add_argument("--verbose", "-v", action="store_true", help=verbose_help)
    test.set_defaults(func=cmd_test_rule)

    val = sub.add_parser("validate", help="check rule files (for CI)",
                         description="Check rule files offline: schema, options, query syntax and lint. Exit 1 "
                                     "when a file is invalid (or, with --strict, on any warning); 2 when --engine "
                                     "cannot reach the engine.")
    val.add_argument("paths", nargs="+", help="rule files or folders")
    val.add_argument("--config", help=config_help)
    val.add_argument("--strict", action="store_true", help="warnings fail too (exit 1), for CI")
    val.add_argument("--engine", action="store_true",
                     help="also check each rule against its engine (the config's connection): index patterns "
                          "match, fields are mapped with usable types, the engine accepts each query")
    val.add_argument("--verbose", "-v", action="store_true", help=verbose_help)
    val.set_defaults(func=cmd_validate)
