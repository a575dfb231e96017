"""The query DSL, compiled into a predicate over stored documents.

Supported: bool (must, filter, should, must_not, minimum_should_match), match_all,
match_none, term, terms, range, exists, prefix, wildcard, regexp, match,
match_phrase, ids, constant_score, dis_max, query_string, and the old ``not``/``and``/
``or`` after the rules package normalised them. Anything else is refused
(Unsupported) rather than guessed.
"""

from __future__ import annotations

from typing import Any, Mapping

from logalert.engine.inprocess import dates, fieldops, patterns, querystring
from logalert.engine.inprocess.errors import BadRequest, Unsupported
from logalert.engine.inprocess.fieldops import ALL, NONE, Ctx, Pred

# Parameters that change scores only, never which documents match.
_SCORING = {"boost", "_name"}


def compile_query(query: Mapping[str, Any] | None, ctx: Ctx) -> Pred:
    """The predicate of a search's ``query`` (none: every document)."""
    if not query:
        return ALL
    pred = _compile(query, ctx)
    return NONE if pred is None else pred


def _one(query: Any) -> tuple[str, Any]:
    if not isinstance(query, Mapping) or len(query) != 1:
        raise BadRequest("[_na] query malformed, must start with start_object" if not isinstance(query, Mapping)
                         else f"[{next(iter(query), '_na')}] malformed query, expected [END_OBJECT] but found "
                         "[FIELD_NAME]", "parsing_exception")
    return next(iter(query.items()))


def _compile(query: Mapping[str, Any], ctx: Ctx) -> Pred | None:
    kind, body = _one(query)
    handler = _HANDLERS.get(kind)
    if handler is None:
        raise Unsupported(f"the query type [{kind}]")
    return handler(body, ctx)


def _field_body(body: Any, kind: str, value_key: str) -> tuple[str, dict[str, Any]]:
    """``{field: value}`` or ``{field: {value_key: value, …}}``."""
    if not isinstance(body, Mapping):
        raise BadRequest(f"[{kind}] query malformed, no start_object after query name", "parsing_exception")
    items = [(k, v) for k, v in body.items() if k not in _SCORING]
    if len(items) != 1:
        raise BadRequest(f"[{kind}] query doesn't support multiple fields, found [{', '.join(k for k, _ in items)}]",
                         "parsing_exception")
    name, value = items[0]
    params = dict(value) if isinstance(value, Mapping) else {value_key: value}
    unknown = set(params) - {value_key} - _SCORING - _ALLOWED.get(kind, set())
    if unknown:
        raise Unsupported(f"the parameter(s) {sorted(unknown)} of the [{kind}] query")
    if value_key not in params:
        raise BadRequest(f"[{kind}] query does not support [{name}]", "parsing_exception")
    return name, params


_ALLOWED = {
    "term": {"case_insensitive"},
    "prefix": {"case_insensitive", "rewrite"},
    "wildcard": {"case_insensitive", "rewrite", "wildcard"},
    "regexp": {"case_insensitive", "flags", "max_determinized_states", "rewrite"},
    "match": {"operator", "lenient", "zero_terms_query", "auto_generate_synonyms_phrase_query"},
    "match_phrase": {"zero_terms_query", "slop"},
}


def _bool(body: Mapping[str, Any], ctx: Ctx) -> Pred | None:
    unknown = set(body) - {"must", "filter", "should", "must_not", "minimum_should_match", "adjust_pure_negative"} - _SCORING
    if unknown:
        raise Unsupported(f"the bool parameter(s) {sorted(unknown)}")

    def clauses(name: str) -> list[Pred]:
        raw = body.get(name) or []
        items = raw if isinstance(raw, list) else [raw]
        # Cheap, selective tests first (a run's time range); AND and OR do not mind the order.
        items = sorted(items, key=lambda q: _COST.get(next(iter(q), "") if isinstance(q, Mapping) else "", 2))
        return [p for p in (_compile(q, ctx) for q in items) if p is not None]
    must = clauses("must") + clauses("filter")
    must_not = clauses("must_not")
    should = clauses("should")
    if not (must or must_not or should):
        return ALL
    minimum = _minimum_should_match(body.get("minimum_should_match"), len(should), bool(must))

    def pred(doc: Any) -> bool:
        if not all(p(doc) for p in must) or any(p(doc) for p in must_not):
            return False
        if minimum <= 0:
            return True
        hits = 0
        for p in should:
            if p(doc):
                hits += 1
                if hits >= minimum:
                    return True
        return False
    return pred


_COST = {"range": 0, "term": 1, "terms": 1, "exists": 1, "ids": 1}


def _minimum_should_match(value: Any, count: int, has_required: bool) -> int:
    if value is None:
        return 0 if has_required else min(1, count)
    text = str(value).strip()
    try:
        if text.endswith("%"):
            number = int(text[:-1])
            wanted = int(count * abs(number) / 100)
            result = wanted if number >= 0 else count - wanted
        else:
            number = int(text)
            result = number if number >= 0 else count + number
    except ValueError:
        raise Unsupported(f"minimum_should_match [{value}]") from None
    return max(0, min(result, count)) if count else 0


def _term(body: Any, ctx: Ctx) -> Pred:
    name, params = _field_body(body, "term", "value")
    return fieldops.term(ctx, name, params["value"], case_insensitive=bool(params.get("case_insensitive")))


