"""``logalert test FILE...``: rule unit tests (see ``logalert.cli.ruletest_file`` for the
file format), offline on the in-process engine or, with ``--engine``, on the cluster
from the config (a temporary index per test, deleted afterwards).

One line per test (PASS/FAIL/ERROR), the expected/actual diff under a failure, a
summary; ``--format junit`` prints JUnit XML for CI instead. Exit 1 when any test
fails or errs or a file is invalid, 2 when ``--engine`` cannot reach the engine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import time
from typing import Any
from xml.etree import ElementTree as ET

from logalert.cli.common import EXIT_INVALID, EXIT_OK, config, err, out
from logalert.errors import ConfigError

# The offline engine, the runner and the notifiers load only when tests run.


def cmd_test(args: argparse.Namespace) -> int:
    # A rule's failure is reported once, in the test's result; nothing is really sent.
    quiet = {} if args.verbose else {"logalert.run.runner": logging.CRITICAL, "logalert.notify": logging.WARNING}
    before = {name: logging.getLogger(name).level for name in quiet}
    for name, level in quiet.items():
        logging.getLogger(name).setLevel(level)
    try:
        return _test(args)
    finally:
        for name, level in before.items():
            logging.getLogger(name).setLevel(level)


def _test(args: argparse.Namespace) -> int:
    from logalert.cli import ruletest_file, ruletest_run

    cfg = config(args.config)
    suites: list[tuple[str, Any]] = []
    invalid: list[str] = []
    for path in args.files:
        try:
            suite = ruletest_file.read(path, cfg)
        except ConfigError as exc:
            for problem in exc.problems:
                err(str(problem))
            invalid.append(path)
            continue
        for warning in suite.warnings:
            if args.verbose:
                err(str(warning))
        suites.append((path, suite))
    engine, label = _engine(args, cfg)
    outcomes: list[tuple[str, Any]] = []
    try:
        for path, suite in suites:
            for case in suite.cases:
                outcome = _run(ruletest_run, suite, case, engine, args)
                outcomes.append((path, outcome))
                if args.format == "text":
                    _print_outcome(path, outcome)
    finally:
        if engine is not None:
            engine.close()
    if args.format == "junit":
        out(junit(outcomes, invalid, label))
    else:
        _summary(outcomes, invalid, label)
    bad = invalid or any(o.status != "pass" for _, o in outcomes)
    return EXIT_INVALID if bad else EXIT_OK


def _engine(args: argparse.Namespace, cfg: Any) -> tuple[Any, str]:
    if not args.engine:
        return None, "offline (in-process evaluator" + (", Elasticsearch semantics)" if args.offline_as == "elasticsearch"
                                                         else ")")
    from logalert.engine import connect, describe_target

    backend = connect(cfg.options)  # EngineError: exit 2, said once by main
    return backend, f"{backend.describe()} at {describe_target(cfg.options)}"


def _run(ruletest_run: Any, suite: Any, case: Any, engine: Any, args: argparse.Namespace) -> Any:
    from logalert.engine.inprocess import InProcessBackend, Unsupported

    clock = [dt.datetime.now(dt.timezone.utc)]

    def set_clock(moment: dt.datetime) -> None:
        clock[0] = moment  # offline, `now` in a query is the run's time; a cluster keeps its own

    backend = engine if args.engine else InProcessBackend(clock=lambda: clock[0], semantics=args.offline_as)
    started = time.monotonic()
    try:
        return ruletest_run.run_case(suite, case, backend, set_clock)
    except Unsupported as exc:
        outcome = ruletest_run.Outcome(case.name, case.where, "error", str(exc))
        outcome.duration = time.monotonic() - started
        return outcome


def _print_outcome(path: str, outcome: Any) -> None:
    label = {"pass": "PASS ", "fail": "FAIL ", "error": "ERROR"}[outcome.status]
    counts = [len(a) for a in outcome.alerts.values()]
    if len(counts) == 1:
        tail = f" ({counts[0]} alert{'s' if counts[0] != 1 else ''})"
    else:
        tail = " (alerts: " + ", ".join(f"{name!r} {len(a)}" for name, a in outcome.alerts.items()) + ")"
    tail = tail if outcome.status == "pass" and counts else ""
    out(f"{label} {outcome.where}: {outcome.name}{tail}")
    for note in outcome.notes:
        out(f"      note: {note}")
    if outcome.status == "fail":
        out(outcome.message)
    elif outcome.status == "error":
        out(f"      {outcome.message}")


def _summary(outcomes: list[tuple[str, Any]], invalid: list[str], label: str) -> None:
    passed = sum(1 for _, o in outcomes if o.status == "pass")
    failed = sum(1 for _, o in outcomes if o.status == "fail")
    errors = sum(1 for _, o in outcomes if o.status == "error")
    parts = [f"{len(outcomes)} test(s): {passed} passed", f"{failed} failed", f"{errors} error(s)"]
    if invalid:
        parts.append(f"{len(invalid)} invalid file(s)")
    out(", ".join(parts) + f" — {label}")


def junit(outcomes: list[tuple[str, Any]], invalid: list[str], label: str) -> str:
    """JUnit XML: one testsuite per file, one testcase per test; an invalid file is a
    testsuite with one erroring testcase."""
    root = ET.Element("testsuites", name="logalert test")
    files = list(dict.fromkeys([p for p, _ in outcomes] + invalid))
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for path in files:
        mine = [o for p, o in outcomes if p == path]
        suite = ET.SubElement(root, "testsuite", name=path)
        ET.SubElement(ET.SubElement(suite, "properties"), "property", name="engine", value=label)
        counts = {"tests": len(mine) or 1, "failures": sum(o.status == "fail" for o in mine),
                  "errors": sum(o.status == "error" for o in mine) + (path in invalid)}
        for outcome in mine:
            case = ET.SubElement(suite, "testcase", classname=path, name=outcome.name, time=f"{outcome.duration:.3f}")
            if outcome.notes:
                ET.SubElement(case, "system-out").text = "\n".join(f"note: {n}" for n in outcome.notes)
            if outcome.status in ("fail", "error"):
                tag = "failure" if outcome.status == "fail" else "error"
                first = (outcome.message.strip().splitlines() or [tag])[0]
                summary = "the alerts differ from what the test expects" if tag == "failure" else first[:300]
                node = ET.SubElement(case, tag, message=summary)
                node.text = outcome.message
        if path in invalid:
            case = ET.SubElement(suite, "testcase", classname=path, name="(test file)", time="0")
            ET.SubElement(case, "error", message="invalid test file (see the lines printed on stderr)")
        suite.set("time", f"{sum(o.duration for o in mine):.3f}")
        for key, value in counts.items():
            suite.set(key, str(value))
            totals[key] += value
    for key, value in totals.items():
        root.set(key, str(value))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")


def add_parsers(sub: Any) -> None:
    test = sub.add_parser(
        "test", help="run rule unit tests from YAML test files (offline, or on the cluster with --engine)",
        description="Run rule unit tests: each test loads its documents into a fresh index, runs the rules "
                    "the way the daemon does up to the test's `now`, and compares the alerts with `expect`.")
    test.add_argument("files", nargs="+", metavar="FILE", help="test files (YAML: rules, tests)")
    test.add_argument("--engine", action="store_true",
                      help="run on the engine from the config (a temporary index per test, deleted afterwards) "
                           "instead of the offline in-process evaluator")
    test.add_argument("--offline-as", choices=["opensearch", "elasticsearch"], default="opensearch",
                      help="offline, answer as OpenSearch 2.x (default) or Elasticsearch 8/9 where the two differ "
                           "(a regexp on a text field in query_string, percentiles)")
    test.add_argument("--config", help="config.yaml (default ./config.yaml when present); with --engine it says "
                                       "which engine")
    test.add_argument("--format", choices=["text", "junit"], default="text",
                      help="text (default): one line per test; junit: JUnit XML on stdout for CI")
    test.add_argument("--verbose", "-v", action="store_true", help="also print rule warnings and run errors")
    test.set_defaults(func=cmd_test)


__all__ = ["add_parsers", "cmd_test", "junit"]
