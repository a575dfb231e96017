"""The console's Test: the rule over a range, through ``RuleRunner.run`` — the code path of
``logalert test-rule`` and of the daemon — with an in-memory state store, so a test
never moves the daemon's window, records a silence or fills its outbox. Nothing is sent
unless the caller asks (``send``, the "send real alerts" switch; test-rule ``--alert``).

Around the run: one size-0 search with a date histogram gives the documents over time
(and their total, so a range with more documents than ``MAX_DOCUMENTS`` is refused
before the runner would fetch them into the daemon's memory); an engine refusal is
placed at the rule's line it came from; the run's metrics and runner log lines are kept
out of the daemon's (it runs in the daemon's process).
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import threading
from typing import Any

from logalert import metrics
from logalert.daemon.web.checks import Checked
from logalert.engine import Pool, describe_target, query
from logalert.errors import EngineError
from logalert.model import Window
from logalert.notify import render
from logalert.rules import Rule
from logalert.timeutil import iso, now, parse_cli_time

log = logging.getLogger(__name__)

MAX_HOURS = 31 * 24
MAX_DOCUMENTS = 50_000  # documents the runner may fetch for one Test (they are held in memory)
SHOW_MATCHES = 100
SHOW_ALERTS = 20
NICE_SECONDS = (60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172800, 604800)

_testing = threading.local()


class _QuietTests(logging.Filter):
    """The runner's log lines of a console Test are not the daemon's rule errors."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_testing, "active", False)


logging.getLogger("logalert.run.runner").addFilter(_QuietTests())


def window_of(body: dict[str, Any]) -> Window:
    """``hours`` back from now, or ``start``/``end`` (ISO 8601 or now-2h); ValueError says why not."""
    if body.get("start") or body.get("end"):
        try:
            end = parse_cli_time(str(body["end"])) if body.get("end") else now()
            start = parse_cli_time(str(body["start"])) if body.get("start") else end - dt.timedelta(hours=24)
        except (ValueError, TypeError):
            raise ValueError("start/end: use ISO 8601 such as 2026-01-31T12:00:00Z, or now-2h") from None
    else:
        hours = body.get("hours", 24)
        if isinstance(hours, bool) or not isinstance(hours, (int, float)) or hours <= 0:
            raise ValueError("hours: a positive number")
        end = now()
        start = end - dt.timedelta(hours=float(hours))
    if start >= end:
        raise ValueError("start must be before end")
    if end - start > dt.timedelta(hours=MAX_HOURS):
        raise ValueError(f"a Test covers at most {MAX_HOURS // 24} days")
    return Window(start, end)


def interval(span: dt.timedelta) -> int:
    """Seconds per histogram bar: about 60 bars, at a round interval."""
    target = span.total_seconds() / 60
    return next((s for s in NICE_SECONDS if s >= target), NICE_SECONDS[-1])


def histogram(backend: Any, rule: Rule, window: Window) -> tuple[dict[str, Any] | None, int | None]:
    """Documents over time, counted by the engine (one size-0 search); and their total."""
    body: dict[str, Any] = dict(query.count_body(rule, window), size=0, track_total_hits=True)
    step = interval(window.span)
    if rule.timestamp_type == "iso":
        body["aggs"] = {"over_time": {"date_histogram": {
            "field": rule.timestamp_field, "fixed_interval": f"{step}s", "min_doc_count": 0,
            "extended_bounds": {"min": int(window.start.timestamp() * 1000),
                                "max": int(window.end.timestamp() * 1000) - 1}}}}
    result = backend.search(query.indices(rule, window), body)
    raw = (result.aggregations or {}).get("over_time", {}).get("buckets")
    if raw is None:
        return None, result.total
    buckets = [{"t": iso(dt.datetime.fromtimestamp(b["key"] / 1000, dt.timezone.utc)), "count": b["doc_count"]}
               for b in raw]
    return {"interval_seconds": step, "buckets": buckets}, result.total


_WHERE = re.compile(r"^(?P<file>[^\s:][^:]*):(?P<line>\d+): (?P<option>[^:\s]+): (?P<message>.*)$", re.S)


