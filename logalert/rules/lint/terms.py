"""``regexp``, ``wildcard`` and ``simple_query_string`` filters.

These take a value rather than Lucene's query syntax, so luqum has nothing to parse
here. simple_query_string in particular never fails in the engine: it drops what it
cannot read, so its mistakes are warnings, never errors.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from logalert.rules.lint import regex
from logalert.rules.lint.base import Finding

# A regexp/wildcard body maps one field to its value; these keys are parameters.
PARAMETERS = frozenset({"boost", "_name", "flags", "rewrite", "max_determinized_states", "case_insensitive"})
SIMPLE_FIELD = re.compile(r"(?<![\w.@\\])([A-Za-z_@][\w.@-]*):(?=[^\s/:])")
SIMPLE_OPERATOR = re.compile(r"(?<!\S)(AND|OR|NOT)(?!\S)")
SIMPLE_SPELLING = {"AND": "+", "OR": "|", "NOT": "-"}


def field_values(body: Mapping[str, Any], value_keys: tuple[str, ...]) -> list[tuple[tuple[str, ...], str]]:
    """(path inside the body, value) of each field of a regexp/wildcard body:
    ``{message: "x"}`` or ``{message: {value: "x"}}``."""
    found = []
    for field, spec in body.items():
        if field in PARAMETERS:
            continue
        if isinstance(spec, str):
            found.append(((field,), spec))
        elif isinstance(spec, Mapping):
            key = next((k for k in value_keys if isinstance(spec.get(k), str)), None)
            if key is not None:
                found.append(((field, key), spec[key]))
    return found


def check_regexp(value: str) -> list[Finding]:
    """A regexp query value: no slashes, no flags, anchored to the whole term."""
    slashed = re.fullmatch(r"/(.*)/([gimsux]+)", value, re.DOTALL)
    if slashed:  # only with flags: a keyword value may really start and end with a slash
        body, flags = slashed.groups()
        return [Finding(0, f"'{value}' is matched as text, slashes and '{flags}' included: a regexp value is the "
                           f"bare regex without flags; write {body}"
                           + (" with case_insensitive: true" if "i" in flags else ""))]
    return regex.check_body(value, 0)


def check_wildcard(value: str) -> list[Finding]:
    if value[:1] in ("*", "?") and set(value) != {"*"}:
        return [Finding(0, f"'{value}' starts with a wildcard, so every term of the field is scanned "
                           "(slow on large indices); put the wildcard at the end or match the word")]
    return []


def check_simple(text: str) -> list[Finding]:
    """simple_query_string text: no field:value syntax and no AND/OR/NOT words."""
    unquoted = re.sub(r'"(?:[^"\\]|\\.)*"', lambda m: " " * len(m.group(0)), text)
    found = [Finding(m.start(), f"simple_query_string has no field:value syntax, so '{m.group(0)}' is searched "
                                f"as text; list the field in fields: [{m.group(1)}] or use query_string")
             for m in SIMPLE_FIELD.finditer(unquoted)]
    found += [Finding(m.start(), f"'{m.group(1)}' is searched as a word; simple_query_string writes it as "
                                 f"{SIMPLE_SPELLING[m.group(1)]}")
              for m in SIMPLE_OPERATOR.finditer(unquoted)]
    return sorted(found, key=lambda f: f.offset)
