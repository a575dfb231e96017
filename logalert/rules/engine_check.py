"""``validate --engine``: each rule against the engine it runs on.

The offline checks cannot see the cluster: a misspelt index pattern or a field that is
text where a keyword is needed loads fine and then never alerts. With the engine:

- every index pattern matches at least one index, alias or data stream (else: the
  closest existing name or pattern);
- every field the rule uses (``logalert.rules.fields_used``) is mapped, with a type that
  works for its use (else: the field's real type, or the ``.keyword`` sub-field to use);
- the engine validates the rule's filter once (``_validate/query``).

Each finding is a Problem (``FILE:LINE: option: message``). The backend is passed in,
so this module needs no engine client; answers are cached per index expression, so a
folder of rules on one pattern costs one mapping request.
"""

from __future__ import annotations

import difflib
import fnmatch
import re
from typing import TYPE_CHECKING, Any

from logalert.config.yamlfile import LineMap, load_yaml_file, locate
from logalert.errors import ConfigError, Problem, short_reason
from logalert.rules.fields_used import FieldUse, rule_fields, source_field
from logalert.rules.filters import normalise_filter
from logalert.rules.model import Rule

if TYPE_CHECKING:
    from logalert.engine import Backend

NUMERIC = frozenset({"long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float",
                     "unsigned_long"})
DATES = frozenset({"date", "date_nanos"})
EXACT = NUMERIC | DATES | {"keyword", "constant_keyword", "wildcard", "boolean", "ip", "version"}
WHY = {
    "exact": "a term query compares whole values, and a text field holds lower-cased words",
    "aggregate": "counting per value needs an aggregatable field",
    "numeric": "a metric needs a number",
}


def index_expression(rule: Rule) -> str:
    """The rule's index as a pattern: ``logstash-%Y.%m.%d`` reads as ``logstash-*``."""
    if rule.get("use_strftime_index"):
        return re.sub(r"\*+", "*", re.sub(r"%.", "*", rule.index))
    return rule.index


def closest(pattern: str, names: list[str]) -> str | None:
    """The existing index name, or family pattern (``logstash-*`` for daily indices),
    nearest to ``pattern``."""
    families = {re.sub(r"(?<=[-_.])\d[\d.\-_:T]*$", "", n) + "*" for n in names if re.search(r"[-_.]\d[\d.\-_:T]*$", n)}
    pool = sorted(families) if "*" in pattern and families else sorted(set(names) | families)
    found = difflib.get_close_matches(pattern, pool, n=1, cutoff=0.6)
    return found[0] if found else None