def located(rule: Rule, error: EngineError, checked: Checked) -> dict[str, Any]:
    """An engine error as ``{line, option, message, file}``: at the line the message names
    (``FILE:LINE: option: …``), else — a refused search — at the rule's ``filter``."""
    relabel = checked.relabel
    text = relabel.text(str(error)) if relabel else str(error)
    found = _WHERE.match(str(error))
    if found:
        file = relabel.text(found.group("file")) if relabel else found.group("file")
        return {"line": int(found.group("line")), "option": found.group("option"), "file": file,
                "message": relabel.text(found.group("message")) if relabel else found.group("message"),
                "fatal": True}
    if not error.unreachable and "filter" in rule.positions:
        file, line = rule.positions["filter"]
        return {"line": line, "option": "filter", "file": relabel.text(file) if relabel else file,
                "message": "the engine refuses this search: " + text, "fatal": True}
    return {"line": None, "option": None, "file": None, "message": text, "fatal": True}


def _fetches_documents(rule: Rule, window: Window) -> bool:
    from logalert import ruletypes

    return any(q.kind == "hits" for q in ruletypes.get(rule.type)(rule).queries(window))


def run_test(rule: Rule, checked: Checked, pool: Pool, window: Window, *, send: bool) -> dict[str, Any]:
    """The Test report: engine, window, documents over time, hits, matches, the alerts as
    rendered for the notifiers, what was sent (``send``), warnings and errors."""
    from logalert.run.runner import RuleRunner
    from logalert.state import MemoryState

    report: dict[str, Any] = {
        "rule": rule.name, "type": rule.type, "engine": describe_target(rule.options),
        "window": {"start": iso(window.start), "end": iso(window.end)}, "histogram": None, "documents": None,
        "hits": 0, "matches": [], "match_count": 0, "alerts": [], "alert_count": 0, "sent": send,
        "delivered": {}, "warnings": list(checked.warnings), "errors": []}
    _testing.active = True
    try:
        with metrics.muted():
            try:
                backend = pool.get(rule.connection, rule.options)
                report["engine_version"] = backend.describe()
            except EngineError as exc:
                report["errors"].append(located(rule, exc, checked))
                return report
            try:
                report["histogram"], report["documents"] = histogram(backend, rule, window)
            except EngineError:
                pass  # the run below reports the refusal, at its line
            documents = report["documents"] or 0
            if documents > MAX_DOCUMENTS and _fetches_documents(rule, window):
                report["errors"].append({
                    "line": None, "option": None, "file": None, "fatal": True,
                    "message": f"{documents:,} documents match in this range; a Test fetches at most "
                               f"{MAX_DOCUMENTS:,} (type {rule.type} reads every document): narrow the range or "
                               "the filter, or use `logalert test-rule` outside the daemon"})
                return report
            try:
                runner = RuleRunner(rule, pool, MemoryState())
            except Exception as exc:  # noqa: BLE001 - a notifier that cannot start is the rule's problem
                report["errors"].append({"line": None, "option": "alert", "file": None, "fatal": True,
                                         "message": f"cannot start the rule: {exc}"})
                return report
            result = runner.run(window, send=send)
    finally:
        _testing.active = False
    if result.error is not None:
        report["errors"].append(located(rule, result.error, checked))
        return report
    report.update(hits=result.hits, match_count=len(result.matches), alert_count=len(result.alerts))
    report["matches"] = [render.match_summary(m) for m in result.matches[:SHOW_MATCHES]]
    notifiers = [t.name for t in rule.alerts]
    report["alerts"] = [{"id": a.id, "subject": a.subject, "body": a.body, "notifiers": notifiers,
                         "matches": len(a.matches)} for a in result.alerts[:SHOW_ALERTS]]
    if send:
        report["delivered"] = result.delivered
    log.info("web console: Test of rule %r over [%s, %s): %d hits, %d matches, %d alerts%s", rule.name,
             iso(window.start), iso(window.end), result.hits, len(result.matches), len(result.alerts),
             " — alerts SENT through the rule's notifiers" if send else "")
    return report
