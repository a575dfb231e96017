"""Lucene's wildcard and regular-expression syntax, translated to Python's ``re``.

Lucene regexps always match the whole term, ``.`` matches any character, ``"…"`` is a
literal string, ``@`` any string, ``#`` the empty language; ``^`` and ``$`` are plain
characters. ``\\d \\w \\s`` and their negations are the ASCII classes. Intersection
(``&``), complement (``~``) and numeric intervals (``<1-10>``) are refused.
"""

from __future__ import annotations

import re
from functools import lru_cache

from logalert.engine.inprocess.errors import BadRequest, Unsupported

_CLASSES = {"d": "0-9", "w": "a-zA-Z0-9_", "s": " \\t\\n\\r"}


@lru_cache(maxsize=1024)
def wildcard(pattern: str, case_insensitive: bool = False) -> re.Pattern[str]:
    """``*`` any string, ``?`` one character, ``\\`` escapes the next one."""
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if char == "*" else "." if char == "?" else re.escape(char))
        i += 1
    return re.compile("".join(out), re.DOTALL | (re.IGNORECASE if case_insensitive else 0))


def has_wildcard(text: str) -> bool:
    """Whether ``text`` has an unescaped ``*`` or ``?``."""
    i = 0
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text[i] in "*?":
            return True
        i += 1
    return False


def unescape(text: str) -> str:
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            out.append(text[i + 1])
            i += 2
            continue
        out.append(text[i])
        i += 1
    return "".join(out)


@lru_cache(maxsize=1024)
def regexp(pattern: str, case_insensitive: bool = False) -> re.Pattern[str]:
    """A Lucene regexp (all optional operators on, as query_string and ``regexp`` use
    them) as a Python pattern for ``fullmatch``; BadRequest when Lucene cannot parse it."""
    translated = _Regex(pattern).parse()
    try:
        return re.compile(translated, re.DOTALL | (re.IGNORECASE if case_insensitive else 0))
    except re.error as exc:  # pragma: no cover - the translation is always valid
        raise BadRequest(f"invalid regular expression [{pattern}]: {exc}") from None


class _Regex:
    def __init__(self, text: str):
        self.text = text
        self.pos = 0

    def fail(self, message: str) -> BadRequest:
        return BadRequest(f"{message} at position {self.pos}", "illegal_argument_exception")

    def peek(self) -> str | None:
        return self.text[self.pos] if self.pos < len(self.text) else None

    def take(self) -> str:
        char = self.text[self.pos]
        self.pos += 1
        return char

    def parse(self) -> str:
        out = self.union()
        if self.pos < len(self.text):
            raise self.fail("expected end of string")
        return out

    def union(self) -> str:
        parts = [self.concat()]
        while self.peek() == "|":
            self.take()
            parts.append(self.concat())
        return "|".join(parts) if len(parts) == 1 else "(?:" + "|".join(parts) + ")"

    def concat(self) -> str:
        out = []
        while self.peek() is not None and self.peek() not in "|)":
            if self.peek() == "&":
                raise Unsupported("the regexp intersection operator '&'")
            out.append(self.repeat())
        return "".join(out)

    def repeat(self) -> str:
        atom = self.complement()
        while self.peek() is not None and self.peek() in "?*+{":
            char = self.take()
            if char != "{":
                atom = f"(?:{atom}){char}"
                continue
            start = self.pos
            while self.peek() is not None and self.peek() != "}":
                self.take()
            if self.peek() != "}":
                raise self.fail("expected '}'")
            body = self.text[start:self.pos]
            self.take()
            if not re.fullmatch(r"\d+(,\d*)?", body):
                raise self.fail("integer expected")
            atom = f"(?:{atom}){{{body}}}"
        return atom

    def complement(self) -> str:
        if self.peek() == "~":
            raise Unsupported("the regexp complement operator '~'")
        return self.atom()

    def atom(self) -> str:
        char = self.peek()
        if char is None:
            raise self.fail("unexpected end of string")
        if char == "(":
            self.take()
            if self.peek() == ")":
                self.take()
                return ""
            inner = self.union()
            if self.peek() != ")":
                raise self.fail("expected ')'")
            self.take()
            return f"(?:{inner})"
        if char == "[":
            return self.char_class()
        if char == '"':
            self.take()
            start = self.pos
            while self.peek() is not None and self.peek() != '"':
                self.take()
            if self.peek() != '"':
                raise self.fail("expected '\"'")
            literal = self.text[start:self.pos]
            self.take()
            return re.escape(literal)
        if char == "<":
            raise Unsupported("regexp intervals and named automata ('<…>')")
        self.take()
        if char == ".":
            return "."
        if char == "@":
            return ".*"
        if char == "#":
            return "(?!)"
        if char == "\\":
            return self.escaped(in_class=False)
        if char in ")*+?{}|]":
            raise self.fail(f"unexpected '{char}'")
        return re.escape(char)

    def escaped(self, in_class: bool) -> str:
        if self.peek() is None:
            raise self.fail("expected character after '\\'")
        char = self.take()
        if char.lower() in _CLASSES:
            body = _CLASSES[char.lower()]
            if char.islower():
                return body if in_class else f"[{body}]"
            if in_class:
                raise Unsupported("a negated class such as \\D inside [...]")
            return f"[^{body}]"
        return re.escape(char)

    def char_class(self) -> str:
        self.take()  # [
        negate = self.peek() == "^"
        if negate:
            self.take()
        parts: list[str] = []
        while self.peek() is not None and self.peek() != "]":
            char = self.take()
            if char == "\\":
                first = self.escaped(in_class=True)
            else:
                first = re.escape(char)
            if self.peek() == "-" and self.pos + 1 < len(self.text) and self.text[self.pos + 1] != "]":
                self.take()
                last = self.take()
                if last == "\\":
                    last = self.take() if self.peek() is not None else ""
                parts.append(f"{first}-{re.escape(last)}")
            else:
                parts.append(first)
        if self.peek() != "]":
            raise self.fail("expected ']'")
        self.take()
        if not parts:
            raise self.fail("empty character class")
        return "[" + ("^" if negate else "") + "".join(parts) + "]"
