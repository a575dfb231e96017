"""``query_string``: Lucene's classic syntax, parsed with luqum, evaluated as the
engine's QueryStringQueryParser builds it.

luqum gives AND precedence over OR; Lucene does not. Lucene reads a query as a flat
list of clauses, each with the conjunction before it (AND/OR/none) and a modifier
(+, -, NOT), and decides per clause whether it is required, optional or prohibited
(``a AND b OR c`` is ``+a +b c``: c changes nothing). So luqum's tree is flattened
back into that list, in the order of the text, and Lucene's rule applied to it.

Without ``default_field``/``fields`` a bare term searches every field, leniently (a
word cannot fail on a numeric field, it just does not match there): the engine's
``index.query.default_field: *``. Text fields analyse the term (standard analyzer),
keyword fields compare it exactly; wildcards, regexps and range bounds are
lower-cased on text fields (the analyzer's normalize), not on keyword fields.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from luqum.exceptions import ParseError
from luqum.thread import parse
from luqum.tree import (
    AndOperation,
    Boost,
    FieldGroup,
    From,
    Fuzzy,
    Group,
    Item,
    Not,
    OrOperation,
    Phrase,
    Plus,
    Prohibit,
    Proximity,
    Range,
    Regex,
    SearchField,
    To,
    UnknownOperation,
    Word,
)

from logalert.engine.inprocess import analysis, dates, fieldops, patterns
from logalert.engine.inprocess.errors import BadRequest, Unsupported
from logalert.engine.inprocess.fieldops import ALL, NONE, Ctx, Pred

QUOTE = "\ue000"  # stands for ' while luqum parses (Lucene allows it anywhere in a term)
MUST, SHOULD, MUST_NOT = "must", "should", "must_not"
_OPS = {AndOperation: "AND", OrOperation: "OR", UnknownOperation: None}
_HARMLESS = {"query", "default_field", "fields", "default_operator", "lenient", "time_zone", "boost", "_name",
             "auto_generate_synonyms_phrase_query", "enable_position_increments", "escape", "max_determinized_states",
             "allow_leading_wildcard", "tie_breaker", "rewrite", "fuzziness", "fuzzy_max_expansions",
             "fuzzy_prefix_length", "fuzzy_transpositions", "fuzzy_rewrite", "analyze_wildcard", "type",
             "phrase_slop", "analyzer", "quote_analyzer"}


class _Options:
    def __init__(self, params: Mapping[str, Any], ctx: Ctx):
        unknown = set(params) - _HARMLESS
        if unknown:
            raise Unsupported(f"the query_string parameter(s) {sorted(unknown)}")
        if params.get("analyze_wildcard"):
            raise Unsupported("query_string analyze_wildcard: true")
        if int(params.get("phrase_slop") or 0):
            raise Unsupported("query_string phrase_slop")
        if str(params.get("type", "best_fields")) not in ("best_fields", "most_fields"):
            raise Unsupported(f"query_string type: {params.get('type')}")
        for key in ("analyzer", "quote_analyzer"):
            if params.get(key) not in (None, "standard"):
                raise Unsupported(f"query_string {key}: {params[key]}")
        self.ctx = ctx
        self.and_default = str(params.get("default_operator", "or")).upper() == "AND"
        raw = params.get("fields") or ([params["default_field"]] if params.get("default_field") else None)
        fields = [str(f).split("^")[0] for f in raw] if raw else ["*"]
        self.all_fields = fields == ["*"]
        self.lenient = bool(params.get("lenient", self.all_fields))
        self.default_fields = fields
        self.tz = dates.zone(params.get("time_zone"))
        self.leading_wildcard = params.get("allow_leading_wildcard", True) is not False
        self.text = ""


def compile_query_string(params: Mapping[str, Any], ctx: Ctx) -> Pred:
    """The predicate of one query_string query; one with nothing left in it (every term
    analysed away) matches nothing."""
    opts = _Options(params, ctx)
    text = str(params["query"])
    try:
        tree = parse(_prepare(text))
    except ParseError as exc:
        raise _cannot_parse(text, str(exc)) from None
    opts.text = text
    return _query(tree, None, opts) or NONE


def _cannot_parse(text: str, why: str) -> BadRequest:
    error = BadRequest(f"Failed to parse query [{text}]", "query_shard_exception")
    error.cause = f"Cannot parse '{text}': {why}"
    return error


_RANGE = re.compile(r"(?<!\\)([\[{])([^\[\]{}\"]*?\sTO\s[^\[\]{}\"]*?)([\]}])")


def _prepare(text: str) -> str:
    """What Lucene accepts and luqum does not: ``'`` in terms, ``:`` in range bounds."""
    text = text.replace("'", QUOTE)
    return _RANGE.sub(lambda m: m.group(1) + re.sub(r"(?<!\\):", r"\\:", m.group(2)) + m.group(3), text)


