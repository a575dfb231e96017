"""What ``test-rule`` shows besides the run itself, so a user can tell which logs matched:

- the offline query lint of the rule's filter (``logalert.rules.lint``), a line each;
- a warning when the index pattern matches no index, alias or data stream;
- hits over the window as a one-line sparkline (a date_histogram the engine computes);
- the first documents the filter selects, as a table: the timestamp, the fields the rule
  uses (query_key, compare_key, include, fields in filters) and ``message`` shortened.

``gather`` puts it all in the report (``--format json`` prints that as is); ``render``
turns it into text lines.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from logalert.engine import query
from logalert.errors import Problem
from logalert.fields import lookup
from logalert.model import Window
from logalert.rules import Rule
from logalert.rules.engine_check import EngineCheck
from logalert.rules.fields_used import rule_fields, source_field
from logalert.ruletypes.common import bucket_start, histogram_agg
from logalert.timeutil import iso

if TYPE_CHECKING:
    from logalert.engine import Backend

MINUTE, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)
STEPS = [MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, HOUR, 2 * HOUR, 3 * HOUR,
         6 * HOUR, 12 * HOUR, DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 90 * DAY, 365 * DAY]
MAX_BUCKETS = 60
BLOCKS = "▁▂▃▄▅▆▇█"  # the lowest for an empty bucket: any hit shows
MAX_COLUMNS = 6  # besides the timestamp and message
CELL, MESSAGE = 32, 60  # widest cell, widest message


def lint_problems(rule: Rule) -> list[Problem]:
    """The query lint of the rule's file and of the file its filter came from."""
    from logalert.rules import lint  # the query parser loads only when needed

    files = [rule.file] + ([rule.positions["filter"][0]] if "filter" in rule.positions else [])
    return [problem for path in dict.fromkeys(files) for problem in lint.lint_file(path)]


def gather(report: dict[str, Any], backend: Backend, rule: Rule, window: Window, docs: int) -> None:
    """Histogram and documents into ``report`` (each request once)."""
    report["histogram"] = histogram(backend, rule, window)
    if docs > 0:
        report["documents"] = documents(backend, rule, window, docs)


def index_warnings(backend: Backend, rule: Rule) -> list[str]:
    return [str(p) for p in EngineCheck(backend).index_problems(rule, fatal=False)]


def histogram(backend: Backend, rule: Rule, window: Window) -> dict[str, Any]:
    """Hits per step over the window, empty steps included; at most MAX_BUCKETS steps."""
    span = window.end - window.start
    step = next((s for s in STEPS if span / s <= MAX_BUCKETS), STEPS[-1])
    body = {"query": query.query_clause(rule, window), "size": 0, "track_total_hits": True,
            "aggs": {"h": histogram_agg(rule, step)}}
    result = backend.search(query.indices(rule, window), body)
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    first = epoch + ((window.start - epoch) // step) * step  # buckets are aligned on the epoch
    counts = [0] * max(1, -(-(window.end - first) // step))
    for bucket in (result.aggregations.get("h") or {}).get("buckets") or ():
        i = (bucket_start(rule, bucket["key"]) - first) // step
        if 0 <= i < len(counts):
            counts[i] += int(bucket.get("doc_count") or 0)
    return {"interval": _span_text(step), "start": iso(first), "counts": counts, "total": result.total}


def columns(rule: Rule) -> list[str]:
    """The fields shown for each document: the rule's own, then ``message``."""
    names = [source_field(u.field) for u in rule_fields(rule) if u.option != "timestamp_field"]
    names = [n for n in dict.fromkeys(names) if n not in (rule.timestamp_field, "message")][:MAX_COLUMNS]
    return [rule.timestamp_field] + names + ["message"]


def documents(backend: Backend, rule: Rule, window: Window, size: int) -> dict[str, Any]:
    """The first ``size`` documents of the window the filter selects, oldest first."""
    shown = columns(rule)
    body = query.hits_body(rule, window, size)
    body["_source"] = {"includes": shown}
    result = backend.search(query.indices(rule, window), body)
    rows = [{name: lookup(hit.source, name) for name in shown} for hit in result.hits]
    return {"total": result.total, "columns": shown, "rows": rows}


def render(report: dict[str, Any]) -> list[str]:
    """Text lines for the histogram and the documents."""
    lines = []
    hist = report.get("histogram")
    if hist:
        counts = hist["counts"]
        peak = max(counts)
        at = dt.datetime.fromisoformat(hist["start"].replace("Z", "+00:00")) + counts.index(peak) * _step(hist)
        lines.append(f"over time: {sparkline(counts)}  ({len(counts)} x {hist['interval']} from {hist['start']}"
                     + (f"; most: {peak} at {iso(at)})" if peak else "; no hits)"))
    docs = report.get("documents")
    if docs is not None:
        rows = docs["rows"]
        total = docs["total"] if docs["total"] is not None else len(rows)
        lines.append("")
        lines.append(f"documents: {total} selected by the filter in the window"
                     + (f", the first {len(rows)}:" if rows and total > len(rows) else (":" if rows else "")))
        lines += table(docs["columns"], rows)
    return lines


def sparkline(counts: list[int]) -> str:
    peak = max(counts, default=0)
    if peak == 0:
        return BLOCKS[0] * len(counts)
    return "".join(BLOCKS[0] if c == 0 else BLOCKS[1 + min(len(BLOCKS) - 2, (c * (len(BLOCKS) - 1) - 1) // peak)]
                   for c in counts)


def table(names: list[str], rows: list[dict[str, Any]]) -> list[str]:
    if not rows:
        return []
    cells = [[_cell(row.get(n), MESSAGE if n == "message" else CELL) for n in names] for row in rows]
    widths = [max(len(n), *(len(r[i]) for r in cells)) for i, n in enumerate(names)]
    widths[-1] = 0  # the last column is not padded
    return ["  ".join(text.ljust(w) for text, w in zip(line, widths)).rstrip() for line in [names] + cells]


def _cell(value: Any, width: int) -> str:
    if value is None:
        text = "-"
    elif isinstance(value, list):
        text = ",".join(str(v) for v in value)
    else:
        text = str(value)
    text = " ".join(text.split())  # one line per document
    return text if len(text) <= width else text[: width - 1] + "…"


def _span_text(step: dt.timedelta) -> str:
    seconds = int(step.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _step(hist: dict[str, Any]) -> dt.timedelta:
    text = hist["interval"]
    return dt.timedelta(seconds=int(text[:-1]) * {"d": 86400, "h": 3600, "m": 60, "s": 1}[text[-1]])
