"""Search bodies from a rule: its filters (normalised by ``logalert.rules.filters``),
the window's time range, the indices."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from logalert.model import Query, Window
from logalert.rules.filters import normalise_filter
from logalert.rules.model import Rule

# Hits per search in a tick's batched round. A rule with more sends the search again
# whole (pages of max_query_size) with a few other such rules; small first pages keep a
# round of many rules' answers small, and most runs have fewer hits than this.
FIRST_PAGE = 200


def time_range(rule: Rule, start: dt.datetime, end: dt.datetime) -> dict[str, Any]:
    """``[start, end)`` on the rule's timestamp field in its timestamp_type."""
    fmt = {"gte": rule.query_time(start), "lt": rule.query_time(end)}
    if rule.timestamp_type == "iso":
        fmt["format"] = "strict_date_optional_time"
    return {"range": {rule.timestamp_field: fmt}}


def query_clause(rule: Rule, window: Window | None) -> dict[str, Any]:
    """The rule's filters plus the window as one bool filter (no scoring needed)."""
    clauses = [normalise_filter(f) for f in rule.filters]
    if window is not None:
        clauses.append(time_range(rule, window.start, window.end))
    return {"bool": {"filter": clauses}} if clauses else {"match_all": {}}


def hits_body(rule: Rule, window: Window, size: int) -> dict[str, Any]:
    """Documents in time order; ``include`` limits the fields fetched."""
    body: dict[str, Any] = {
        "query": query_clause(rule, window),
        # unmapped_type: a fresh daily index without the field yet must not fail the search
        "sort": [{rule.timestamp_field: {"order": "asc", "unmapped_type": "date" if rule.timestamp_type == "iso" else "long"}}],
        "size": size,
        "track_total_hits": True,
    }
    include = rule.get("include")
    if include:
        fields = list(dict.fromkeys(list(include) + [rule.timestamp_field] + list(rule.query_key)))
        body["_source"] = {"includes": fields}
    extra = rule.get("include_fields")
    if extra:
        # The search's fields parameter (runtime, script and doc-value fields); each hit
        # answers them under "fields", merged below its _source (logalert.engine.results).
        body["fields"] = list(extra)
    return body


def count_body(rule: Rule, window: Window) -> dict[str, Any]:
    return {"query": query_clause(rule, window)}


@dataclass(frozen=True)
class Request:
    """One search of a rule run, ready for ``_msearch``. ``kind`` says how its answer is
    read: "hits" (the documents), "count" (``total``), "aggs" (``aggregations``) or
    "check" (only whether the engine accepts the query). ``plus_window`` (hits): the
    query's answer also takes every document of the run's window, which the run's own
    search of the window fetches; this search covers only the time before the window."""

    kind: str
    index: str
    body: Mapping[str, Any]
    plus_window: bool = False

    @property
    def size(self) -> int:
        """Hits asked for (the engine's default is 10)."""
        return int(self.body.get("size", 10))

    def resized(self, size: int) -> "Request":
        """The same search asking for ``size`` hits."""
        return Request(self.kind, self.index, {**self.body, "size": size}, self.plus_window)


def check_request(rule: Rule, index: str) -> Request:
    """The rule's filters without a time range, stopped at the first document. A search
    whose time range misses a shard's data never parses the query, so a broken
    query_string would stay silent until logs arrive; this one always parses it."""
    return Request("check", index, {"query": query_clause(rule, None), "size": 0, "terminate_after": 1,
                                    "track_total_hits": False})


def request(rule: Rule, window: Window, q: Query, *, index: str | None = None) -> Request:
    """The search for one of a rule type's queries: the rule's filters over the query's
    own time range (default: the run's window). ``index`` is the window's index
    expression when the caller has it already."""
    span = Window(q.start or window.start, q.end or window.end)
    span_index = index if index is not None and span == window else indices(rule, span)
    if q.kind == "count":
        body: dict[str, Any] = {"query": query_clause(rule, span), "size": 0, "track_total_hits": True}
    elif q.kind == "aggs":
        body = {"query": query_clause(rule, span), "size": 0, "aggs": dict(q.aggs or {})}
    else:
        body = hits_body(rule, span, min(FIRST_PAGE, rule.max_query_size))
    return Request(q.kind, span_index, body)


