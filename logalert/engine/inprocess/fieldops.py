"""What one query does to one field, by the field's type: the building blocks of the
query DSL and of query_string.

Text fields hold the standard analyzer's tokens: ``term`` compares a token exactly,
wildcards, prefixes, regexps and ranges run over the tokens, phrases need consecutive
tokens within one value. Keyword fields hold whole values, compared exactly.
Numbers, dates and booleans are parsed from the query's text; a value the type cannot
read is an error, or matches nothing when the query is lenient.

A builder returns a predicate over a stored document, or None when the query has no
clause for the field (a query text the analyzer reduces to nothing), which a boolean
query leaves out.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence

from logalert.engine.inprocess import analysis, dates, patterns
from logalert.engine.inprocess.errors import BadRequest
from logalert.engine.inprocess.mapping import FLOATS, INTEGERS, Field, IndexMapping, float32, to_bool, to_float, to_integer
from logalert.engine.inprocess.store import Doc

Pred = Callable[[Doc], bool]


def NONE(doc: Doc) -> bool:
    return False


def ALL(doc: Doc) -> bool:
    return True


@dataclass
class Ctx:
    """What a query is compiled against: one index's mappings and the clock."""

    mapping: IndexMapping
    now_ms: int
    flavor: str = "opensearch"  # whose semantics where the engines differ ("elasticsearch")

    def field(self, path: str) -> Field | None:
        return self.mapping.field(path)


def _failed(reason: str) -> BadRequest:
    return BadRequest(f"failed to create query: {reason}", "query_shard_exception")


def _searchable(leaf: Field) -> None:
    if not leaf.index:
        raise _failed(f"Cannot search on field [{leaf.path}] since it is not indexed.")


def _any(path: str, test: Callable[[Any], bool]) -> Pred:
    def pred(doc: Doc) -> bool:
        return any(test(v) for v in doc.values.get(path, ()))
    return pred


def _any_token(path: str, test: Callable[[str], bool]) -> Pred:
    def pred(doc: Doc) -> bool:
        return any(test(t) for tokens in doc.values.get(path, ()) for t in tokens)
    return pred


def _number_reason(value: Any) -> str:
    return f'For input string: "{value}"'


def exact_value(leaf: Field, value: Any, *, strict_integers: bool = True) -> Any:
    """The query's value as the field stores it; ValueError/BadRequest when unreadable,
    None when no stored value can equal it (a decimal for an integer field)."""
    kind = leaf.type
    if kind in INTEGERS:
        try:
            return to_integer(value, kind, strict=strict_integers)
        except ValueError as exc:
            if str(exc) == "decimal part":
                return None
            raise _failed(_number_reason(value)) from None
    if kind in FLOATS:
        try:
            number = to_float(value)
        except ValueError:
            raise _failed(_number_reason(value)) from None
        return float32(number) if kind == "float" else number
    if kind == "boolean":
        try:
            return to_bool(value if not isinstance(value, str) or value else "false")
        except ValueError:
            raise _failed(f"Can't parse boolean value [{value}], expected [true] or [false]") from None
    return value


def term(ctx: Ctx, path: str, value: Any, *, case_insensitive: bool = False, lenient: bool = False) -> Pred:
    """``term``: the value exactly as indexed (no analysis)."""
    leaf = ctx.field(path)
    if leaf is None:
        return NONE
    _searchable(leaf)
    text = _text(value)
    if leaf.type in ("text", "keyword"):
        if case_insensitive:
            folded = analysis.lower(text)
            if leaf.type == "text":
                return _any_token(path, lambda t: analysis.lower(t) == folded)
            return _any(path, lambda v: analysis.lower(v) == folded)
        if leaf.type == "text":
            return _any_token(path, lambda t: t == text)
        return _any(path, lambda v: v == text)
    if leaf.type == "date":
        return date_range(ctx, path, value, value, True, True, lenient=lenient)
    try:
        wanted = exact_value(leaf, value)
    except BadRequest:
        if lenient:
            return NONE
        raise
    if wanted is None:
        return NONE
    return _any(path, lambda v: v == wanted)


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def analyzed(ctx: Ctx, path: str, text: Any, *, operator: str = "or", lenient: bool = False) -> Pred | None:
    """``match`` (and an unquoted query_string term): text fields get the analyzed
    tokens combined with ``operator``; other fields the value as a term."""
    leaf = ctx.field(path)
    if leaf is None:
        return NONE
    if leaf.type != "text":
        return term(ctx, path, text, lenient=lenient)
    _searchable(leaf)
    tokens = analysis.analyze(_text(text))
    if not tokens:
        return None
    tests = [term(ctx, path, t) for t in dict.fromkeys(tokens)]
    if len(tests) == 1:
        return tests[0]
    if operator.lower() == "and":
        return lambda doc: all(t(doc) for t in tests)
    return lambda doc: any(t(doc) for t in tests)


def phrase(ctx: Ctx, path: str, text: Any, *, lenient: bool = False) -> Pred | None:
    """``match_phrase`` / a quoted query_string term: consecutive tokens in one value."""
    leaf = ctx.field(path)
    if leaf is None:
        return NONE
    if leaf.type != "text":
        return term(ctx, path, text, lenient=lenient)
    _searchable(leaf)
    wanted = analysis.analyze(_text(text))
    if not wanted:
        return None
    if len(wanted) == 1:
        return term(ctx, path, wanted[0])
    size = len(wanted)

    def pred(doc: Doc) -> bool:
        for tokens in doc.values.get(path, ()):
            for i in range(len(tokens) - size + 1):
                if tokens[i:i + size] == wanted:
                    return True
        return False
    return pred


