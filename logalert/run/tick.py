"""Many rules at one tick: plan, batched _msearch rounds, finish each in a bounded pool.

Rules due together share requests: a tick of N rules costs one _msearch per round (at
most CHUNK rules) plus one per ROUND_HITS documents beyond the first pages, and one _bulk
of statuses, instead of several requests per rule.

Memory is bounded by documents, not by rules: a round asks for the first pages
(query.FIRST_PAGE hits per search) of rules whose pages add up to at most ROUND_HITS;
the rules whose pages hold all their hits finish and let go of them; the others send
those searches again whole, in groups whose hits (as the engine counted them) add up to
at most ROUND_HITS, one group at a time. A single rule with more hits than that is a
group of its own: rule types get all of a run's events at once.
"""

from __future__ import annotations

import logging
from concurrent.futures import Executor
from typing import Callable, Iterator, Sequence

from logalert.engine import batch
from logalert.errors import EngineError
from logalert.model import Window
from logalert.rules.model import Rule
from logalert.run import malloc
from logalert.run.runner import Plan, RuleRunner, RunResult
from logalert.state.base import StateStore

log = logging.getLogger(__name__)

CHUNK = batch.MSEARCH_BATCH // 2  # rules per round of searches (a rule may ask for 2+ searches)
ROUND_HITS = 5_000  # hits asked for in one round (first pages), or held by one group sent again whole


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
            for plans in _rounds(runners, window_for, send):
                results.extend(_round(plans, executor))
    except EngineError as exc:
        # Statuses not written to the index (this process goes on from its memory): a
        # restart before the next successful write re-evaluates these windows, and the
        # outbox keeps that from repeating alerts.
        log.error("writing rule statuses failed: %s", exc)
    malloc.release()
    return results


def _rounds(runners: Sequence[RuleRunner], window_for: Callable[[Rule], Window | None] | None,
            send: bool) -> Iterator[list[Plan]]:
    """The runners' plans, in groups of at most CHUNK rules whose searches ask for at most
    ROUND_HITS hits together (a rule asking for more goes alone)."""
    plans: list[Plan] = []
    wanted = 0
    for runner in runners:
        try:
            plan = runner.plan(window_for(runner.rule) if window_for else None, send=send)
        except Exception:  # noqa: BLE001
            log.exception("rule %r: planning crashed", runner.rule.name)
            continue
        size = sum(r.size for r in plan.requests)
        if plans and (len(plans) >= CHUNK or wanted + size > ROUND_HITS):
            yield plans
            plans, wanted = [], 0
        plans.append(plan)
        wanted += size
    if plans:
        yield plans


def _round(plans: list[Plan], executor: Executor) -> list[RunResult]:
    """One round: the plans' searches with first pages; the rules whose pages hold all
    their hits finish; then the others, group by group, with their searches sent again whole."""
    ready = [p for p in plans if p.result.error is None and p.requests]
    _fetch(ready, [list(range(len(p.requests))) for p in ready])
    more = {id(p): p.full_pages() for p in ready}
    for plan in ready:  # a full first page is not all of the rule's hits: let it go now
        for n in more[id(plan)]:
            plan.answers[n] = None
    results = _finish_all([p for p in plans if not more.get(id(p))], executor)
    for group in _groups([p for p in ready if more[id(p)]], more):
        for plan in group:
            for n in more[id(plan)]:
                plan.requests[n] = plan.requests[n].resized(plan.runner.rule.max_query_size)
        _fetch(group, [list(more[id(p)]) for p in group])
        results.update(_finish_all(group, executor))
    return [results[id(p)] for p in plans]


def _groups(plans: list[Plan], more: dict[int, dict[int, int]]) -> list[list[Plan]]:
    """``plans`` in few groups whose hits (as the engine counted them) add up to at most
    ROUND_HITS (first fit, largest first); a rule with more is a group of its own."""
    groups: list[list[Plan]] = []
    held: list[int] = []
    for plan in sorted(plans, key=lambda p: -sum(more[id(p)].values())):
        hits = sum(more[id(plan)].values())
        i = next((i for i, h in enumerate(held) if h + hits <= ROUND_HITS), len(groups))
        if i == len(groups):
            groups.append([])
            held.append(0)
        groups[i].append(plan)
        held[i] += hits
    return groups


def _fetch(plans: list[Plan], positions: list[list[int]]) -> None:
    """Send the requests at ``positions`` of each plan in shared _msearch requests."""
    jobs = [(p.backend, [p.requests[n] for n in ns]) for p, ns in zip(plans, positions)]
    for plan, ns, answers in zip(plans, positions, batch.execute(jobs)):  # type: ignore[arg-type]
        if not plan.answers:
            plan.answers = [None] * len(plan.requests)
        for n, answer in zip(ns, answers):
            plan.answers[n] = answer


def _finish_all(plans: list[Plan], executor: Executor) -> dict[int, RunResult]:
    """Finish ``plans`` in the pool; each lets go of its documents as soon as it is done."""
    futures = [executor.submit(_finish, plan) for plan in plans]
    results: dict[int, RunResult] = {}
    for plan, future in zip(plans, futures):
        try:
            results[id(plan)] = future.result()
        except Exception:  # noqa: BLE001 - a bug in one rule must not stop the tick
            log.exception("rule %r: run crashed", plan.runner.rule.name)
            results[id(plan)] = plan.result.lighten()
    return results


def _finish(plan: Plan) -> RunResult:
    try:
        return plan.runner.finish(plan).lighten()
    finally:
        plan.answers = []
