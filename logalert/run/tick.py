"""Many rules at one tick: plan all, one round of _msearch, finish each in a bounded pool.

Rules due together share requests: for N rules a tick costs about N/100 searches and
one _bulk of statuses, instead of several requests per rule.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from typing import Callable, Sequence

from logalert.engine import batch
from logalert.errors import EngineError
from logalert.model import Window
from logalert.rules.model import Rule
from logalert.run.runner import Plan, RuleRunner, RunResult
from logalert.state.base import StateStore

log = logging.getLogger(__name__)

CHUNK = batch.MSEARCH_BATCH // 2  # rules per round of searches (a rule may ask for 2+ searches)


def run_tick(runners: Sequence[RuleRunner], state: StateStore, executor: Executor, *,
             window_for: Callable[[Rule], Window | None] | None = None, send: bool = True) -> list[RunResult]:
    """Run ``runners`` once; every failure is confined to its rule and logged."""
    if not runners:
        return []
    try:
        state.preload_status([r.rule.name for r in runners])
    except EngineError as exc:
        log.debug("preloading rule statuses failed (each rule will retry): %s", exc)
    results: list[RunResult] = []
    try:
        with state.deferred_status():
            # Rules go in chunks: one chunk's answers (up to max_query_size hits per rule)
            # are in memory at a time, not the whole tick's.
            for start in range(0, len(runners), CHUNK):
                results.extend(_chunk(runners[start:start + CHUNK], executor, window_for, send))
    except EngineError as exc:
        # Statuses not written to the index (this process goes on from its memory): a
        # restart before the next successful write re-evaluates these windows, and the
        # outbox keeps that from repeating alerts.
        log.error("writing rule statuses failed: %s", exc)
    return results


def _chunk(runners: Sequence[RuleRunner], executor: Executor,
           window_for: Callable[[Rule], Window | None] | None, send: bool) -> list[RunResult]:
    plans: list[Plan] = []
    for runner in runners:
        try:
            plans.append(runner.plan(window_for(runner.rule) if window_for else None, send=send))
        except Exception:  # noqa: BLE001
            log.exception("rule %r: planning crashed", runner.rule.name)
    ready = [p for p in plans if p.result.error is None and p.requests]
    answers = batch.execute([(p.backend, p.requests) for p in ready])  # type: ignore[misc]
    for plan, answer in zip(ready, answers):
        plan.answers = answer
    results = []
    futures = [executor.submit(_finish, plan) for plan in plans]
    for plan, future in zip(plans, futures):
        try:
            results.append(future.result().lighten())
        except Exception:  # noqa: BLE001 - a bug in one rule must not stop the tick
            log.exception("rule %r: run crashed", plan.runner.rule.name)
            results.append(plan.result.lighten())
        plan.answers = []
    return results


def _finish(plan: Plan) -> RunResult:
    return plan.runner.finish(plan)
