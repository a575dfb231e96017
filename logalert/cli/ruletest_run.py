"""Running one rule unit test: documents into a fresh index, the rules run the way the
daemon runs them, what they alert compared with what the test expects.

The index is the in-process engine's (offline) or a temporary one on the cluster
(``--engine``), deleted afterwards. Each rule runs with the real RuleRunner, rule type,
realert, aggregation and rendering, every ``run_every`` from the oldest document's time
up to the test's ``now``, as if the daemon had been running while the logs came in (so
processing-time features such as ``aggregation`` periods behave as they would live);
the notifiers are replaced by a recorder, so nothing is sent.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import math
import time
import uuid
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

from logalert.cli.ruletest_file import Case, Expect, RuleTestFile, place, relative
from logalert.engine import Backend, EngineError, Pool
from logalert.fields import lookup
from logalert.model import Alert
from logalert.notify.alerters.base import Alerter
from logalert.rules import Rule
from logalert.run.runner import RuleRunner
from logalert.ruletypes.common import term_text
from logalert.state import MemoryState
from logalert.timeutil import iso

MAX_RUNS = 20_000  # per rule and test: a day of documents at run_every 5s


class _FixedPool(Pool):
    """Every rule of a test talks to the test's engine."""

    def __init__(self, backend: Backend):
        super().__init__()
        self.backend = backend

    def get(self, key: Any, options: Mapping[str, Any]) -> Backend:
        return self.backend

    def close(self) -> None:  # the caller owns the backend
        pass


class _Recorder(Alerter):
    """Stands in for the rule's notifiers: keeps what they would have been sent."""

    name = "logalert-test"

    def __init__(self, rule: Rule, sink: list[Alert]):
        super().__init__(rule, {})
        self.sink = sink

    def send(self, alert: Alert) -> None:
        self.sink.append(alert)


@dataclass
class Outcome:
    name: str
    where: str
    status: str = "pass"  # pass | fail | error
    message: str = ""  # the error, or the failure's diff
    alerts: dict[str, list[Alert]] = field(default_factory=dict)
    duration: float = 0.0
    notes: list[str] = field(default_factory=list)  # things worth knowing whatever the result


def clock_of(case: Case, rules: list[Rule]) -> dt.datetime:
    """``now``: the test's, else just after the newest document (past every rule's
    query_delay), else the wall clock (whole seconds) when all times are relative."""
    if case.now is not None:
        return case.now
    latest = None
    for doc in case.documents:
        for rule in rules:
            raw = lookup(doc, rule.timestamp_field)
            if raw is None or relative(raw) is not None:
                continue
            moment = rule.doc_time(raw)
            if moment is not None and (latest is None or moment > latest):
                latest = moment
    if latest is None:
        return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    delay = max((r.query_delay for r in rules), default=dt.timedelta(0))
    return latest + delay + dt.timedelta(seconds=1)


def run_case(suite: RuleTestFile, case: Case, backend: Backend,
             set_clock: Callable[[dt.datetime], None]) -> Outcome:
    """Run one test on ``backend`` (its own index, deleted afterwards)."""
    started = time.monotonic()
    outcome = Outcome(case.name, case.where)
    now = clock_of(case, suite.rules)
    set_clock(now)
    index = f"logalert-test-{uuid.uuid4().hex[:12]}"
    stamps = {r.timestamp_field: (r.timestamp_type, r.timestamp_format) for r in suite.rules}
    docs = [place(d, stamps, now) for d in case.documents]
    later = sum(1 for d in docs if any((t := r.doc_time(lookup(d, r.timestamp_field))) is not None and t >= now
                                       for r in suite.rules))
    if later:
        outcome.notes.append(f"{later} document(s) at or after now ({iso(now)}): no run reaches them")
    try:
        backend.create_index(index, settings={"index": {"number_of_shards": 1, "number_of_replicas": 0}},
                             mappings=case.mappings)
        loaded = backend.bulk(index, [(str(d.pop("_id")) if "_id" in d else f"doc-{n + 1}", d)
                                      for n, d in enumerate(docs)], refresh=True)
        if not loaded.ok:
            first = loaded.failed[0]
            raise EngineError(f"document {first.id} of the test was refused by the engine", reason=first.error)
        for rule in suite.rules:
            outcome.alerts[rule.name] = _run_rule(_on_index(rule, index), backend, docs, now, set_clock)
    except EngineError as exc:
        outcome.status, outcome.message = "error", str(exc)
    finally:
        set_clock(now)
        try:
            backend.delete_index(index)
        except EngineError:
            pass
    if outcome.status == "pass":
        outcome.message = compare(suite.rules, case.expects, outcome.alerts)
        outcome.status = "fail" if outcome.message else "pass"
    outcome.duration = time.monotonic() - started
    return outcome


