"""Offline checks of the query text in a rule's ``filter:`` (``logalert validate``).

The engine reads a query_string only when a search runs, so a typo in one would
otherwise surface at the rule's first run at the earliest. Every ``query_string``,
``simple_query_string``, ``regexp`` and ``wildcard`` in the filter list, at any depth
(``bool``, ``not``/``and``/``or``, ``nested``…), is checked; each finding becomes one
Problem, ``FILE:LINE: filter[0].query.query_string.query: col N: message``, where
LINE is that of the query's own key and ``col`` is 1-based inside the query text.
A query the engine would refuse is fatal; a query it runs but that probably does not
mean what its author thinks (``message:/ERROR/i``) is a warning with the fix.
"""

from __future__ import annotations

from typing import Any, Iterator, Mapping

from logalert.config.yamlfile import LineMap, Position, load_yaml_file, locate
from logalert.errors import ConfigError, Problem
from logalert.rules.lint import query_string, terms
from logalert.rules.lint.base import Finding

__all__ = ["Finding", "lint_file", "lint_filters"]

Path = tuple[Any, ...]

CHECKED = frozenset({"query_string", "simple_query_string", "regexp", "wildcard"})
# Queries whose bodies hold field names, never nested queries: not walked into, so a
# field that happens to be called "regexp" is not mistaken for a query.
LEAVES = frozenset({
    "term", "terms", "terms_set", "range", "exists", "ids", "prefix", "fuzzy", "match", "match_all",
    "match_none", "match_phrase", "match_phrase_prefix", "match_bool_prefix", "multi_match", "script",
})


def lint_file(path: str) -> list[Problem]:
    """Findings in the ``filter:`` written in this very file (an imported file is
    checked as a file of its own). Unreadable files give none: the loader reports them."""
    try:
        doc = load_yaml_file(path)
    except ConfigError:
        return []
    if not isinstance(doc, LineMap) or not isinstance(doc.get("filter"), list):
        return []
    return lint_filters(doc["filter"], doc.pos.get("filter", (path, 1)))


def lint_filters(filters: list[Any], where: Position) -> list[Problem]:
    """Findings in a filter list; ``where`` is the position of its ``filter:`` key, used
    when the list carries no positions of its own (a plain list, not read from YAML)."""
    problems = []
    for path, kind, body in _queries(filters, ()):
        for sub, findings in _check(kind, body):
            full = path + (kind,) + sub
            file, line = locate(filters, full, where) or where
            option = "filter" + "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in full)
            problems.extend(Problem(file, line, option, f"col {f.offset + 1}: {f.message}", fatal=f.fatal)
                            for f in findings)
    return problems


def _queries(node: Any, path: Path) -> Iterator[tuple[Path, str, Mapping[str, Any]]]:
    """(path, kind, body) of every checked query under ``node``."""
    if isinstance(node, list):
        for i, item in enumerate(node):
            yield from _queries(item, path + (i,))
    elif isinstance(node, Mapping):
        for key, value in node.items():
            if key in CHECKED and isinstance(value, Mapping):
                yield path, key, value
            elif key not in LEAVES:
                yield from _queries(value, path + (key,))


def _check(kind: str, body: Mapping[str, Any]) -> Iterator[tuple[Path, list[Finding]]]:
    """(path inside the body, findings) of one query."""
    if kind in ("query_string", "simple_query_string"):
        text = body.get("query")
        if isinstance(text, str):  # a missing or non-text query is the schema's to report
            yield ("query",), query_string.check(text, body) if kind == "query_string" else terms.check_simple(text)
    elif kind == "regexp":
        for sub, value in terms.field_values(body, ("value",)):
            yield sub, terms.check_regexp(value)
    else:
        for sub, value in terms.field_values(body, ("value", "wildcard")):
            yield sub, terms.check_wildcard(value)
