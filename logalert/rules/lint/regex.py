"""Lucene regular expressions (``field:/…/`` in query_string, and the ``regexp`` query).

Lucene's RegExp is not PCRE: it has no flags (``/…/i``, ``(?i)``), every regex is
anchored to the whole term, and ``"`` quotes a literal string. The engine refuses a
regex it cannot parse only when the search runs, so the structural mistakes it would
refuse are found here; anything this check does not understand is left to the engine
(a missed error is better than refusing a rule the engine accepts).
"""

from __future__ import annotations

import re

from logalert.rules.lint.base import Finding

# Letters that are flags in other regex dialects; a word made of them glued to a
# regex (``/ERROR/i``) is almost certainly meant as one.
FLAG_WORD = re.compile(r"[gimsux]+")
INLINE_FLAGS = re.compile(r"\(\?[a-zA-Z]+\)")


def syntax_error(body: str) -> tuple[int, str] | None:
    """(offset, message) of the first structural error in a regex body, else None."""
    open_parens: list[int] = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if i + 1 == len(body):
                return i, "escape character \\ at the end of the regex"
            i += 2
            continue
        if char == '"':  # a quoted literal string in Lucene's syntax
            end = body.find('"', i + 1)
            if end < 0:
                return i, 'unterminated quoted string in the regex (write \\" for a quote character)'
            i = end + 1
            continue
        if char == "[":
            end = _class_end(body, i)
            if end is None:
                return i, "unterminated character class [ in the regex"
            i = end + 1
            continue
        if char == "(":
            open_parens.append(i)
        elif char == ")":
            if not open_parens:
                return i, "unbalanced parenthesis in the regex"
            open_parens.pop()
        i += 1
    if open_parens:
        return open_parens[0], "unbalanced parenthesis in the regex"
    return None


def _class_end(body: str, start: int) -> int | None:
    """Offset of the ``]`` closing the class opened at ``start``; like Lucene, the first
    character of a class (after an optional ``^``) is taken literally, even ``]``."""
    i = start + 1
    if i < len(body) and body[i] == "^":
        i += 1
    first = True
    while i < len(body):
        if body[i] == "]" and not first:
            return i
        i += 2 if body[i] == "\\" else 1
        first = False
    return None


def any_case(body: str) -> str | None:
    """The regex matching ``body`` in any letter case (``ERROR`` -> ``[Ee][Rr][Rr][Oo][Rr]``),
    or None when it has classes, escapes or quotes that a letter-by-letter rewrite would break."""
    if re.search(r'[\[\\"<>~@&#]', body):
        return None
    return "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() and c.upper() != c.lower() else c for c in body)


def plain_word(body: str) -> str | None:
    """The lower-cased word a regex stands for when it is just letters and digits."""
    return body.lower() if re.fullmatch(r"[A-Za-z0-9_]+", body) else None


def case_fix(body: str) -> str:
    """How to match ``body`` whatever its case, as advice text."""
    spelled = any_case(body)
    return spelled if spelled else "each letter as a class ([Ee] for e)"


def check_body(body: str, offset: int) -> list[Finding]:
    """Findings in a regex body that starts at ``offset`` of the query text."""
    found = []
    error = syntax_error(body)
    if error is not None:
        found.append(Finding(offset + error[0], error[1], fatal=True))
    flags = INLINE_FLAGS.match(body)
    if flags:
        found.append(Finding(offset, f"{flags.group(0)} is not a flag in Lucene regexes (they have none); "
                                     f"for any letter case write {case_fix(body[flags.end():])}"))
    elif body.startswith((".*", ".+")):
        found.append(Finding(offset, f"the regex starts with {body[:2]}, so every term of the field is scanned "
                                     "(slow on large indices); start it with fixed text"))
    return found
