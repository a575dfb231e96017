"""Sending many rules' searches to the engine in few requests.

Every search of a tick (first pages of hits, counts, aggregations, query checks) goes
into ``_msearch`` batches per engine connection. A failed sub-search is returned as
its own EngineError, so one rule's bad query never fails the others.
"""

from __future__ import annotations

from typing import Sequence

from logalert.engine.base import Backend
from logalert.engine.query import Request
from logalert.engine.results import SearchResult
from logalert.errors import EngineError

__all__ = ["MSEARCH_BATCH", "Answer", "Request", "execute"]

MSEARCH_BATCH = 100  # sub-searches per request: bounded memory per answer

Answer = SearchResult | EngineError


def execute(jobs: Sequence[tuple[Backend, Sequence[Request]]]) -> list[list[Answer]]:
    """Answers for each job's requests, in order. An unreachable engine fails every job
    that uses it (each gets the error); other engines' jobs are unaffected."""
    results: list[list[Answer]] = [[] for _ in jobs]
    by_backend: dict[int, list[tuple[int, int, Request]]] = {}
    backends: dict[int, Backend] = {}
    for job_no, (backend, requests) in enumerate(jobs):
        results[job_no] = [EngineError("not answered")] * len(requests)
        backends[id(backend)] = backend
        for req_no, request in enumerate(requests):
            by_backend.setdefault(id(backend), []).append((job_no, req_no, request))
    for key, items in by_backend.items():
        backend = backends[key]
        for start in range(0, len(items), MSEARCH_BATCH):
            chunk = items[start:start + MSEARCH_BATCH]
            try:
                answers: list[Answer] = list(backend.msearch([(r.index, r.body) for _, _, r in chunk]))
            except EngineError as exc:
                answers = [exc] * len(chunk)
            if len(answers) != len(chunk):
                answers = [EngineError("the engine answered a different number of searches")] * len(chunk)
            for (job_no, req_no, _), answer in zip(chunk, answers):
                results[job_no][req_no] = answer
    return results
