"""A Rison reader for tests: Discover links are checked by decoding their state, not by
comparing URL text, so a test says what the link means (time range, index pattern…).

Written from the Rison grammar (https://github.com/Nanonid/rison), independent of the
encoder in logalert.notify.discover, so the two check each other.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

_NOT_ID = " '!:(),*@$"
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


class _Reader:
    def __init__(self, text: str) -> None:
        self.text, self.pos = text, 0

    def fail(self, what: str) -> ValueError:
        return ValueError(f"rison: {what} at {self.pos} in {self.text!r}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self, expected: str) -> None:
        if not self.text.startswith(expected, self.pos):
            raise self.fail(f"expected {expected!r}")
        self.pos += len(expected)

    def value(self) -> Any:
        c = self.peek()
        if c == "(":
            return self.obj()
        if c == "'":
            return self.string()
        if c == "!":
            nxt = self.text[self.pos + 1:self.pos + 2]
            self.pos += 2
            if nxt == "(":
                return self.array()
            consts = {"t": True, "f": False, "n": None}
            if nxt in consts:
                return consts[nxt]
            raise self.fail(f"unknown !{nxt}")
        if c == "-" or c.isdigit():
            found = _NUMBER.match(self.text, self.pos)
            if not found:
                raise self.fail("bad number")
            self.pos = found.end()
            number = found.group(0)
            return float(number) if any(ch in number for ch in ".eE") else int(number)
        return self.word()

    def word(self) -> str:
        start = self.pos
        while self.pos < len(self.text) and self.text[self.pos] not in _NOT_ID:
            self.pos += 1
        if self.pos == start:
            raise self.fail("expected a value")
        return self.text[start:self.pos]

    def string(self) -> str:
        self.take("'")
        out = []
        while True:
            c = self.peek()
            if c == "":
                raise self.fail("unterminated string")
            self.pos += 1
            if c == "'":
                return "".join(out)
            if c == "!":
                escaped = self.peek()
                if escaped not in ("!", "'"):
                    raise self.fail(f"bad escape !{escaped}")
                self.pos += 1
                out.append(escaped)
            else:
                out.append(c)

    def obj(self) -> dict[str, Any]:
        self.take("(")
        out: dict[str, Any] = {}
        while self.peek() != ")":
            if out:
                self.take(",")
            key = self.string() if self.peek() == "'" else self.word()
            self.take(":")
            out[key] = self.value()
        self.take(")")
        return out

    def array(self) -> list[Any]:
        out: list[Any] = []
        while self.peek() != ")":
            if out:
                self.take(",")
            out.append(self.value())
        self.take(")")
        return out


def loads(text: str) -> Any:
    reader = _Reader(text)
    value = reader.value()
    if reader.pos != len(text):
        raise reader.fail("trailing text")
    return value


def discover_state(url: str) -> dict[str, Any]:
    """``{"_g": …, "_a": …, "_q": …}`` of a Discover link (the state after ``#…?``), plus
    ``"security_tenant"`` when the query before the fragment names one."""
    parts = urlsplit(url)
    fragment = parts.fragment
    query = fragment.split("?", 1)[1] if "?" in fragment else ""
    if not fragment:  # no fragment: the state is in the URL's own query
        query = parts.query
    out: dict[str, Any] = {}
    for name, values in parse_qs(query, keep_blank_values=True).items():
        if name.startswith("_"):
            out[name] = loads(values[0])
    tenant = parse_qs(parts.query).get("security_tenant")
    if tenant:
        out["security_tenant"] = unquote(tenant[0])
    return out
