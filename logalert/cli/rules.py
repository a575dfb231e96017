"""``validate`` (rule files in CI) and ``test-rule`` (one rule against the real cluster)."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
from typing import Any

from logalert.cli.common import EXIT_ENGINE, EXIT_INVALID, EXIT_OK, UsageError, cli_time, config, err, out
from logalert.config import Config
from logalert.errors import EngineError, Problem
from logalert.model import Window
from logalert.rules import Rule, load_folder, load_rule, rule_files
from logalert.timeutil import iso, now

# Engine clients, Jinja and the runner load only when test-rule reaches the engine:
# `validate` in CI and `test-rule --schema-only` start faster without them.


def cmd_validate(args: argparse.Namespace) -> int:
    cfg = config(args.config)
    result = load_folder(args.paths, cfg)
    found = _query_problems(args.paths, cfg, result.rules)
    broken = {p.file for p in found if p.fatal}
    rules = [r for r in result.rules if r.positions.get("filter", (None,))[0] not in broken]
    order = {file: i for i, file in enumerate(dict.fromkeys(p.file for p in result.problems + found))}
    problems = sorted(result.problems + found, key=lambda p: order[p.file])  # stable: a file's lines stay together
    for problem in problems:
        out(str(problem))
    errors = [p for p in problems if p.fatal]
    warnings = len(problems) - len(errors)
    out(f"{len(rules)} rule(s) valid, {len({p.file for p in errors})} file(s) invalid, {warnings} warning(s)"
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


def cmd_test_rule(args: argparse.Namespace) -> int:
    cfg = config(args.config)
    rule, warnings = load_rule(args.rule, cfg)
    for warning in warnings:
        err(str(warning))
    if args.schema_only:
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
    window = Window(start, end)
    if not args.verbose:  # the report below states the error once
        logging.getLogger("logalert.run.runner").setLevel(logging.CRITICAL)
    report: dict[str, Any] = {"rule": rule.name, "file": rule.file, "type": rule.type,
                              "engine": describe_target(rule.options), "window": [iso(start), iso(end)]}
    pool = Pool()
    try:
        # The error is part of the report (also in --format json), so it is caught here.
        backend = pool.get(rule.connection, rule.options)
        report["engine_version"] = backend.describe()
        if args.count_only:
            report["count"] = backend.count(query.indices(rule, window), query.count_body(rule, window))
            return _report(args, report, EXIT_OK)
        result = RuleRunner(rule, pool, MemoryState()).run(window, send=args.alert)
        if result.error is not None:
            raise result.error
    except EngineError as exc:
        report["error"] = str(exc)
        return _report(args, report, EXIT_ENGINE)
    finally:
        pool.close()
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


def add_parsers(sub: Any) -> None:
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
    val.add_argument("--strict", action="store_true", help="warnings fail too (exit 1), for CI")
    val.add_argument("--verbose", "-v", action="store_true")
    val.set_defaults(func=cmd_validate)