def _restore(value: str) -> str:
    return value.replace(QUOTE, "'")


# --- the clause list -------------------------------------------------------------------
def _flatten(node: Item) -> list[tuple[str | None, Item]]:
    """The operands of a chain of AND/OR/implicit operations, in text order, each with
    the conjunction written before it."""
    kind = type(node)
    if kind not in _OPS:
        return [(None, node)]
    out: list[tuple[str | None, Item]] = []
    for i, child in enumerate(node.children):
        part = _flatten(child)
        if i:
            part[0] = (_OPS[kind], part[0][1])
        out.extend(part)
    return out


def _query(node: Item, field: str | None, opts: _Options) -> Pred | None:
    """One level of Lucene's grammar: clauses and conjunctions into a boolean query."""
    items: list[tuple[str | None, Item]] = []
    pending: str | None = None
    for conj, operand in _flatten(node):
        if isinstance(operand, Word) and operand.value in ("&&", "||"):
            pending = "AND" if operand.value == "&&" else "OR"
            continue
        items.append((pending or conj, operand))
        pending = None
    clauses: list[tuple[str, Pred]] = []
    first: Pred | None = None
    count, i = 0, 0
    while i < len(items):
        run = _run(items, i)
        if len(run) > 1:  # bare words in a row: analysed together, as the engine does
            pred = _words(" ".join(_restore(w.value) for w in run), field, opts)
            if pred is not None:
                clauses.append((MUST if opts.and_default else SHOULD, pred))
            count, i = count + 2, i + len(run)
            continue
        conj, operand = items[i]
        mods, operand = _modifier(operand)
        pred = _clause(operand, field, opts)
        _add(clauses, conj, mods, pred, opts.and_default)
        if count == 0 and mods is None:
            first = pred
        count, i = count + 1, i + 1
    if count == 1 and first is not None:
        return first
    return _boolean(clauses)


def _plain(node: Item) -> bool:
    """A bare term (Lucene's TERM token): no field, modifier, wildcard, boost or fuzz."""
    return (type(node) is Word and node.value not in ("*", "&&", "||") and not node.value.startswith("!")
            and not patterns.has_wildcard(node.value))


def _run(items: list[tuple[str | None, Item]], start: int) -> list[Word]:
    """Lucene's MultiTerm: bare terms in a row without operators between them. A term
    followed by AND/OR (or ``*``) is not taken: it belongs to that operator."""
    conj, first = items[start]
    if conj is not None or not _plain(first):
        return []
    run = [first]
    j = start + 1
    while j < len(items) and items[j][0] is None and _plain(items[j][1]):
        after = items[j + 1] if j + 1 < len(items) else None
        if after is not None and (after[0] in ("AND", "OR") or (type(after[1]) is Word and after[1].value == "*")):
            break
        run.append(items[j][1])
        j += 1
    if len(run) > 1 and run[0].value[:1] in "<>":
        raise Unsupported("bare words in a row starting with > or < in query_string")
    return run if len(run) > 1 else []


def _modifier(node: Item) -> tuple[str | None, Item]:
    if isinstance(node, (Not, Prohibit)):
        inner = node.children[0]
        mods = "NOT"
    elif isinstance(node, Plus):
        inner, mods = node.children[0], "REQ"
    elif isinstance(node, Word) and node.value.startswith("!") and len(node.value) > 1:
        return "NOT", Word(node.value[1:])
    elif isinstance(node, SearchField) and node.name.startswith("!") and len(node.name) > 1:
        return "NOT", SearchField(node.name[1:], node.children[0])
    else:
        return None, node
    if isinstance(inner, (Not, Prohibit, Plus)):
        raise BadRequest("Cannot parse: two modifiers in a row", "query_shard_exception")
    return mods, inner