def _terms(body: Any, ctx: Ctx) -> Pred | None:
    items = [(k, v) for k, v in body.items() if k not in _SCORING]
    if len(items) != 1 or not isinstance(items[0][1], list):
        raise Unsupported("this form of the terms query (terms lookup or several fields)")
    name, values = items[0]
    return fieldops.any_of([fieldops.term(ctx, name, v) for v in values]) or NONE


def _range(body: Any, ctx: Ctx) -> Pred:
    items = [(k, v) for k, v in body.items() if k not in _SCORING]
    if len(items) != 1 or not isinstance(items[0][1], Mapping):
        raise BadRequest("[range] query doesn't support multiple fields", "parsing_exception")
    name, params = items[0]
    unknown = set(params) - {"gt", "gte", "lt", "lte", "from", "to", "include_lower", "include_upper", "format",
                             "time_zone", "relation"} - _SCORING
    if unknown or params.get("relation", "intersects").lower() != "intersects":
        raise Unsupported(f"the range parameter(s) {sorted(unknown) or ['relation']}")
    low, include_low = params.get("from"), params.get("include_lower", True)
    high, include_high = params.get("to"), params.get("include_upper", True)
    if "gte" in params:
        low, include_low = params["gte"], True
    if "gt" in params:
        low, include_low = params["gt"], False
    if "lte" in params:
        high, include_high = params["lte"], True
    if "lt" in params:
        high, include_high = params["lt"], False
    return fieldops.value_range(ctx, name, low, high, bool(include_low), bool(include_high), fmt=params.get("format"),
                                tz=dates.zone(params.get("time_zone")))


def _exists(body: Any, ctx: Ctx) -> Pred:
    if not isinstance(body, Mapping) or "field" not in body:
        raise BadRequest("[exists] must be provided with a [field]", "parsing_exception")
    names = fieldops.fields_matching(ctx, body["field"])
    return fieldops.any_of([fieldops.exists(ctx, n) for n in names]) or NONE


def _prefix(body: Any, ctx: Ctx) -> Pred:
    name, params = _field_body(body, "prefix", "value")
    compiled = patterns.wildcard(_escape_wild(str(params["value"])) + "*", bool(params.get("case_insensitive")))
    return fieldops.pattern(ctx, name, compiled, "prefix")


def _escape_wild(text: str) -> str:
    return text.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


def _wildcard(body: Any, ctx: Ctx) -> Pred:
    if isinstance(body, Mapping):
        body = {k: ({"value": v.get("wildcard"), **{x: y for x, y in v.items() if x != "wildcard"}}
                    if isinstance(v, Mapping) and "wildcard" in v and "value" not in v else v) for k, v in body.items()}
    name, params = _field_body(body, "wildcard", "value")
    compiled = patterns.wildcard(str(params["value"]), bool(params.get("case_insensitive")))
    return fieldops.pattern(ctx, name, compiled, "wildcard")


def _regexp(body: Any, ctx: Ctx) -> Pred:
    name, params = _field_body(body, "regexp", "value")
    if str(params.get("flags", "ALL")).upper() != "ALL":
        raise Unsupported("regexp flags other than ALL")
    compiled = patterns.regexp(str(params["value"]), bool(params.get("case_insensitive")))
    return fieldops.pattern(ctx, name, compiled, "regexp")


def _match(body: Any, ctx: Ctx) -> Pred | None:
    name, params = _field_body(body, "match", "query")
    if str(params.get("zero_terms_query", "none")).lower() != "none":
        raise Unsupported("zero_terms_query: all")
    pred = fieldops.analyzed(ctx, name, params["query"], operator=str(params.get("operator", "or")),
                             lenient=bool(params.get("lenient")))
    return NONE if pred is None else pred


def _match_phrase(body: Any, ctx: Ctx) -> Pred | None:
    name, params = _field_body(body, "match_phrase", "query")
    if int(params.get("slop", 0) or 0):
        raise Unsupported("match_phrase with slop")
    if str(params.get("zero_terms_query", "none")).lower() != "none":
        raise Unsupported("zero_terms_query: all")
    pred = fieldops.phrase(ctx, name, params["query"])
    return NONE if pred is None else pred


def _ids(body: Any, ctx: Ctx) -> Pred:
    wanted = {str(v) for v in (body or {}).get("values") or []}
    return lambda doc: doc.id in wanted


def _constant_score(body: Any, ctx: Ctx) -> Pred | None:
    if not isinstance(body, Mapping) or "filter" not in body:
        raise BadRequest("[constant_score] requires a 'filter' element", "parsing_exception")
    return _compile(body["filter"], ctx)


def _dis_max(body: Any, ctx: Ctx) -> Pred | None:
    return fieldops.any_of([_compile(q, ctx) for q in (body or {}).get("queries") or []]) or NONE


def _query_string(body: Any, ctx: Ctx) -> Pred | None:
    if not isinstance(body, Mapping) or "query" not in body:
        raise BadRequest("[query_string] must be provided with a [query]", "parsing_exception")
    return querystring.compile_query_string(body, ctx)


_HANDLERS = {
    "match_all": lambda body, ctx: ALL,
    "match_none": lambda body, ctx: NONE,
    "bool": _bool,
    "term": _term,
    "terms": _terms,
    "range": _range,
    "exists": _exists,
    "prefix": _prefix,
    "wildcard": _wildcard,
    "regexp": _regexp,
    "match": _match,
    "match_phrase": _match_phrase,
    "ids": _ids,
    "constant_score": _constant_score,
    "dis_max": _dis_max,
    "query_string": _query_string,
}
