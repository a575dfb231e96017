"""One rule run, the whole data flow in order:
window -> query -> engine -> rule type -> dedupe/realert -> render -> notify -> state.

The daemon and ``test-rule`` both call ``RuleRunner.run`` so they can never disagree
about windows or matching; test-rule only swaps the state store and notifiers.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Callable

from logalert import alerters as alerter_registry
from logalert import aggregation, alerting, delivery, failpoints, query, render, ruletypes
from logalert.alerters.base import Alert, Alerter
from logalert.backend import Pool
from logalert.errors import EngineError
from logalert.rules.model import Rule
from logalert.ruletypes.base import Event, Match
from logalert.state.base import RuleStatus, StateStore
from logalert.timeutil import now as utcnow
from logalert.timeutil import parse_doc_time
from logalert.window import Window, next_window

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    rule: str
    window: Window | None
    hits: int = 0
    new_hits: int = 0
    matches: list[Match] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    delivered: dict[str, dict[str, bool]] = field(default_factory=dict)  # alert id -> notifier -> ok
    error: EngineError | None = None
    duration: float = 0.0


class RuleRunner:
    def __init__(self, rule: Rule, pool: Pool, state: StateStore, *,
                 alerters: list[Alerter] | None = None,
                 clock: Callable[[], dt.datetime] = utcnow,
                 policy: delivery.RetryPolicy = delivery.RetryPolicy()):
        self.rule = rule
        self.pool = pool
        self.state = state
        self.clock = clock
        self.policy = policy
        self.ruletype = ruletypes.get(rule.type)(rule)
        self._query_checked = False
        self.alerters = alerters if alerters is not None else [
            alerter_registry.get(t.name)(rule, t.options) for t in rule.alerts
        ]

    def window(self, status: RuleStatus | None) -> Window | None:
        rule = self.rule
        return next_window(
            now=self.clock(),
            last_end=status.last_end if status else None,
            buffer_time=rule.buffer_time,
            query_delay=rule.query_delay,
            old_query_limit=rule.span("old_query_limit", dt.timedelta(weeks=1)),
        )

    def run(self, window: Window | None = None, *, send: bool = True) -> RunResult:
        """One run over ``window`` (default: the next rolling window). Engine errors (the
        search or the state store) are returned in the result, never raised: the caller
        keeps the other rules going and the next run covers the range again."""
        started = time.monotonic()
        result = RunResult(self.rule.name, window)
        status: RuleStatus | None = None
        try:
            status = self.state.load_status(self.rule.name) or RuleStatus(self.rule.name)
            if send:
                self._retry_pending()
            result.window = window or self.window(status)
            if result.window is not None:
                self._run_window(result, status, explicit=window is not None, send=send, started=started)
        except EngineError as exc:
            result.error = exc
            log.error("rule %r: %s", self.rule.name, exc)
            self._record_failure(status, exc)
        result.duration = time.monotonic() - started
        return result

    def _run_window(self, result: RunResult, status: RuleStatus, *, explicit: bool, send: bool,
                    started: float) -> None:
        """The steps in crash-safe order: alerts reach the outbox before the silences that
        follow from them and before the window end moves; sending comes last."""
        rule, window, now = self.rule, result.window, self.clock()
        assert window is not None
        results, events = self._fetch(window, result, status)
        result.new_hits = len(events)
        result.matches = self.ruletype.evaluate(window, results)
        selected, silences = alerting.select(rule, result.matches, self.state)
        describe = self.ruletype.describe
        closed: list[str] = []
        if aggregation.enabled(rule):
            aggregation.collect(rule, selected, self.state, now)
            horizon = now if send else dt.datetime.max.replace(tzinfo=dt.timezone.utc)
            for bucket in self.state.due_aggregations(rule.name, horizon):
                subject, body, matches = aggregation.digest(rule, bucket, describe)
                alert_id = Match(bucket.created, {}, key=(bucket.key,)).identity(rule.name + "/aggregation")
                result.alerts.append(Alert(alert_id, rule, tuple(matches), subject, body))
                closed.append(bucket.key)
        else:
            for match in selected:
                text = render.render(rule, [match], describe(match))
                result.alerts.append(Alert(match.identity(rule.name), rule, (match,), text.subject, text.body))
        if send:
            for alert in result.alerts:
                delivery.enqueue(alert, self.alerters, self.state, now=now)
        failpoints.hit("after_enqueue")
        for silence in silences:
            self.state.put_silence(silence)
        for key in closed:
            self.state.delete_aggregation(rule.name, key)
        # Remember what this window evaluated so the next window's overlap skips it.
        horizon_ts = (window.end - rule.buffer_time - rule.run_every).timestamp()
        status.seen = {k: t for k, t in status.seen.items() if t >= horizon_ts}
        status.seen.update({f"{e.index}/{e.id}": e.timestamp.timestamp() for e in events})
        if not explicit or send:
            status.last_end = max(window.end, status.last_end) if status.last_end else window.end
        status.last_run = now
        status.hits, status.matches, status.alerts = result.hits, len(result.matches), len(result.alerts)
        status.duration, status.error = time.monotonic() - started, None
        self.state.save_status(status)
        failpoints.hit("before_send")
        if send:
            for alert in result.alerts:
                result.delivered[alert.id] = delivery.deliver(
                    alert, self.alerters, self.state, policy=self.policy, now=now)

    def _record_failure(self, status: RuleStatus | None, exc: EngineError) -> None:
        """Best effort: the state store may be what failed."""
        try:
            status = status or RuleStatus(self.rule.name)
            status.error, status.last_run = str(exc), self.clock()
            self.state.save_status(status)
            self.state.record_error(self.rule.name, str(exc))
        except EngineError:
            pass

    def _fetch(self, window: Window, result: RunResult, status: RuleStatus) -> tuple[list[Any], list[Event]]:
        """Answer the rule type's queries; returns the answers and the new events."""
        rule = self.rule
        backend = self.pool.get(rule.connection, rule.options)
        index = query.indices(rule, window)
        if not self._query_checked:
            problem = backend.validate_query(index, query.query_clause(rule, None))
            if problem:
                raise EngineError(f"{rule.where('filter')}: filter: the engine rejects this query", reason=problem)
            self._query_checked = True
        answers: list[Any] = []
        new_events: list[Event] = []
        for q in self.ruletype.queries(window):
            span = Window(q.start or window.start, q.end or window.end)
            span_index = index if span == window else query.indices(rule, span)
            if q.kind == "count":
                answers.append(backend.count(span_index, query.count_body(rule, span)))
            elif q.kind == "aggs":
                body = {"query": query.query_clause(rule, span), "size": 0, "aggs": dict(q.aggs or {})}
                answers.append(backend.search(span_index, body).get("aggregations", {}))
            else:
                events = [e for e in self._events(backend, span_index, span, result)
                          if f"{e.index}/{e.id}" not in status.seen]
                new_events.extend(events)
                answers.append(events)
        return answers, new_events

    def _events(self, backend: Any, index: str, window: Window, result: RunResult) -> list[Event]:
        rule = self.rule
        body = query.hits_body(rule, window, rule.max_query_size)
        events = []
        for hit in backend.search_all(index, body, rule.max_query_size):
            result.hits += 1
            raw = query.lookup(hit.source, rule.timestamp_field)
            moment = parse_doc_time(raw, rule.timestamp_type, rule.timestamp_format)
            if moment is None:
                log.warning("rule %r: document %s/%s has no readable %s (%r); skipped",
                            rule.name, hit.index, hit.id, rule.timestamp_field, raw)
                continue
            events.append(Event(moment, hit.source, hit.index, hit.id))
        return events

    def _retry_pending(self) -> None:
        by_name = {a.name: a for a in self.alerters}
        limit = self.rule.span("alert_time_limit", dt.timedelta(days=2))
        delivery.retry_pending(self.rule.name, by_name, self.state, time_limit=limit, now=self.clock(), rule=self.rule)