def pattern(ctx: Ctx, path: str, compiled: re.Pattern[str], what: str, *, lenient: bool = False) -> Pred:
    """A wildcard, prefix or regexp over a keyword value or a text field's tokens."""
    leaf = ctx.field(path)
    if leaf is None:
        return NONE
    if leaf.type not in ("text", "keyword"):
        if lenient:
            return NONE
        raise _failed(f"Can only use {what} queries on keyword and text fields - not on [{path}] which is of "
                      f"type [{leaf.type}]")
    _searchable(leaf)
    match = compiled.fullmatch
    if leaf.type == "text":
        return _any_token(path, lambda t: match(t) is not None)
    return _any(path, lambda v: match(v) is not None)


def exists(ctx: Ctx, path: str) -> Pred:
    """A field with at least one indexed value; an object: any field under it."""
    if ctx.field(path) is not None:
        return lambda doc: bool(doc.values.get(path))
    if ctx.mapping.is_object(path):
        under = [name for name in ctx.mapping.names() if name.startswith(path + ".")]
        return lambda doc: any(doc.values.get(n) for n in under)
    return NONE


def value_range(ctx: Ctx, path: str, low: Any, high: Any, include_low: bool, include_high: bool, *,
                fmt: str | None = None, tz: dt.tzinfo = dates.UTC, normalize: bool = False,
                lenient: bool = False) -> Pred:
    """``range`` on any field type; ``normalize``: lower-case the bounds on text fields
    (query_string does, the range query does not)."""
    leaf = ctx.field(path)
    if leaf is None:
        return NONE
    _searchable(leaf)
    if leaf.type == "date":
        return date_range(ctx, path, low, high, include_low, include_high, fmt=fmt, tz=tz, lenient=lenient)
    if leaf.type in ("text", "keyword"):
        lo = None if low is None else _text(low)
        hi = None if high is None else _text(high)
        if normalize and leaf.type == "text":
            lo, hi = (None if lo is None else analysis.normalize(lo)), (None if hi is None else analysis.normalize(hi))
        lo_b, hi_b = (None if lo is None else lo.encode()), (None if hi is None else hi.encode())

        def inside(value: str) -> bool:
            raw = value.encode()
            if lo_b is not None and (raw < lo_b or (raw == lo_b and not include_low)):
                return False
            if hi_b is not None and (raw > hi_b or (raw == hi_b and not include_high)):
                return False
            return True
        return _any_token(path, inside) if leaf.type == "text" else _any(path, inside)
    try:
        bounds = _numeric_bounds(leaf, low, high, include_low, include_high)
    except BadRequest:
        if lenient:
            return NONE
        raise
    if bounds is None:
        return NONE
    lo_n, hi_n, inc_lo, inc_hi = bounds

    def within(value: float) -> bool:
        if lo_n is not None and (value < lo_n or (value == lo_n and not inc_lo)):
            return False
        if hi_n is not None and (value > hi_n or (value == hi_n and not inc_hi)):
            return False
        return True
    return _any(path, within)


def _numeric_bounds(leaf: Field, low: Any, high: Any, include_low: bool,
                    include_high: bool) -> tuple[Any, Any, bool, bool] | None:
    def read(value: Any) -> float | int:
        if leaf.type == "boolean":
            return 1 if exact_value(leaf, value) else 0
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lstrip("+-").isdigit():
            return int(value)
        try:
            number = to_float(value)
        except ValueError:
            raise _failed(_number_reason(value)) from None
        return float32(number) if leaf.type == "float" else number
    lo = None if low is None else read(low)
    hi = None if high is None else read(high)
    if leaf.type in INTEGERS or leaf.type == "boolean":  # whole numbers: inclusive bounds, rounded inwards
        if lo is not None:
            lo, include_low = (math.floor(lo) + 1 if not include_low else math.ceil(lo)), True
        if hi is not None:
            hi, include_high = (math.ceil(hi) - 1 if not include_high else math.floor(hi)), True
        if lo is not None and hi is not None and lo > hi:
            return None
    return lo, hi, include_low, include_high


def date_range(ctx: Ctx, path: str, low: Any, high: Any, include_low: bool, include_high: bool, *,
               fmt: str | None = None, tz: dt.tzinfo = dates.UTC, lenient: bool = False) -> Pred:
    leaf = ctx.field(path)
    assert leaf is not None
    fmt = fmt or leaf.format
    try:
        lo, hi = dates.bounds(low, high, include_low, include_high, ctx.now_ms, fmt, tz)
    except ValueError as exc:
        if lenient:
            return NONE
        raise BadRequest(f"failed to parse date field [{low if low is not None else high}] with format "
                         f"[{fmt or dates.DEFAULT_FORMAT}]: {exc}", "parse_exception") from None

    def within(value: int) -> bool:
        return (lo is None or value >= lo) and (hi is None or value <= hi)
    return _any(path, within)


def any_of(preds: Sequence[Pred | None]) -> Pred | None:
    kept = [p for p in preds if p is not None]
    if not kept:
        return None
    if len(kept) == 1:
        return kept[0]
    return lambda doc: any(p(doc) for p in kept)


def fields_matching(ctx: Ctx, pattern_text: str) -> list[str]:
    """Mapped leaf fields whose path matches a field-name pattern (``k8s.*``)."""
    if "*" not in pattern_text:
        return [pattern_text]
    compiled = patterns.wildcard(pattern_text)
    return [name for name in ctx.mapping.names() if compiled.fullmatch(name)]
