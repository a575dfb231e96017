"""Rule unit-test files (``logalert test``): reading and checking them.

```yaml
rules: [../rules/any_error.yaml]          # paths relative to this file
tests:
  - name: two errors alert twice
    now: "2025-01-15T10:00:00Z"           # the clock; default: just after the last document
    mappings: {properties: {...}}         # optional; default: the engine's dynamic mapping
    documents:                            # inline, or documents_file: logs.ndjson
      - {"@timestamp": "-5m", "level": "ERROR", "message": "payment failed"}
    expect:
      - rule: Any error in the logs
        alerts: 2                         # exact count
        matches: [{level: ERROR}]         # the i-th alert's (first) match has these fields
        text_contains: "payment failed"   # in some alert's subject or body (or a list)
```

A rule the test does not name in ``expect`` must not alert. Every problem is one
``FILE:LINE: where: message`` line.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from logalert.config import Config
from logalert.config.schema import did_you_mean
from logalert.config.yamlfile import LineList, LineMap, load_yaml_file, load_yaml_text, plain
from logalert.errors import ConfigError, Problem
from logalert.rules import Rule, load_rule
from logalert.timeutil import SHORT_UNITS, ensure_utc, format_doc_time, iso, parse_iso

RELATIVE = re.compile(r"^(now)?\s*([+-])\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)$|^now$")
TOP_KEYS = ("rules", "tests")
TEST_KEYS = ("name", "now", "mappings", "documents", "documents_file", "expect")
EXPECT_KEYS = ("rule", "alerts", "matches", "text_contains")


@dataclass
class Expect:
    rule: str
    where: str
    alerts: int | None = None
    matches: list[dict[str, Any]] | None = None
    text_contains: list[str] = field(default_factory=list)


@dataclass
class Case:
    name: str
    where: str  # FILE:LINE of the test
    now: dt.datetime | None
    mappings: dict[str, Any] | None
    documents: list[dict[str, Any]]
    expects: list[Expect]


@dataclass
class RuleTestFile:
    path: str
    rules: list[Rule]
    cases: list[Case]
    warnings: list[Problem] = field(default_factory=list)


class _Reader:
    def __init__(self, path: str):
        self.path = path
        self.problems: list[Problem] = []

    def problem(self, node: Any, key: Any, where: str, message: str) -> None:
        line = None
        if isinstance(node, LineMap) and key in node.pos:
            line = node.pos[key][1]
        elif isinstance(node, LineList) and isinstance(key, int) and key < len(node.pos):
            line = node.pos[key][1]
        elif getattr(node, "start", None):
            line = node.start[1]
        self.problems.append(Problem(self.path, line, where, message))

    def mapping(self, node: Any, key: Any, where: str, allowed: tuple[str, ...]) -> LineMap | None:
        value = node[key] if key is not None else node
        if not isinstance(value, dict):
            self.problem(node, key, where, "must be a mapping")
            return None
        for name in value:
            if name not in allowed:
                self.problem(value, name, f"{where}.{name}" if where else str(name),
                             "unknown key" + did_you_mean(str(name), allowed) + f" (known: {', '.join(allowed)})")
        return value


def read(path: str, config: Config) -> RuleTestFile:
    """The test file with its rules loaded; ConfigError lists every problem."""
    reader = _Reader(path)
    doc = load_yaml_file(path)
    if not isinstance(doc, dict):
        raise ConfigError([Problem(path, 1, None, "a test file is a mapping with 'rules' and 'tests'")])
    reader.mapping(doc, None, "", TOP_KEYS)
    rules, warnings = _rules(reader, doc, config)
    names = [r.name for r in rules]
    cases = []
    raw_tests = doc.get("tests")
    if not isinstance(raw_tests, list) or not raw_tests:
        reader.problem(doc, "tests" if "tests" in doc else None, "tests", "required: a list of tests")
        raw_tests = []
    seen: set[str] = set()
    for i, raw in enumerate(raw_tests):
        case = _case(reader, raw_tests, i, names)
        if case is not None:
            if case.name in seen:
                reader.problem(raw_tests, i, f"tests[{i}].name", f"another test is named {case.name!r}")
            seen.add(case.name)
            cases.append(case)
    if reader.problems:
        raise ConfigError(reader.problems)
    return RuleTestFile(path, rules, cases, warnings)


def _rules(reader: _Reader, doc: LineMap, config: Config) -> tuple[list[Rule], list[Problem]]:
    raw = doc.get("rules")
    if isinstance(raw, str):
        raw = LineList([raw])
    if not isinstance(raw, list) or not raw or not all(isinstance(r, str) for r in raw):
        reader.problem(doc, "rules" if "rules" in doc else None, "rules", "required: a list of rule files "
                       "(relative to this file)")
        return [], []
    rules, warnings = [], []
    for i, name in enumerate(raw):
        rule_path = os.path.normpath(os.path.join(os.path.dirname(reader.path), os.path.expanduser(name)))
        if not os.path.isfile(rule_path):
            reader.problem(raw, i, f"rules[{i}]", f"no such rule file: {rule_path}")
            continue
        try:
            rule, found = load_rule(rule_path, config)
        except ConfigError as exc:
            reader.problems.extend(exc.problems)
            continue
        if any(r.name == rule.name for r in rules):
            reader.problem(raw, i, f"rules[{i}]", f"two rules are named {rule.name!r}")
        rules.append(rule)
        warnings.extend(found)
    return rules, warnings


def _case(reader: _Reader, tests: LineList, i: int, names: list[str]) -> Case | None:
    where = f"tests[{i}]"
    raw = reader.mapping(tests, i, where, TEST_KEYS)
    if raw is None:
        return None
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        reader.problem(raw, "name" if "name" in raw else None, f"{where}.name", "required: the test's name")
        name = f"#{i + 1}"
    now = None
    if raw.get("now") is not None:
        try:
            now = _moment(raw["now"])
        except ValueError:
            reader.problem(raw, "now", f"{where}.now", f"not a time: {raw['now']!r} (use ISO 8601, e.g. "
                           "2025-01-15T10:00:00Z)")
    mappings = raw.get("mappings")
    if mappings is not None and (not isinstance(mappings, dict) or not isinstance(mappings.get("properties", {}), dict)):
        reader.problem(raw, "mappings", f"{where}.mappings", "must be a mapping such as {properties: {level: {type: keyword}}}")
        mappings = None
    documents = _documents(reader, raw, where)
    expects: list[Expect] = []
    raw_expect = raw.get("expect", [])
    if not isinstance(raw_expect, list):
        reader.problem(raw, "expect", f"{where}.expect", "must be a list of {rule: NAME, alerts: N, …}")
        raw_expect = []
    for j, item in enumerate(raw_expect):
        expect = _expect(reader, raw_expect, j, f"{where}.expect[{j}]", names)
        if expect is not None:
            expects.append(expect)
    line = tests.pos[i][1] if i < len(tests.pos) else None
    return Case(name, f"{reader.path}:{line}" if line else reader.path, now,
                plain(mappings) if mappings else None, documents, expects)


def _documents(reader: _Reader, raw: LineMap, where: str) -> list[dict[str, Any]]:
    if "documents" in raw and "documents_file" in raw:
        reader.problem(raw, "documents_file", f"{where}.documents_file", "give documents or documents_file, not both")
        return []
    if "documents_file" in raw:
        name = raw["documents_file"]
        if not isinstance(name, str):
            reader.problem(raw, "documents_file", f"{where}.documents_file", "must be a file name")
            return []
        path = os.path.normpath(os.path.join(os.path.dirname(reader.path), os.path.expanduser(name)))
        try:
            docs = read_documents(path)
        except ConfigError as exc:
            reader.problems.extend(exc.problems)
            return []
    else:
        docs = raw.get("documents") or []
        if not isinstance(docs, list):
            reader.problem(raw, "documents", f"{where}.documents", "must be a list of documents")
            return []
    out = []
    for k, doc in enumerate(docs):
        if not isinstance(doc, dict):
            node, key = (docs, k) if isinstance(docs, LineList) else (raw, "documents_file")
            reader.problem(node, key, f"{where}.documents[{k}]", "a document must be a mapping")
            continue
        out.append(_json_safe(plain(doc)))
    return out


def read_documents(path: str) -> list[Any]:
    """Documents from a file: NDJSON (one JSON object a line), a JSON list, or YAML."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError([Problem(path, None, None, f"cannot read documents: {exc.strerror}")]) from None
    if path.endswith((".ndjson", ".jsonl")):
        docs = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    docs.append(json.loads(line))
                except ValueError as exc:
                    raise ConfigError([Problem(path, n, None, f"not a JSON document: {exc}")]) from None
        return docs
    loaded = load_yaml_text(text, path)  # JSON is YAML
    if not isinstance(loaded, list):
        raise ConfigError([Problem(path, 1, None, "must hold a list of documents (or use .ndjson)")])
    return loaded