def _on_index(rule: Rule, index: str) -> Rule:
    options = {**rule.options, "index": index, "use_strftime_index": False}
    return dataclasses.replace(rule, index=index, options=MappingProxyType(options))


def _run_rule(rule: Rule, backend: Backend, docs: list[dict[str, Any]], now: dt.datetime,
              set_clock: Callable[[dt.datetime], None]) -> list[Alert]:
    """Every run of the rule, run_every apart, from the oldest document on, ending with one
    at ``now``."""
    times = [t for d in docs if (t := rule.doc_time(lookup(d, rule.timestamp_field))) is not None]
    step = rule.run_every
    runs = math.ceil((now - min(times)) / step) if times and min(times) < now else 0
    if runs > MAX_RUNS:
        raise EngineError(f"the documents span {runs} runs of {rule.name!r} (run_every {step}); at most "
                          f"{MAX_RUNS}: set the test's now closer to them")
    sent: list[Alert] = []
    clock = [now - runs * step]
    runner = RuleRunner(rule, _FixedPool(backend), MemoryState(), alerters=[_Recorder(rule, sent)],
                        clock=lambda: clock[0])
    limit = rule.limit_execution  # as in the daemon: no run at a tick its cron did not reach
    for k in range(runs, -1, -1):
        clock[0] = now - k * step
        if limit is not None and not limit.fired(clock[0] - step, clock[0]):
            continue
        set_clock(clock[0])
        result = runner.run(send=True)
        if result.error is not None:
            raise EngineError(f"rule {rule.name!r} at {iso(clock[0])}: {result.error}")
    return sent


# --- expected against actual -----------------------------------------------------------
def _same(actual: Any, wanted: Any) -> bool:
    if actual == wanted:
        return True
    if isinstance(actual, (list, dict)) or isinstance(wanted, (list, dict)):
        return False
    return actual is not None and term_text(actual) == term_text(wanted)


def _show(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value).replace("True", "true").replace("False", "false")


def _fields_line(fields: Mapping[str, Any], wanted: Mapping[str, Any]) -> str:
    return "{" + ", ".join(f"{k}: {_show(lookup(fields, k))}" for k in wanted) + "}"


def compare(rules: list[Rule], expects: list[Expect], alerts: dict[str, list[Alert]]) -> str:
    """A diff of expected against actual alerts, per rule; "" when they agree. A rule
    the test does not name must not alert."""
    by_rule = {e.rule: e for e in expects}
    sections = []
    for rule in rules:
        expect = by_rule.get(rule.name) or Expect(rule.name, "", alerts=0)
        got = alerts.get(rule.name, [])
        wanted_lines, actual_lines = [f"rule: {rule.name}"], [f"rule: {rule.name}"]
        if expect.alerts is not None:
            wanted_lines.append(f"alerts: {expect.alerts}")
            actual_lines.append(f"alerts: {len(got)}")
        for i, fields in enumerate(expect.matches or []):
            wanted_lines.append(f"alert {i + 1} match: " + _fields_line(fields, fields))
            if i >= len(got):
                actual_lines.append(f"alert {i + 1} match: (no such alert)")
            else:
                match = got[i].matches[0].fields if got[i].matches else {}
                ok = all(_same(lookup(match, k), v) for k, v in fields.items())
                actual_lines.append(f"alert {i + 1} match: " + (_fields_line(fields, fields) if ok
                                                                 else _fields_line(match, fields)))
        for text in expect.text_contains:
            wanted_lines.append(f"text contains: {text!r}")
            found = any(text in f"{a.subject}\n{a.body}" for a in got)
            actual_lines.append(f"text contains: {text!r}" if found else f"text contains: (no alert has {text!r})")
        if wanted_lines == actual_lines:
            continue
        diff = difflib.unified_diff(wanted_lines, actual_lines, "expected", "actual", lineterm="", n=len(wanted_lines))
        listing = [f"  actual alert {i + 1}: {a.subject}  [{iso(a.matches[0].timestamp) if a.matches else '-'}]"
                   for i, a in enumerate(got[:10])]
        if len(got) > 10:
            listing.append(f"  … {len(got) - 10} more")
        sections.append("\n".join(["  " + line for line in diff] + listing))
    return "\n".join(sections)
