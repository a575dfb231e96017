"""What the rule types share: a fixed grid of checkpoints in time, the aggregations they
ask the engine for (per query_key value, over time ranges or buckets), reading those
answers back, and the small pieces of alert wording.

Times on the grid are whole multiples of a step since the epoch, so two runs whose
windows overlap pick the same checkpoints and a match found twice is the same match.
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
from typing import Any, Callable, Iterator, Mapping, Sequence, TypeVar

from logalert.fields import lookup
from logalert.model import Event, Query
from logalert.options import Option
from logalert.rules.model import Rule
from logalert.timeutil import iso, parse_doc_time

UTC = dt.timezone.utc
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
MS = dt.timedelta(milliseconds=1)
# timestamp_type -> milliseconds per unit of a numeric timestamp field
NUMERIC_TIME = {"unix": 1000, "unix_ms": 1}


# Options several types declare (see each type's OPTIONS).
TERMS_SIZE = Option("terms_size", {"type": "integer", "minimum": 1}, 50,
                    description="query_key values (or terms) per run when the engine counts")
MIN_DOC_COUNT = Option("min_doc_count", {"type": "integer", "minimum": 1}, 1,
                       description="buckets with fewer documents are not judged")


def to_ms(moment: dt.datetime) -> int:
    return (moment - EPOCH) // MS


def from_ms(value: float) -> dt.datetime:
    return EPOCH + dt.timedelta(milliseconds=value)


# --- the grid ------------------------------------------------------------------------
@functools.lru_cache(maxsize=256)  # every run of a counting rule asks for the same timeframe's
def _divisors(n: int) -> list[int]:
    small, large = [], []
    i = 1
    while i * i <= n:
        if n % i == 0:
            small.append(i)
            if i * i != n:
                large.append(n // i)
        i += 1
    return small + large[::-1]


def pick_step(rule: Rule, timeframe: dt.timedelta, target: dt.timedelta, span: dt.timedelta,
              max_points: int = 2000) -> dt.timedelta:
    """A step that divides ``timeframe`` exactly (so a window of one timeframe is a whole
    number of steps), is at least ``target`` and one second, and puts at most about
    ``max_points`` steps into ``span``. Numeric unix timestamps step in whole seconds."""
    unit = NUMERIC_TIME.get(rule.timestamp_type, 1)
    total = max(1, round(timeframe / MS / unit))
    lower = max(target / MS, span / MS / max_points, 1000) / unit
    for d in _divisors(total):
        if d >= lower:
            return dt.timedelta(milliseconds=d * unit)
    return dt.timedelta(milliseconds=total * unit)


def floor_to(moment: dt.datetime, step: dt.timedelta) -> dt.datetime:
    size = step // MS
    return from_ms(to_ms(moment) // size * size)


def grid(start: dt.datetime, end: dt.datetime, step: dt.timedelta) -> list[dt.datetime]:
    """Grid points ``p`` with ``start <= p <= end``."""
    size = step // MS
    first = -(-to_ms(start) // size) * size
    return [from_ms(p) for p in range(first, to_ms(end) + 1, size)]


# --- time aggregations ---------------------------------------------------------------
def time_value(rule: Rule, moment: dt.datetime) -> float | int:
    """``moment`` as the engine compares it on the timestamp field: epoch milliseconds for
    date fields, the field's own unit for numeric unix timestamps."""
    unit = NUMERIC_TIME.get(rule.timestamp_type)
    return to_ms(moment) / unit if unit else to_ms(moment)