class EngineCheck:
    """The checks of many rules on one engine, sharing its answers."""

    def __init__(self, backend: Backend):
        self.backend = backend
        self._names: list[str] | None = None
        self._resolved: dict[str, list[str]] = {}
        self._fields: dict[str, dict[str, dict[str, bool]]] = {}
        self._files: dict[str, Any] = {}

    def check(self, rule: Rule) -> list[Problem]:
        problems = self.index_problems(rule)
        if any(p.fatal for p in problems) and not self._matched(rule):
            return problems  # no mappings to read and nothing to validate against
        problems += self.field_problems(rule)
        found = self.query_problem(rule)
        return problems + ([found] if found else [])

    # --- index patterns ------------------------------------------------------------
    def names(self) -> list[str]:
        if self._names is None:
            self._names = self.backend.resolve_indices("*")
        return self._names

    def resolve(self, expression: str) -> list[str]:
        if expression not in self._resolved:
            self._resolved[expression] = self.backend.resolve_indices(expression)
        return self._resolved[expression]

    def _parts(self, rule: Rule) -> list[str]:
        parts = [p.strip() for p in index_expression(rule).split(",")]
        return [p for p in parts if p and not p.startswith("-")]

    def _matched(self, rule: Rule) -> bool:
        return any(self.resolve(part) for part in self._parts(rule))

    def index_problems(self, rule: Rule, *, fatal: bool = True) -> list[Problem]:
        """One problem per part of the index expression that matches nothing."""
        problems = []
        for part in self._parts(rule):
            if self.resolve(part):
                continue
            near = closest(part, self.names())
            if near is None:
                count = len(self.names())
                hint = f"; the engine has {count} {'index' if count == 1 else 'indices'}, none with a similar name"
            else:
                count = len(fnmatch.filter(self.names(), near))
                hint = f"; the closest existing: {near!r}" + (
                    f" ({count} {'index' if count == 1 else 'indices'})" if "*" in near else "")
            problems.append(Problem(*self._at(rule, "index"), "index",
                                    f"{part!r} matches no index, alias or data stream on this engine{hint}", fatal=fatal))
        return problems

    # --- fields ----------------------------------------------------------------------
    def mapped(self, rule: Rule) -> dict[str, dict[str, bool]]:
        """field -> {type: aggregatable} for every field of the rule's indices."""
        expression = index_expression(rule)
        if expression not in self._fields:
            self._fields[expression] = self.backend.field_types(expression)
        return self._fields[expression]

    def field_problems(self, rule: Rule) -> list[Problem]:
        caps = self.mapped(rule)
        problems = []
        for use in rule_fields(rule):
            message = self._field_message(rule, use, caps)
            if message:
                problems.append(Problem(*self._where(rule, use), use.option, message))
        return problems

    def _field_message(self, rule: Rule, use: FieldUse, caps: dict[str, dict[str, bool]]) -> str | None:
        name = use.field
        types = caps.get(name)
        if not types:
            return f"field {name!r} is not in the mappings of {index_expression(rule)!r}" + _missing_hint(name, use, caps, rule)
        if _usable(use.need, types, rule):
            return None
        shown = " and ".join(sorted(types)) if len(types) == 1 else \
            " in some indices and ".join(sorted(types)) + " in others"
        if use.need == "date":
            wanted = "a date or a number" if rule.timestamp_type in ("unix", "unix_ms") else "a date"
            return f"{name!r} is {shown}, but the timestamp field must be {wanted}"
        better = next((sub for sub in (f"{name}.keyword", f"{name}.raw") if sub in caps and _usable(use.need, caps[sub], rule)),
                      None)
        fix = f"; use {better!r}" if better else ("; map it as keyword" if "text" in types else "")
        return f"{name!r} is {shown}: {WHY.get(use.need, 'it cannot be used here')}{fix}"

    # --- the query ---------------------------------------------------------------------
    def query_problem(self, rule: Rule) -> Problem | None:
        """The engine's own verdict on the rule's filter (one request)."""
        clauses = [normalise_filter(f) for f in rule.filters]
        query = {"bool": {"filter": clauses}} if clauses else {"match_all": {}}
        reason = self.backend.validate_query(index_expression(rule), query)
        if reason is None:
            return None
        return Problem(*self._at(rule, "filter"), "filter", f"the engine rejects this query: {short_reason(reason)}")

    # --- positions -----------------------------------------------------------------------
    def _at(self, rule: Rule, option: str) -> tuple[str, int | None]:
        file, line = rule.positions.get(option) or rule.positions.get("type") or (rule.file, 0)
        return file, line or None

    def _where(self, rule: Rule, use: FieldUse) -> tuple[str, int | None]:
        """The line of the option; inside a filter, the line of the field itself."""
        root = use.option.split("[")[0].split(".")[0]
        file, line = self._at(rule, root)
        if not use.path or root not in rule.positions:
            return file, line
        if file not in self._files:
            try:
                self._files[file] = load_yaml_file(file)
            except ConfigError:
                self._files[file] = None
        doc = self._files[file]
        if isinstance(doc, LineMap) and isinstance(doc.get(root), list):
            found = locate(doc[root], list(use.path))
            if found:
                return found
        return file, line


def _usable(need: str, types: dict[str, bool], rule: Rule) -> bool:
    kinds = set(types)
    if need == "exact":
        return kinds <= EXACT
    if need == "aggregate":
        return all(types.values())
    if need == "numeric":
        return kinds <= NUMERIC | DATES
    if need == "date":
        if rule.timestamp_type in ("unix", "unix_ms"):
            return kinds <= NUMERIC | DATES
        return rule.timestamp_type == "custom" or kinds <= DATES
    return True


def _missing_hint(name: str, use: FieldUse, caps: dict[str, dict[str, bool]], rule: Rule) -> str:
    base = source_field(name)
    if base != name and base in caps:
        kind = " and ".join(sorted(caps[base]))
        return (f"; {base!r} is {kind} and has no {name[len(base) + 1:]!r} sub-field"
                + (f", use {base!r}" if _usable(use.need, caps[base], rule) else ""))
    fields = [f for f in caps if not f.startswith("_")]
    near = difflib.get_close_matches(name, fields, n=1, cutoff=0.75)
    return f"; did you mean {near[0]!r}?" if near else ""