def _add(clauses: list[tuple[str, Pred]], conj: str | None, mods: str | None, pred: Pred | None,
         and_default: bool) -> None:
    """Lucene's QueryParserBase.addClause."""
    if clauses and conj == "AND" and clauses[-1][0] != MUST_NOT:
        clauses[-1] = (MUST, clauses[-1][1])
    if clauses and and_default and conj == "OR" and clauses[-1][0] != MUST_NOT:
        clauses[-1] = (SHOULD, clauses[-1][1])
    if pred is None:
        return
    prohibited = mods == "NOT"
    if and_default:
        required = not prohibited and conj != "OR"
    else:
        required = mods == "REQ" or (conj == "AND" and not prohibited)
    clauses.append((MUST_NOT if prohibited else MUST if required else SHOULD, pred))


def _boolean(clauses: list[tuple[str, Pred]]) -> Pred | None:
    if not clauses:
        return None
    must = [p for o, p in clauses if o == MUST]
    should = [p for o, p in clauses if o == SHOULD]
    must_not = [p for o, p in clauses if o == MUST_NOT]
    if not must and not should:
        must = [ALL]  # only prohibitions: everything else matches (the engine adds match_all)

    def pred(doc: Any) -> bool:
        if not all(p(doc) for p in must) or any(p(doc) for p in must_not):
            return False
        return bool(must) or any(p(doc) for p in should)
    return pred


# --- one clause --------------------------------------------------------------------------
def _clause(node: Item, field: str | None, opts: _Options) -> Pred | None:
    if isinstance(node, Boost):
        return _clause(node.children[0], field, opts)
    if isinstance(node, (Group, FieldGroup)):
        return _query(node.children[0], field, opts)
    if isinstance(node, SearchField):
        if field is not None:
            raise BadRequest("Cannot parse: a field inside a field", "query_shard_exception")
        if patterns.has_wildcard(node.name) and node.name != "*":
            raise _cannot_parse(opts.text, f"a field name with a wildcard ({node.name}) must escape it")
        name = _restore(patterns.unescape(node.name))
        return _clause(node.children[0], name, opts)
    if type(node) in _OPS:
        return _query(node, field, opts)
    if isinstance(node, (Not, Prohibit, Plus)):
        raise BadRequest("Cannot parse: a modifier where a term was expected", "query_shard_exception")
    if isinstance(node, Fuzzy):
        raise Unsupported("fuzzy query_string terms (term~)")
    if isinstance(node, Proximity):
        raise Unsupported("phrase slop in query_string (\"…\"~N)")
    if field == "_exists_":
        return _exists(node, opts)
    names = _fields(field, opts)
    if isinstance(node, Word):
        return _word(_restore(node.value), field, names, opts)
    if isinstance(node, Phrase):
        text = _restore(patterns.unescape(node.value[1:-1]))
        return fieldops.any_of([fieldops.phrase(opts.ctx, n, text, lenient=opts.lenient) for n in names])
    if isinstance(node, Regex):
        return _regex(_restore(node.value[1:-1]), names, opts)
    if isinstance(node, (Range, From, To)):
        return _range(node, names, opts)
    raise Unsupported(f"the query_string element {type(node).__name__}")


def _fields(field: str | None, opts: _Options) -> list[str]:
    wanted = [field] if field is not None else opts.default_fields
    names: list[str] = []
    for name in wanted:
        if name == "*":
            names += [n for n, leaf in opts.ctx.mapping.fields.items() if leaf.index]
        else:
            names += fieldops.fields_matching(opts.ctx, name)
    return list(dict.fromkeys(names))


def _exists(node: Item, opts: _Options) -> Pred:
    if not isinstance(node, Word):
        raise BadRequest("_exists_ needs a field name", "query_shard_exception")
    if patterns.has_wildcard(node.value):
        return NONE  # a wildcard query on the (unmapped) _exists_ field
    name = _restore(patterns.unescape(node.value))
    return fieldops.exists(opts.ctx, name)


