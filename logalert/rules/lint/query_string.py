"""``query_string`` text: Lucene's classic syntax, parsed offline with luqum.

The engine parses a query_string only when a search runs, and a search whose time
range misses a shard's data never parses it at all, so a broken query can stay silent
for days. luqum decides whether the text parses; when it does not, the tokens are
examined again to say why in plain words, at the column of the culprit.

luqum is a little stricter than Lucene in two places, which are neutralised first
(same length, so every offset still points into the user's text): a term may start
with ``'`` in Lucene, and a range bound is any run of characters up to a space or
``]``/``}`` (``[10:00 TO 11:00]``, ``[2024-01-01T00:00:00+01:00 TO now]``).
"""

from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

from luqum import parser as luqum_parser
from luqum.exceptions import IllegalCharacterError, ParseError
from luqum.thread import parse
from luqum.tree import From, Item, Phrase, Range, Regex, SearchField, To, Word

from logalert.rules.lint import regex
from logalert.rules.lint.base import Finding

Token = tuple[str, int, int]  # luqum token type, start, end

BINARY = ("AND_OP", "OR_OP")
UNARY = ("NOT", "PLUS", "MINUS")
ENDS_CLAUSE = (None, "RPAREN") + BINARY  # what may not follow an operator
OPERATOR_WORDS = frozenset({"and", "or", "not"})
SYMBOLS = frozenset({"&&", "||", "!"})  # Lucene operators that luqum reads as words


def check(text: str, params: Mapping[str, Any]) -> list[Finding]:
    """Findings for one query_string; ``params`` are its other options (default_field…)."""
    masked = _neutralise(text)
    try:
        tree = parse(masked)
    except ParseError as exc:
        return [_diagnose(text, masked, exc)]
    return sorted(_lint(text, tree, params), key=lambda f: f.offset)


def fields(text: str) -> list[str]:
    """The fields a query_string names (``level:ERROR`` -> level, ``_exists_:user`` ->
    user), each once, in order; [] when it does not parse (``check`` says why)."""
    try:
        tree = parse(_neutralise(text))
    except ParseError:
        return []
    names = []
    for node, _ in _walk(tree):
        if isinstance(node, SearchField):
            if node.name == "_exists_" and isinstance(node.expr, Word):
                names.append(text[node.expr.pos:node.expr.pos + node.expr.size])
            else:
                names.append(node.name)
    return list(dict.fromkeys(name.replace("\\", "") for name in names))


def _tokens(text: str) -> list[Token]:
    """luqum's tokens up to the first character it cannot read."""
    lexer = luqum_parser.lexer.clone()
    lexer.input(text)
    found: list[Token] = []
    try:
        for token in iter(lexer.token, None):
            found.append((token.type, token.lexpos, lexer.lexpos))
    except IllegalCharacterError:
        pass
    return found


def _neutralise(text: str) -> str:
    """``text`` with what Lucene accepts and luqum does not replaced by plain letters."""
    chars = list(text.replace("'", "_"))
    tokens = _tokens("".join(chars))
    for i, (kind, start, _end) in enumerate(tokens):
        if kind != "LBRACKET":
            continue
        close = next((j for j in range(i + 1, len(tokens)) if tokens[j][0] in ("LBRACKET", "RBRACKET")), None)
        if close is None or tokens[close][0] != "RBRACKET":
            continue
        keep = [(s, e) for kind2, s, e in tokens[i + 1:close] if kind2 in ("TO", "PHRASE")]
        for pos in range(start + 1, tokens[close][1]):
            if not chars[pos].isspace() and not any(s <= pos < e for s, e in keep):
                chars[pos] = "x"
    return "".join(chars)


def _diagnose(text: str, masked: str, exc: ParseError) -> Finding:
    """Why the query does not parse, in plain words, at the culprit's offset."""
    where = re.search(r"at position (\d+)!?$", str(exc))  # the message quotes the rest of the query first
    if isinstance(exc, IllegalCharacterError) and where:
        pos = int(where.group(1))
        return Finding(pos, {
            '"': "unterminated quoted phrase",
            "/": "unterminated regex (write \\/ to search for a slash)",
            "\\": "escape character \\ at the end of the query",
        }.get(text[pos], f"unexpected character {text[pos]!r}"), fatal=True)
    tokens = _tokens(masked)
    if not tokens:
        return Finding(0, "empty query (it would match no documents)", fatal=True)
    found = _structure(text, tokens)
    if found is not None:
        return found
    if where:
        pos = int(where.group(1))
        token = next((t for t in tokens if t[1] == pos), (None, pos, pos + 1))
        return Finding(pos, f"unexpected '{text[token[1]:token[2]]}'", fatal=True)
    return Finding(len(text), "unexpected end of the query", fatal=True)