def _expect(reader: _Reader, items: LineList, j: int, where: str, names: list[str]) -> Expect | None:
    raw = reader.mapping(items, j, where, EXPECT_KEYS)
    if raw is None:
        return None
    rule = raw.get("rule")
    if not isinstance(rule, str) or (names and rule not in names):
        close = did_you_mean(str(rule), names)
        reader.problem(raw, "rule" if "rule" in raw else None, f"{where}.rule",
                       (f"no rule named {rule!r} in this file's rules" + close if rule is not None
                        else "required: the name of one of the file's rules") + f" ({', '.join(map(repr, names))})")
    line = raw.pos.get("rule", (reader.path, None))[1]
    expect = Expect(str(rule), f"{reader.path}:{line}" if line else reader.path)
    alerts = raw.get("alerts")
    if alerts is not None and (not isinstance(alerts, int) or isinstance(alerts, bool) or alerts < 0):
        reader.problem(raw, "alerts", f"{where}.alerts", "must be a whole number (0 or more)")
    elif alerts is not None:
        expect.alerts = alerts
    matches = raw.get("matches")
    if matches is not None:
        if not isinstance(matches, list) or not all(isinstance(m, dict) for m in matches):
            reader.problem(raw, "matches", f"{where}.matches", "must be a list of mappings, one per alert")
        else:
            expect.matches = [_json_safe(plain(m)) for m in matches]
    text = raw.get("text_contains")
    if text is not None:
        texts = text if isinstance(text, list) else [text]
        if not all(isinstance(t, str) for t in texts):
            reader.problem(raw, "text_contains", f"{where}.text_contains", "must be a text or a list of texts")
        else:
            expect.text_contains = list(texts)
    return expect