def ranges_agg(rule: Rule, spans: Sequence[tuple[dt.datetime, dt.datetime]],
               sub: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """One bucket per ``[start, end)`` (they may overlap), keyed "0", "1", …"""
    kind = "range" if rule.timestamp_type in NUMERIC_TIME else "date_range"
    ranges = [{"key": str(i), "from": time_value(rule, a), "to": time_value(rule, b)} for i, (a, b) in enumerate(spans)]
    agg: dict[str, Any] = {kind: {"field": rule.timestamp_field, "keyed": True, "ranges": ranges}}
    if sub:
        agg["aggs"] = dict(sub)
    return agg


def histogram_agg(rule: Rule, step: dt.timedelta, sub: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Buckets of ``step`` aligned on the epoch, empty ones left out."""
    unit = NUMERIC_TIME.get(rule.timestamp_type)
    if unit:
        agg: dict[str, Any] = {"histogram": {"field": rule.timestamp_field, "interval": step / MS / unit, "min_doc_count": 1}}
    else:
        agg = {"date_histogram": {"field": rule.timestamp_field, "fixed_interval": f"{step // MS}ms", "min_doc_count": 1}}
    if sub:
        agg["aggs"] = dict(sub)
    return agg


def bucket_start(rule: Rule, key: float) -> dt.datetime:
    return from_ms(key * NUMERIC_TIME.get(rule.timestamp_type, 1))


def time_of_value(rule: Rule, value: float | None) -> dt.datetime | None:
    """A min/max aggregation on the timestamp field back to a datetime."""
    return None if value is None else bucket_start(rule, value)


# --- per query_key value -------------------------------------------------------------
def by_key(fields: Sequence[str], inner: Mapping[str, Any], size: int, name: str = "by_key") -> dict[str, Any]:
    """``inner`` nested under one terms aggregation per field (a compound key nests
    them in order); no fields: ``inner`` itself."""
    node = dict(inner)
    for f in reversed(fields):
        node = {name: {"terms": {"field": f, "size": size}, "aggs": node}}
    return node


def walk_keys(node: Mapping[str, Any], depth: int, name: str = "by_key") -> Iterator[tuple[tuple[Any, ...], Mapping[str, Any]]]:
    """The leaves of ``by_key``: (key values, the bucket holding ``inner``)."""
    if depth == 0:
        yield (), node
        return
    for bucket in (node.get(name) or {}).get("buckets", []):
        value = bucket.get("key_as_string", bucket.get("key"))
        for rest, leaf in walk_keys(bucket, depth - 1, name):
            yield (value,) + rest, leaf


def terms_size(rule: Rule) -> int:
    return int(rule.get("terms_size"))


def key_fields(rule: Rule, key: Sequence[Any]) -> dict[str, Any]:
    """``{query_key field: value}`` for a match's fields."""
    return {name: value for name, value in zip(rule.query_key, key)}


def key_phrase(rule: Rule, key: Sequence[Any]) -> str:
    """`` for host=node-1`` (nothing without a query_key)."""
    if not rule.query_key:
        return ""
    return " for " + ", ".join(f"{n}={v}" for n, v in zip(rule.query_key, key))


# --- the newest document of a bucket -------------------------------------------------
def latest_doc_agg(rule: Rule) -> dict[str, Any]:
    unmapped = "long" if rule.timestamp_type in NUMERIC_TIME else "date"
    body: dict[str, Any] = {"size": 1, "sort": [{rule.timestamp_field: {"order": "desc", "unmapped_type": unmapped}}]}
    include = rule.get("include")
    if include:
        body["_source"] = {"includes": list(dict.fromkeys(list(include) + [rule.timestamp_field] + list(rule.query_key)))}
    return {"top_hits": body}


def latest_event(rule: Rule, bucket: Mapping[str, Any], name: str = "latest") -> Event | None:
    hits = ((bucket.get(name) or {}).get("hits") or {}).get("hits") or []
    if not hits:
        return None
    raw = hits[0]
    source = raw.get("_source") or {}
    moment = parse_doc_time(lookup(source, rule.timestamp_field), rule.timestamp_type, rule.timestamp_format)
    if moment is None:
        return None
    return Event(moment, source, raw.get("_index", ""), raw.get("_id", ""))


def doc_fields(rule: Rule, doc: Event | None, moment: dt.datetime, key: Sequence[Any],
               extra: Mapping[str, Any]) -> dict[str, Any]:
    """A match's fields: the document it points at (if any), else the timestamp and the
    query_key values, plus the numbers the type adds (``extra``)."""
    fields: dict[str, Any] = dict(doc.source) if doc is not None else {}
    if doc is None or doc.timestamp != moment:
        # A match found in counts happens at its checkpoint, whatever document illustrates
        # it: the alert's timestamp is the match's (as in ElastAlert's count-based matches).
        fields[rule.timestamp_field] = iso(moment)
    for name, value in key_fields(rule, key).items():
        if lookup(fields, name) is None:
            fields[name] = value
    fields.update(extra)
    return fields


def number(value: Any, fmt: str | None = None) -> str:
    """A value for alert text: ``fmt`` may be ``{:.2f}`` or ``%.2f`` style."""
    if fmt:
        try:
            return fmt.format(value) if "{" in fmt else fmt % value
        except (ValueError, TypeError, IndexError, KeyError):
            pass
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def hashable(key: Sequence[Any]) -> tuple[Any, ...]:
    """A query_key tuple usable as a dict key (multi-valued fields arrive as lists)."""
    return tuple(tuple(v) if isinstance(v, list) else repr(v) if isinstance(v, dict) else v for v in key)


def key_order(key: Sequence[Any]) -> list[str]:
    """Sort key for query_key tuples of mixed types (None, numbers, strings)."""
    return [str(v) for v in key]


# --- rebuilding memory from documents --------------------------------------------------
def hits_queries(started: bool, history_start: dt.datetime) -> list[Query]:
    """The window's new documents; a fresh instance also asks for every document from
    ``history_start`` on, including those earlier runs (before a restart) evaluated."""
    if started:
        return [Query("hits")]
    return [Query("hits"), Query("hits", start=history_start, seen_too=True)]


def live_and_replay(answers: Sequence[Any]) -> tuple[list[Event], list[Event]]:
    """The answers to ``hits_queries``: (new documents, documents only read back)."""
    live = list(answers[0])
    if len(answers) < 2:
        return live, []
    ids = {(e.index, e.id) for e in live}
    return live, [e for e in answers[1] if (e.index, e.id) not in ids]


def turning_points(states: Sequence[Any], done: Callable[[int], bool]) -> list[int]:
    """For a condition tested at consecutive checkpoints (``states[0]`` is context from
    before the window): where it starts to hold or changes kind, and the last checkpoint
    when it still holds and nothing else was chosen, so a lasting condition is reported
    once per run. ``done(i)``: already reported by an earlier run."""
    chosen = [i for i in range(1, len(states)) if states[i] and states[i] != states[i - 1] and not done(i)]
    last = len(states) - 1
    if last >= 1 and states[last] and not chosen and not done(last):
        chosen = [last]
    return chosen


# --- bounded memory ---------------------------------------------------------------------
# Per-value memory with no time bound of its own (change without timeframe, flatline's
# watched values, new_term's terms within terms_window_size) keeps at most this many
# entries per rule (and per field); beyond, the least recently seen are forgotten, as a
# restart would forget them.
MAX_KEYS = 50_000

K = TypeVar("K")
V = TypeVar("V")


def newest(memory: dict[K, V], seen: Callable[[V], Any]) -> dict[K, V]:
    """``memory`` itself when it holds at most MAX_KEYS entries; otherwise its 90 % of
    MAX_KEYS most recently ``seen`` (so a full memory is not trimmed at every run)."""
    if len(memory) <= MAX_KEYS:
        return memory
    return dict(heapq.nlargest(MAX_KEYS * 9 // 10, memory.items(), key=lambda kv: seen(kv[1])))


def term_text(value: Any) -> str:
    """One spelling per value: YAML ``500``, a document's ``500`` and the engine's
    keyword ``"500"`` are the same term."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