def _check_term(raw: str, opts: _Options) -> None:
    """What luqum takes in a term and Lucene does not: ``:`` (Lucene reads a field
    name) and ``/`` (it starts a regexp)."""
    i, slashes = 0, 0
    while i < len(raw):
        if raw[i] == "\\":
            i += 2
            continue
        if raw[i] == ":":
            raise _cannot_parse(opts.text, f"'{raw}': escape the ':' in a term (\\:) or quote the term")
        slashes += raw[i] == "/"
        i += 1
    if slashes % 2:
        raise _cannot_parse(opts.text, f"'{raw}': an unescaped '/' starts a regular expression")
    if slashes:
        raise Unsupported("a term with /…/ inside it in query_string (escape the slashes)")


def _words(text: str, field: str | None, opts: _Options) -> Pred | None:
    """Bare words in a row, as one text: analysed per field and combined with the
    default operator; keyword fields compare the whole text."""
    for word in text.split(" "):
        _check_term(word, opts)
    names = _fields(field, opts)
    plain = patterns.unescape(text)
    operator = "and" if opts.and_default else "or"
    return fieldops.any_of([fieldops.analyzed(opts.ctx, n, plain, operator=operator, lenient=opts.lenient)
                            for n in names])


def _word(raw: str, field: str | None, names: list[str], opts: _Options) -> Pred | None:
    ctx = opts.ctx
    _check_term(raw, opts)
    if raw == "*" and (field is None or field == "*"):
        return ALL
    if raw == "*":
        return fieldops.any_of([fieldops.exists(ctx, n) for n in names]) or NONE
    if patterns.has_wildcard(raw):
        if not opts.leading_wildcard and raw[:1] in "*?":
            raise _cannot_parse(raw, "'*' or '?' not allowed as first character in WildcardQuery")
        preds = []
        for name in names:
            leaf = ctx.field(name)
            text = analysis.normalize(raw) if leaf is not None and leaf.type == "text" else raw
            preds.append(fieldops.pattern(ctx, name, patterns.wildcard(text), "wildcard", lenient=opts.lenient))
        return fieldops.any_of(preds) or NONE
    text = patterns.unescape(raw)
    operator = "and" if opts.and_default else "or"
    return fieldops.any_of([fieldops.analyzed(ctx, n, text, operator=operator, lenient=opts.lenient) for n in names])


def _regex(raw: str, names: list[str], opts: _Options) -> Pred:
    preds = []
    for name in names:
        leaf = opts.ctx.field(name)
        # OpenSearch lower-cases a regexp on a text field (the analyzer's normalize);
        # Elasticsearch 8/9 matches it as written against the lower-cased words.
        lowered = leaf is not None and leaf.type == "text" and opts.ctx.flavor == "opensearch"
        text = analysis.normalize(raw) if lowered else raw
        preds.append(fieldops.pattern(opts.ctx, name, patterns.regexp(text), "regexp", lenient=opts.lenient))
    return fieldops.any_of(preds) or NONE


def _bound(node: Item | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, Phrase):
        return _restore(patterns.unescape(node.value[1:-1]))
    value = _restore(node.value)
    return None if value == "*" else patterns.unescape(value)


def _range(node: Item, names: list[str], opts: _Options) -> Pred:
    if isinstance(node, Range):
        low, high = _bound(node.low), _bound(node.high)
        include_low, include_high = node.include_low, node.include_high
    elif isinstance(node.a, Phrase):
        raise Unsupported("a quoted value after >, >=, < or <= in query_string")
    else:
        _check_term(_restore(node.a.value), opts)
    if isinstance(node, From):
        low, high, include_low, include_high = _bound(node.a), None, node.include, True
    elif isinstance(node, To):
        low, high, include_low, include_high = None, _bound(node.a), True, node.include
    preds = [fieldops.value_range(opts.ctx, n, low, high, include_low, include_high, tz=opts.tz, normalize=True,
                                  lenient=opts.lenient) for n in names]
    return fieldops.any_of(preds) or NONE