def requests(rule: Rule, window: Window, queries: Sequence[Query], *, check: bool) -> list[Request]:
    """Every search of one run, in the order of ``queries``; with ``check``, the query
    check first. A query for every document up to the window's end (a fresh rule type
    reading back history) that follows the search of the window's new documents asks
    only for the time before the window: the window's documents come from that search,
    fetched once."""
    index = indices(rule, window)
    out = [check_request(rule, index)] if check else []
    has_window = False
    for q in queries:
        if (q.kind == "hits" and q.seen_too and has_window and q.start is not None and q.start < window.start
                and q.end in (None, window.end)):
            before = request(rule, window, Query("hits", start=q.start, end=window.start))
            out.append(Request(before.kind, before.index, before.body, plus_window=True))
        else:
            out.append(request(rule, window, q, index=index))
        has_window = has_window or (q.kind == "hits" and q.start is None and q.end is None and not q.seen_too)
    return out


def indices(rule: Rule, window: Window) -> str:
    """The index expression for the window: strftime patterns expand to the names the
    window touches (UTC), so a one-hour window never searches a month of indices."""
    index = rule.index
    if not rule.get("use_strftime_index"):
        return index
    start = window.start
    if rule.get("search_extra_index"):
        start = previous_period(index, start)
    return ",".join(expand_strftime(index, start, window.end))


def previous_period(pattern: str, moment: dt.datetime) -> dt.datetime:
    """A moment in the index period before ``moment``'s (search_extra_index): documents
    whose timestamp_field is not what named their index may sit in the index before
    the window's. The period is the pattern's own (a minute, hour, day, week, month or
    year), found by stepping back until the name changes (UTC, as index names are)."""
    moment = moment.astimezone(dt.timezone.utc)
    names = [p.strip() for p in pattern.split(",")]
    here = [moment.strftime(p) for p in names]
    step = dt.timedelta(minutes=1) if "%M" in pattern else dt.timedelta(hours=1)
    earlier = moment
    for _ in range(24 * 370):
        earlier -= step
        if [earlier.strftime(p) for p in names] != here:
            return earlier
        if step < dt.timedelta(hours=1) and moment - earlier >= dt.timedelta(hours=2):
            step = dt.timedelta(hours=1)
    return earlier


def expand_strftime(pattern: str, start: dt.datetime, end: dt.datetime, limit: int = 500) -> list[str]:
    start, end = start.astimezone(dt.timezone.utc), end.astimezone(dt.timezone.utc)
    parts = [p.strip() for p in pattern.split(",")]
    step = dt.timedelta(minutes=1) if "%M" in pattern else dt.timedelta(hours=1)
    names: list[str] = []
    seen: set[str] = set()
    moment = start.replace(second=0, microsecond=0)
    if step == dt.timedelta(hours=1):
        moment = moment.replace(minute=0)
    end_inclusive = end - dt.timedelta(microseconds=1)
    steps = 0
    while True:
        point = min(moment, end_inclusive)
        for part in parts:
            name = point.strftime(part)
            if name not in seen:
                seen.add(name)
                names.append(name)
        if moment >= end_inclusive:
            break
        moment += step
        steps += 1
        if steps > limit * 24 * 60:
            break
    if len(names) > limit:
        # A very long window (catch-up after weeks) falls back to wildcards.
        return [_wildcard(p) for p in parts]
    return names


def _wildcard(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "%" and i + 1 < len(pattern):
            if not out or out[-1] != "*":
                out.append("*")
            i += 2
        else:
            out.append(pattern[i])
            i += 1
    return "".join(out)
