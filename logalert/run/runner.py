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
from typing import Any, Callable, Sequence

from logalert import failpoints, metrics, ruletypes
from logalert.engine import Backend, Hit, Pool, SearchResult, batch, query
from logalert.errors import EngineError
from logalert.fields import lookup
from logalert.model import Alert, Event, Match, Query, Window
from logalert.notify import alerters as alerter_registry
from logalert.notify import delivery, digest, render
from logalert.notify.alerters.base import Alerter
from logalert.rules.model import Rule
from logalert.ruletypes.base import refusal
from logalert.run import overlap, realert, resolve
from logalert.run.window import next_window
from logalert.state.base import RuleStatus, StateStore
from logalert.timeutil import now as utcnow
from logalert.timeutil import iso, parse_iso

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    rule: str
    window: Window | None
    hits: int = 0
    matches: list[Match] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    delivered: dict[str, dict[str, bool]] = field(default_factory=dict)  # alert id -> notifier -> ok
    error: EngineError | None = None
    duration: float = 0.0
    match_count: int = 0
    alert_count: int = 0

    def log_fields(self) -> dict[str, Any]:
        """The run's figures as structured log fields (``logalert.logformat``)."""
        fields: dict[str, Any] = {"rule": self.rule, "hits": self.hits,
                                  "matches": self.match_count or len(self.matches),
                                  "alerts": self.alert_count or len(self.alerts), "duration_s": round(self.duration, 3)}
        if self.window is not None:
            fields["window_start"], fields["window_end"] = iso(self.window.start), iso(self.window.end)
        if self.error is not None:
            fields["error"] = str(self.error)
        return fields

    def lighten(self) -> "RunResult":
        """Keep the counts, drop the documents (a tick of many rules returns only figures)."""
        self.match_count, self.alert_count = len(self.matches), len(self.alerts)
        self.matches, self.alerts, self.delivered = [], [], {}
        return self


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
            old_query_limit=rule.span("old_query_limit"),
        )

    # --- one rule alone (test-rule, tests): plan, fetch, finish ------------------------
    def run(self, window: Window | None = None, *, send: bool = True) -> RunResult:
        """One run over ``window`` (default: the next rolling window). Engine errors (the
        search or the state store) are returned in the result, never raised: the caller
        keeps the other rules going and the next run covers the range again."""
        plan = self.plan(window, send=send)
        if plan.result.error is None and plan.requests:
            plan.answers = batch.execute([(plan.backend, plan.requests)])[0]
        return self.finish(plan)

    # --- the steps, so a tick can batch the searches of many rules -------------------
    def plan(self, window: Window | None = None, *, send: bool = True) -> "Plan":
        """Decide the window and the searches; no search is sent yet."""
        plan = Plan(self, RunResult(self.rule.name, window), send=send, explicit=window is not None)
        try:
            plan.status = self.state.load_status(self.rule.name) or RuleStatus(self.rule.name)
            plan.result.window = window or self.window(plan.status)
            if plan.result.window is not None:
                plan.backend = self.pool.get(self.rule.connection, self.rule.options)
                plan.queries = self.ruletype.queries(plan.result.window)
                plan.requests = self._requests(plan.result.window, plan.queries)
                if not plan.explicit:
                    self._split_overlap(plan)
        except EngineError as exc:
            self._fail(plan, exc)
        return plan

    def finish(self, plan: "Plan") -> RunResult:
        """Everything after the engine answered: evaluate, alert, record, send."""
        result = plan.result
        if result.error is None:
            try:
                if plan.send:
                    self._retry_pending()
                if result.window is not None:
                    self._run_window(plan)
            except EngineError as exc:
                self._fail(plan, exc)
        result.duration = time.monotonic() - plan.started
        self._measure(result)
        return result

    def _measure(self, result: RunResult) -> None:
        name = self.rule.name
        metrics.inc("logalert_rule_runs_total", rule=name, outcome="error" if result.error else "ok")
        metrics.set_gauge("logalert_rule_run_seconds", result.duration, rule=name)
        if result.error is None and result.window is not None:
            metrics.inc("logalert_rule_hits_total", result.hits, rule=name)
            metrics.inc("logalert_rule_matches_total", len(result.matches), rule=name)
            metrics.set_gauge("logalert_rule_window_end_seconds", result.window.end.timestamp(), rule=name)

    def _fail(self, plan: "Plan", exc: EngineError) -> None:
        plan.result.error = exc
        log.error("rule %r: %s", self.rule.name, exc, extra={"rule": self.rule.name, "error": str(exc)})
        if plan.evaluated:
            # The rule type has counted this window's events, but the window will be run
            # again: start it afresh so it rebuilds its memory from the engine (as after a
            # restart) instead of counting the same events twice.
            self.ruletype = ruletypes.get(self.rule.type)(self.rule)
        try:  # best effort: the state store may be what failed
            status = plan.status or RuleStatus(self.rule.name)
            status.error, status.last_run = str(exc), self.clock()
            self.state.save_status(status)
            self.state.record_error(self.rule.name, str(exc))
        except EngineError:
            pass

    def _requests(self, window: Window, queries: list[Query]) -> list[batch.Request]:
        # The query check goes along until the engine has accepted the query once.
        return query.requests(self.rule, window, queries, check=not self._query_checked)

    def _split_overlap(self, plan: "Plan") -> None:
        """The window's hits searches ask only for what is new (``overlap``)."""
        assert plan.status is not None and plan.result.window is not None
        plan.splits = overlap.plan(self.rule, plan.result.window, plan.status.last_end, plan.queries, plan.requests)

    def _late(self, plan: "Plan", n: int) -> list[Event]:
        """The documents of the overlap buckets whose count changed since they were
        evaluated (indexed late, mostly), fetched now; usually none."""
        assert plan.status is not None and plan.backend is not None
        at, s = plan.splits[n]
        answer, plan.answers[at] = plan.answers[at], None
        hits = overlap.late_hits(self.rule, s, answer, plan.status.seen, plan.backend, plan.requests[at].index)
        return self._events(hits, plan.result)

    def _answers(self, plan: "Plan") -> tuple[list[Any], list[Event]]:
        """The rule type's answers from the engine's; hits beyond one page are fetched here.
        Each engine answer is let go once read (the events keep the documents)."""
        rule, status = self.rule, plan.status
        assert status is not None and plan.backend is not None
        answers: list[Any] = []
        new_events: list[Event] = []
        window_events: list[Event] = []  # for a read-back asking only for the time before the window
        queries = iter(plan.queries)
        counts_at = {at for at, _ in plan.splits.values()}
        for n, request in enumerate(plan.requests):
            if n in counts_at:
                continue  # read with the hits search it belongs to
            answer = plan.answers[n]
            q = None if request.kind == "check" else next(queries)
            if isinstance(answer, EngineError):
                if q is None:
                    raise EngineError(f"{rule.where('filter')}: filter: the engine rejects this query",
                                      reason=answer.reason or str(answer))
                raise refusal(rule, q, answer)
            if q is None:
                self._query_checked = True
            elif request.kind == "count":
                if answer.total is None:
                    raise EngineError(f"{rule.where('index')}: the engine answered a count without a total")
                answers.append(answer.total)
            elif request.kind == "aggs":
                answers.append(answer.aggregations)
            else:
                answer = None  # _hits takes the page over
                events = self._events(self._hits(plan, n), plan.result)
                if n in plan.splits:
                    events = self._late(plan, n) + events
                if request.plus_window:
                    events += window_events
                elif q.start is None and q.end is None:
                    window_events = events
                # Earlier runs ended at last_end: what is younger cannot have been seen.
                seen, young = status.seen, status.last_end
                fresh = [e for e in events if (young is not None and e.timestamp >= young)
                         or not seen.has(f"{e.index}/{e.id}", e.timestamp.timestamp())]
                new_events.extend(fresh)
                # A type rebuilding its memory after a restart also needs what earlier runs saw.
                answers.append(events if q.seen_too else fresh)
            plan.answers[n] = None
        return answers, new_events

    def _run_window(self, plan: "Plan") -> None:
        """The steps in crash-safe order: alerts reach the outbox before the silences that
        follow from them; sending comes last. Every alert id is derived from its match, so
        re-evaluating a window after a crash finds the outbox records instead of re-sending."""
        rule, result, status, now = self.rule, plan.result, plan.status, self.clock()
        window = result.window
        assert window is not None and status is not None
        results, events = self._answers(plan)
        plan.evaluated = True
        result.matches = self.ruletype.evaluate(window, results)
        selected, silences = realert.select(rule, result.matches, self.state)
        describe = self.ruletype.describe
        closed: list[str] = []
        if digest.enabled(rule):
            digest.collect(rule, selected, self.state, now)
            horizon = now if plan.send else dt.datetime.max.replace(tzinfo=dt.timezone.utc)
            for bucket in self.state.due_aggregations(rule.name, horizon):
                subject, body, matches = digest.digest(rule, bucket, describe)
                alert_id = Match(bucket.created, {}, key=(bucket.key,)).identity(rule.name + "/aggregation")
                result.alerts.append(Alert(alert_id, rule, tuple(matches), subject, body))
                closed.append(bucket.key)
        else:
            for match in selected:
                text = render.render(rule, [match], describe(match))
                result.alerts.append(Alert(match.identity(rule.name), rule, (match,), text.subject, text.body))
        resolving = [a for a in self.alerters if resolve.sends_resolved(a)]
        if resolving:
            resolved, renewed = self._track_firing(status, result, window)
        if plan.send:
            delivery.enqueue(result.alerts, self.alerters, self.state, now=now)
            if resolving:
                delivery.enqueue(resolved, resolving, self.state, now=now)
                if resolved:
                    failpoints.hit("resolve_enqueued")  # decided and in the outbox, not yet saved or sent
        failpoints.hit("after_enqueue")
        if resolving:
            # A new match after a resolution is a new incident: it must not wait out the
            # realert silence of the one that just ended.
            cleared = {realert.key_text(a.matches[0]) for a in resolved}
            silences = [s for s in silences if s.key not in cleared]
            for key in cleared:
                old = self.state.get_silence(rule.realert_key, key)
                if old is not None and old.reason == "realert":
                    self.state.remove_silence(rule.realert_key, key)
        self.state.put_silences(silences)
        for key in closed:
            self.state.delete_aggregation(rule.name, key)
        # Remember what this window evaluated so the next window's overlap skips it.
        horizon_ts = (window.end - rule.buffer_time - rule.run_every).timestamp()
        status.seen.forget_before(horizon_ts)
        status.seen.update([(f"{e.index}/{e.id}", t) for e in events if (t := e.timestamp.timestamp()) >= horizon_ts])
        if not plan.explicit or plan.send:
            status.last_end = max(window.end, status.last_end) if status.last_end else window.end
        status.last_run = now
        status.hits, status.matches, status.alerts = result.hits, len(result.matches), len(result.alerts)
        status.duration, status.error = time.monotonic() - plan.started, None
        self.state.save_status(status)
        del results, events  # a slow notifier must not keep this run's documents in memory
        failpoints.hit("before_send")
        if plan.send:
            recorder = delivery.Recorder(self.state)
            try:
                for alert in result.alerts:
                    result.delivered[alert.id] = delivery.deliver(
                        alert, self.alerters, self.state, policy=self.policy, now=now, record=recorder)
                if resolving:
                    for alert in resolved:
                        result.delivered[alert.id] = delivery.deliver(
                            alert, resolving, self.state, policy=self.policy, now=now, record=recorder)
            finally:
                recorder.flush()
            if resolving:
                self._renew(status, renewed, result)

    def _track_firing(self, status: RuleStatus, result: RunResult, window: Window) -> tuple[list[Alert], list[str]]:
        """Keys firing and resolving (send_resolved); resolutions of manually silenced keys
        are decided but not sent."""
        resolutions, renewed = resolve.track(self.rule, status, result.matches, window)
        whole = self.state.get_silence(self.rule.name, realert.ALL_KEYS, at=window.end)
        alerts = []
        for resolution in resolutions:
            silence = whole or self.state.get_silence(self.rule.name, resolution.key, at=window.end)
            if silence is not None and silence.reason != "realert" and window.end < silence.until:
                log.info("rule %r: %s resolved while silenced; not notified", self.rule.name, resolution.key or "alert")
                continue
            alerts.append(resolve.alert(self.rule, resolution, window.end))
        metrics.set_gauge("logalert_alerts_firing", len(status.firing), rule=self.rule.name)
        return alerts, renewed

    def _renew(self, status: RuleStatus, renewed: list[str], result: RunResult) -> None:
        """Tell notifiers that expect to hear from a firing alert (Alertmanager forgets one
        not re-posted) that it still fires: best effort, not through the outbox, since the
        next run renews again."""
        alerted = {realert.key_text(m) for a in result.alerts for m in a.matches[:1]}
        renewing = [a for a in self.alerters if getattr(a, "renews", False) and resolve.sends_resolved(a)]
        for key in renewed:
            if key in alerted or key not in status.firing or not renewing:
                continue
            entry = status.firing[key]
            match = Match.from_record(entry["match"])
            text = render.render(self.rule, [match], self.ruletype.describe(match))
            alert = Alert(match.identity(self.rule.name), self.rule, (match,), text.subject, text.body,
                          since=parse_iso(entry["since"]))
            for alerter in renewing:
                try:
                    alerter.send(alert)
                except Exception as exc:  # noqa: BLE001 - the next run renews again
                    log.warning("rule %r: renewing firing alert %s via %s failed: %s", self.rule.name, key,
                                alerter.describe(), exc)

    def _hits(self, plan: "Plan", n: int) -> Sequence[Hit]:
        """Every hit of the "hits" search at position ``n``: its answer when the page holds
        them all; otherwise searched again whole, in pages of max_query_size, the page in
        hand let go first (answer None: not searched yet)."""
        assert plan.backend is not None
        request, answer, plan.answers[n] = plan.requests[n], plan.answers[n], None
        if answer is not None and len(answer.hits) < request.size:
            return answer.hits
        paged = answer is not None and request.size >= self.rule.max_query_size  # more than a page
        answer = None  # let the page go before searching again
        return list(plan.backend.search_all(request.index, request.body, self.rule.max_query_size, paged=paged))

    def _events(self, hits: Sequence[Hit], result: RunResult) -> list[Event]:
        rule = self.rule
        events = []
        for hit in hits:
            result.hits += 1
            raw = lookup(hit.source, rule.timestamp_field)
            moment = rule.doc_time(raw)
            if moment is None:
                log.warning("rule %r: document %s/%s has no readable %s (%r); skipped",
                            rule.name, hit.index, hit.id, rule.timestamp_field, raw)
                continue
            events.append(Event(moment, hit.source, hit.index, hit.id))
        return events

    def _retry_pending(self) -> None:
        by_name = {a.name: a for a in self.alerters}
        limit = self.rule.span("alert_time_limit")
        delivery.retry_pending(self.rule.name, by_name, self.state, time_limit=limit, now=self.clock(), rule=self.rule)


@dataclass
class Plan:
    """One rule's run between deciding what to ask and hearing the answers."""

    runner: RuleRunner
    result: RunResult
    send: bool = True
    explicit: bool = False
    started: float = field(default_factory=time.monotonic)
    status: RuleStatus | None = None
    backend: Backend | None = None
    queries: list[Query] = field(default_factory=list)
    requests: list[batch.Request] = field(default_factory=list)
    # The engine's answer to each request; None once read, or while a search whose first
    # page came back full waits to be sent again whole.
    answers: list[batch.Answer | None] = field(default_factory=list)
    evaluated: bool = False
    # The window's hits search at position n asks only for its part after the overlap;
    # n -> (position of the overlap's counts search, how the window was split).
    splits: dict[int, tuple[int, overlap.Split]] = field(default_factory=dict)

    def full_pages(self) -> dict[int, int]:
        """The hits searches whose page came back full (the rule has more hits than that):
        request position -> hits the engine counted."""
        return {n: answer.total or request.size for n, (request, answer) in enumerate(zip(self.requests, self.answers))
                if request.kind == "hits" and isinstance(answer, SearchResult) and len(answer.hits) >= request.size}
