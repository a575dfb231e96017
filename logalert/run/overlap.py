"""Reading a run's window without fetching again what earlier runs evaluated.

A window starts buffer_time before the last run's end, so that documents indexed late
are still found. Fetching that whole overlap again every run (and skipping the ids
already seen) costs buffer_time / run_every times the documents actually new: 15x at
the defaults, in bytes from the engine and in parse CPU. Instead a steady run asks:

- every document from ``cut`` on, where ``cut`` is LATE_MARGIN before the last end
  (documents a refresh interval or a log shipper's flush late land here, the common
  case, and cost nothing extra);
- for the overlap before ``cut``: only how many documents each time bucket holds now
  (a size-0 histogram). A bucket holding as many as the run's seen ids say were
  evaluated there has nothing new; a bucket whose count differs (a document indexed
  late, or one deleted) is fetched again whole, and its seen ids skipped. The seen ids
  are filed by whole seconds (``state.seen``), so the counted part runs from the
  window's first whole second to ``cut`` (a whole second too); the fraction of a second
  before it is fetched with the new documents.

So a late document inside buffer_time is still found, once; nothing evaluated is
fetched again unless its bucket changed. A document deleted from a bucket in the same
run as another arrives late in that very bucket would hide the late one; log indices
are appended to, not edited, within buffer_time.

Used only when the seen ids describe the overlap: the rule ran before, its timestamps
are dates or epoch numbers the engine can bucket, and no query of this run reads
history back (a fresh rule type instance wants every document anyway).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from logalert import metrics
from logalert.engine import Backend, Hit, query
from logalert.errors import EngineError
from logalert.model import Query, Window
from logalert.rules.model import Rule
from logalert.ruletypes.common import NUMERIC_TIME, histogram_agg
from logalert.state.seen import SeenIds

LATE_MARGIN = dt.timedelta(seconds=10)  # fetched again every run: refresh + shipper flush
MAX_BUCKETS = 120  # of the overlap's histogram: a late document costs one bucket's documents
MIN_STEP = dt.timedelta(seconds=5)
UTC = dt.timezone.utc


@dataclass(frozen=True)
class Split:
    """A window read as: full documents in [start, lo) and [cut, end); counts per bucket
    in [lo, cut). ``lo`` and ``cut`` are whole seconds, as the seen ids are filed."""

    window: Window
    lo: dt.datetime
    cut: dt.datetime
    step: dt.timedelta

    @property
    def step_s(self) -> int:
        return int(self.step.total_seconds())


def _second(moment: dt.datetime, up: bool = False) -> dt.datetime:
    floor = moment.replace(microsecond=0)
    return floor + dt.timedelta(seconds=1) if up and floor < moment else floor


def split(rule: Rule, window: Window, last_end: dt.datetime | None) -> Split | None:
    """How to read ``window`` after a run that ended at ``last_end``; None: read it whole."""
    if last_end is None or rule.timestamp_type not in ("iso", *NUMERIC_TIME):
        return None
    lo = _second(window.start, up=True)
    cut = max(lo, _second(min(last_end, window.end) - LATE_MARGIN))
    overlap = cut - lo
    if overlap < 2 * MIN_STEP:
        return None
    seconds = max(MIN_STEP.total_seconds(), math.ceil(overlap.total_seconds() / MAX_BUCKETS))
    return Split(window, lo, cut, dt.timedelta(seconds=seconds))


def plan(rule: Rule, window: Window, last_end: dt.datetime | None, queries: list[Query],
         requests: list[query.Request]) -> dict[int, tuple[int, Split]]:
    """Rewrite the window's hits searches in ``requests`` (in place) to ask for the new
    part only, each with a counts search appended: position of the hits search -> (that
    of its counts search, the split). Nothing when the window is read whole."""
    if any(q.seen_too for q in queries):
        return {}  # a rule type reading history back wants every document
    s = split(rule, window, last_end)
    if s is None:
        return {}
    out = {}
    offset = len(requests) - len(queries)  # the query check goes first
    for i, q in enumerate(queries):
        if q.kind == "hits" and q.start is None and q.end is None:
            out[offset + i] = (len(requests), s)
            requests[offset + i] = fresh_request(rule, s)
            requests.append(counts_request(rule, s))
    return out


def late_hits(rule: Rule, s: Split, answer: Any, seen: SeenIds, backend: Backend, index: str) -> Iterable[Hit]:
    """The documents of the overlap's buckets whose count changed since they were
    evaluated (indexed late, mostly): usually none, so usually no search."""
    if isinstance(answer, EngineError):
        raise EngineError(f"{rule.where('filter')}: filter: the engine refused counting the window's overlap",
                          reason=answer.reason or str(answer))
    buckets = changed_buckets(rule, s, answer.aggregations, seen)
    if not buckets:
        return ()
    metrics.inc("logalert_overlap_refetch_total", len(buckets), rule=rule.name)
    return backend.search_all(index, refetch_body(rule, s, buckets, rule.max_query_size), rule.max_query_size)


def fresh_request(rule: Rule, s: Split) -> query.Request:
    """Every document of the window outside the counted overlap (first page; more are paged)."""
    body = query.hits_body(rule, s.window, min(query.FIRST_PAGE, rule.max_query_size))
    spans = [query.time_range(rule, s.cut, s.window.end)]
    if s.window.start < s.lo:
        spans.insert(0, query.time_range(rule, s.window.start, s.lo))
    body["query"] = _within(rule, spans)
    return query.Request("hits", query.indices(rule, s.window), body)


def counts_request(rule: Rule, s: Split) -> query.Request:
    """Documents per bucket of the overlap (no documents)."""
    span = Window(s.lo, s.cut)
    body = {"query": query.query_clause(rule, span), "size": 0, "track_total_hits": False,
            "aggs": {"t": histogram_agg(rule, s.step)}}
    return query.Request("aggs", query.indices(rule, span), body)


def changed_buckets(rule: Rule, s: Split, aggregations: Mapping[str, Any], seen: SeenIds) -> list[int]:
    """Start (epoch seconds) of each bucket whose engine count differs from the seen ids in it."""
    size = s.step_s
    evaluated: dict[int, int] = {}
    for second, n in seen.counts(int(s.lo.timestamp()), int(s.cut.timestamp())).items():
        b = second // size * size
        evaluated[b] = evaluated.get(b, 0) + n
    engine: dict[int, int] = {}
    per_second = 1000 // NUMERIC_TIME.get(rule.timestamp_type, 1)  # bucket keys: ms, or the field's unit
    for bucket in (aggregations.get("t") or {}).get("buckets", []):
        engine[int(bucket["key"]) // per_second] = int(bucket.get("doc_count") or 0)
    return sorted(b for b in engine.keys() | evaluated.keys() if engine.get(b, 0) != evaluated.get(b, 0))


def refetch_body(rule: Rule, s: Split, buckets: list[int], size: int) -> dict[str, Any]:
    """Every document of ``buckets`` (clipped to the overlap), in time order."""
    spans = []
    for b in buckets:
        start = dt.datetime.fromtimestamp(b, UTC)
        spans.append(query.time_range(rule, max(start, s.lo), min(start + s.step, s.cut)))
    body = query.hits_body(rule, s.window, size)
    body["query"] = _within(rule, spans)
    return body


def _within(rule: Rule, spans: list[dict[str, Any]]) -> dict[str, Any]:
    """The rule's filters, and the timestamp in one of ``spans``."""
    return {"bool": {"filter": [query.query_clause(rule, None),
                                {"bool": {"should": spans, "minimum_should_match": 1}}]}}