def _moment(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return ensure_utc(value)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.timezone.utc)
    if isinstance(value, str):
        return parse_iso(value)
    raise ValueError(value)


def _json_safe(value: Any) -> Any:
    """YAML timestamps (an unquoted 2025-01-15T10:00:00Z) as the ISO text a log holds."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dt.datetime):
        return iso(ensure_utc(value))
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


# --- times relative to the test's clock ------------------------------------------------
def relative(value: Any) -> dt.timedelta | None:
    """``-5m``, ``+1h``, ``now-90s``, ``now``: the offset from the test's clock; None for
    anything else."""
    if not isinstance(value, str):
        return None
    match = RELATIVE.match(value.strip())
    if not match:
        return None
    if value.strip() == "now":
        return dt.timedelta(0)
    amount = float(match.group(3)) * (1 if match.group(2) == "+" else -1)
    return dt.timedelta(**{SHORT_UNITS[match.group(4)]: amount})


def place(doc: dict[str, Any], fields: dict[str, tuple[str, str | None]], now: dt.datetime) -> dict[str, Any]:
    """``doc`` with relative times in the rules' timestamp fields made absolute, in
    each field's timestamp_type (``fields``: name -> (type, format))."""
    out = json.loads(json.dumps(doc))
    for name, (kind, fmt) in fields.items():
        node, parts = out, name.split(".")
        if name in node:
            parent, key = node, name
        else:
            parent, key = None, None
            for i, part in enumerate(parts):
                if not isinstance(node, dict):
                    break
                if i == len(parts) - 1 and part in node:
                    parent, key = node, part
                node = node.get(part) if isinstance(node, dict) else None
        if parent is None:
            continue
        offset = relative(parent[key])
        if offset is not None:
            parent[key] = format_doc_time(now + offset, kind, fmt)
    return out