def _structure(text: str, tokens: list[Token]) -> Finding | None:
    """The first misplaced operator, parenthesis, bracket or colon, in reading order."""
    open_parens: list[int] = []
    i = 0
    while i < len(tokens):
        kind, start, end = tokens[i]
        word = text[start:end]
        before = tokens[i - 1][0] if i else None
        after = tokens[i + 1][0] if i + 1 < len(tokens) else None
        if kind in BINARY and (before in (None, "LPAREN", "COLUMN") + BINARY + UNARY or after in ENDS_CLAUSE):
            return Finding(start, f"dangling operator {word}", fatal=True)
        if kind in UNARY and after in ENDS_CLAUSE:
            return Finding(start, f"dangling operator {word}", fatal=True)
        if kind in ("BOOST", "APPROX") and before in (None, "LPAREN", "COLUMN") + BINARY + UNARY:
            return Finding(start, f"'{word[0]}' must follow a term", fatal=True)
        if kind == "COLUMN":
            if before != "TERM":
                return Finding(start, "':' without a field name before it", fatal=True)
            if after in ENDS_CLAUSE:
                field = text[tokens[i - 1][1]:start]
                return Finding(start, f"no value after '{field}:'", fatal=True)
        if kind == "LPAREN":
            open_parens.append(start)
        elif kind == "RPAREN":
            if not open_parens:
                return Finding(start, "unbalanced parenthesis", fatal=True)
            open_parens.pop()
        elif kind == "RBRACKET":
            return Finding(start, f"'{word}' without a matching '['", fatal=True)
        elif kind == "LBRACKET":
            close = next((j for j in range(i + 1, len(tokens)) if tokens[j][0] in ("LBRACKET", "RBRACKET")), None)
            if close is None or tokens[close][0] != "RBRACKET":
                return Finding(start, f"unterminated range '{word}'", fatal=True)
            inside = [t[0] for t in tokens[i + 1:close]]
            if len(inside) != 3 or inside[1] != "TO":
                return Finding(start, "a range is written [low TO high] (write \\[ to search for a bracket)", fatal=True)
            i = close
        i += 1
    if open_parens:
        return Finding(open_parens[0], "unbalanced parenthesis", fatal=True)
    return None


def _walk(node: Item, field: str | None = None) -> Iterator[tuple[Item, str | None]]:
    """Every node with the field it is searched in (None: the default fields).
    Range and comparison bounds are not terms and are not visited."""
    yield node, field
    if isinstance(node, (Range, From, To)):
        return
    if isinstance(node, SearchField):
        field = node.name
    for child in node.children:
        yield from _walk(child, field)


def _lint(text: str, tree: Item, params: Mapping[str, Any]) -> Iterator[Finding]:
    """Warnings (and refused leading wildcards) in a query that parses."""
    nodes = list(_walk(tree))
    terms = [(n, f) for n, f in nodes if isinstance(n, (Word, Phrase, Regex))]
    fields = sorted((n for n, _ in nodes if isinstance(n, SearchField)), key=lambda n: n.pos)
    everywhere = not (params.get("default_field") or params.get("fields"))
    scope = "in every field" if everywhere else "in the default field(s)"
    operator = str(params.get("default_operator") or "OR").upper()
    explained: set[int] = set()  # terms already covered by a more specific warning

    def source(node: Item) -> str:
        return text[node.pos:node.pos + node.size]

    for node, field in terms:
        if isinstance(node, Regex):
            yield from regex.check_body(source(node)[1:-1], node.pos + 1)
            glued = next((w for w, _ in terms if isinstance(w, Word) and w.pos == node.pos + node.size), None)
            if glued is not None and regex.FLAG_WORD.fullmatch(source(glued)):
                explained.update((id(glued), id(node)))
                yield _flags(source(node)[1:-1], source(glued), glued.pos, field, scope, operator)
        elif isinstance(node, Word):
            value = source(node)
            if value.lower() in OPERATOR_WORDS and value != value.upper() and len(terms) > 1:
                explained.add(id(node))
                yield Finding(node.pos, f"'{value}' is searched as a word, not as an operator; write {value.upper()}")
            elif value[:1] in ("*", "?") and set(value) != {"*"}:
                explained.add(id(node))
                refused = params.get("allow_leading_wildcard") is False
                yield Finding(node.pos, f"'{value}' starts with a wildcard, " + (
                    "refused because allow_leading_wildcard is false" if refused else
                    "so every term of the field is scanned (slow on large indices); "
                    "search the word itself or put the wildcard at the end"), fatal=refused)
    if fields and everywhere:
        for node, field in terms:
            value = source(node)
            if field is None and id(node) not in explained and value not in SYMBOLS and set(value) != {"*"}:
                before = [f for f in fields if f.pos < node.pos]
                example = (before[-1] if before else fields[0]).name
                yield Finding(node.pos, f"'{value}' has no field, so it is searched in every field; "
                                        f"give it one, e.g. {example}:{value}")
    elif everywhere:
        # No field anywhere: a full-text search, often meant, so one warning for the query
        # (the fix, message:…, is the same for each term) and default_field: "*" to say so.
        bare = [n for n, _ in terms if id(n) not in explained and source(n) not in SYMBOLS and set(source(n)) != {"*"}]
        if bare:
            value = source(bare[0])
            more = f" and {len(bare) - 1} other term(s) have" if len(bare) > 1 else " has"
            yield Finding(bare[0].pos, f"'{value}'{more} no field, so every field of every document is searched "
                                       f"(slower, and a match in any field alerts); name the field, "
                                       f"e.g. message:{value} (default_field: \"*\" says every field is meant)")
    spelled: dict[str, SearchField] = {}
    for node in fields:
        first = spelled.setdefault(node.name.lower(), node)
        if first.name != node.name:
            yield Finding(node.pos, f"field '{node.name}' differs from '{first.name}' (col {first.pos + 1}) only in "
                                    "case; field names are case-sensitive, so these are two fields")


def _flags(body: str, flags: str, pos: int, field: str | None, scope: str, operator: str) -> Finding:
    """``/ERROR/i``: the ``i`` is a separate term, not a flag."""
    target = f"{field}:" if field else ""
    where = f"on {field}" if field else scope
    fix = f"{target}/{regex.case_fix(body)}/"
    word = regex.plain_word(body)
    if word:
        fix += (f", or {target}{word} (text fields are lower-cased by the analyzer, "
                "so a plain term matches any case)")
    return Finding(pos, f"'{flags}' after the regex /{body}/ is not a flag (Lucene regexes have none): the query "
                        f"means the regex {body} {where} {operator} the term '{flags}' {scope}; write {fix}")
