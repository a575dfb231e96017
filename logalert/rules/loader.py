"""Reading rule files: ``import:`` inheritance, config defaults, validation, Rule.

A broken file never hides the others: ``load_folder`` returns the good rules
and one Problem per finding, each ``FILE:LINE: option: message``.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterator

from logalert import ruletypes, secrets
from logalert.config import Config, schema
from logalert.config.yamlfile import LineList, LineMap, load_yaml_file, plain
from logalert.errors import ConfigError, Problem
from logalert.notify import alerters
from logalert.rules.model import AlertTarget, Rule

# Config options that are also rule defaults (a rule may override each).
INHERITED = (
    "es_host", "es_port", "use_ssl", "verify_certs", "ca_certs", "client_cert", "client_key",
    "es_username", "es_password", "es_api_key", "es_url_prefix", "run_every", "buffer_time",
    "query_delay", "max_query_size", "realert", "alert_time_limit", "old_query_limit",
    "smtp_host", "smtp_port", "from_addr", "email_reply_to",
)

RULE_DEFAULTS: dict[str, Any] = {
    "timestamp_field": "@timestamp",
    "timestamp_type": "iso",
    "realert": {"minutes": 1},
    "filter": [],
    "alert_missing_value": "<MISSING VALUE>",
}

FILTER_KINDS = frozenset({
    "query", "query_string", "term", "terms", "range", "bool", "exists", "wildcard", "regexp",
    "match", "match_phrase", "match_all", "prefix", "ids", "simple_query_string", "not", "and", "or",
    "nested", "multi_match", "fuzzy",
})


@dataclass
class LoadResult:
    rules: list[Rule]
    problems: list[Problem]  # fatal ones made a file invalid; others are warnings

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.fatal]


def rule_files(paths: list[str]) -> Iterator[str]:
    """YAML files under each path, sorted; hidden and ``_``-prefixed entries are skipped
    (Kubernetes ConfigMap mounts keep ``..data`` copies; ``_base.yaml`` files are for import:)."""
    for path in paths:
        if os.path.isfile(path):
            yield path
            continue
        if not os.path.isdir(path):
            yield path  # reported as unreadable by the loader
            continue
        for root, dirs, files in os.walk(path, followlinks=True):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
            for name in sorted(files):
                if name.endswith((".yaml", ".yml")) and not name.startswith((".", "_")):
                    yield os.path.join(root, name)


def load_folder(paths: list[str], config: Config) -> LoadResult:
    rules, problems = [], []
    seen_names: dict[str, str] = {}
    for path in rule_files(paths):
        try:
            rule, warnings = load_rule(path, config)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        problems.extend(warnings)
        if rule.name in seen_names:
            file, line = rule.positions.get("name", (path, 0))
            problems.append(Problem(file, line, "name",
                                    f"duplicate rule name, also used in {seen_names[rule.name]}"))
            continue
        seen_names[rule.name] = path
        rules.append(rule)
    return LoadResult(rules, problems)


def _read_with_imports(path: str, chain: tuple[str, ...] = ()) -> LineMap:
    """The file's mapping merged over its imports (the importing file wins)."""
    doc = load_yaml_file(path)
    if doc is None or (isinstance(doc, str) and not doc.strip()):
        raise ConfigError([Problem(path, None, None, "the file is empty; a rule needs at least name, type, index and alert")])
    if not isinstance(doc, LineMap):
        raise ConfigError([Problem(path, 1, None, f"a rule file must be a mapping of options, got {type(doc).__name__}")])
    imports = doc.get("import")
    if not imports:
        return doc
    pos = doc.pos["import"]
    names = [imports] if isinstance(imports, str) else imports
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError([Problem(pos[0], pos[1], "import", "must be a file name or a list of file names")])
    merged = LineMap()
    merged.start = doc.start
    for name in names:
        target = os.path.normpath(os.path.join(os.path.dirname(path), os.path.expanduser(name)))
        if target in chain or target == os.path.normpath(path):
            raise ConfigError([Problem(pos[0], pos[1], "import", f"circular import of {name}")])
        if not os.path.isfile(target):
            raise ConfigError([Problem(pos[0], pos[1], "import", f"imported file not found: {target}")])
        base = _read_with_imports(target, chain + (os.path.normpath(path),))
        for key, value in base.items():
            merged[key] = value
            merged.pos[key] = base.pos.get(key, pos)
    for key, value in doc.items():
        if key != "import":
            merged[key] = value
            merged.pos[key] = doc.pos[key]
    return merged


def load_rule(path: str, config: Config) -> tuple[Rule, list[Problem]]:
    """Read, merge and validate one rule file; ConfigError lists every fatal problem."""
    doc = _read_with_imports(path)
    secrets.register_options(doc)
    problems: list[Problem] = []
    warnings: list[Problem] = []

    merged = LineMap()
    merged.start = doc.start
    merged.update(RULE_DEFAULTS)
    for key in INHERITED:
        if key in config.options:
            merged[key] = config.options[key]
    for key, value in doc.items():
        merged[key] = value
        merged.pos[key] = doc.pos[key]

    # Schemas check what the files say; defaults and config values were checked already
    # (and skipping them keeps `validate` of 1,000 rules well under a second).
    problems.extend(schema.check(doc, "rule.json", path))
    type_name = merged.get("type")
    if isinstance(type_name, str) and type_name:
        if type_name in ruletypes.RULE_TYPES:
            problems.extend(schema.check(doc, f"ruletypes/{type_name}.json", path))
        else:
            p = merged.pos.get("type", (path, None))
            problems.append(Problem(p[0], p[1], "type", f"unknown rule type '{type_name}'"
                                    + schema.did_you_mean(type_name, ruletypes.RULE_TYPES)
                                    + f" (known: {', '.join(sorted(ruletypes.RULE_TYPES))})"))
    targets = _alert_targets(merged, doc, path, problems)
    problems.extend(_semantic_checks(merged, path))

    known = _known_options()
    for key in doc:
        if key not in known:
            p = doc.pos.get(key, (path, None))
            warnings.append(Problem(p[0], p[1], str(key), "unknown option, ignored" + schema.did_you_mean(str(key), known), fatal=False))
    if problems:
        raise ConfigError(sorted(problems + warnings, key=lambda p: (p.file, p.line or 0)))

    options = plain(merged)
    rule = Rule(
        name=options["name"],
        file=path,
        type=options["type"],
        index=options["index"],
        filters=tuple(MappingProxyType(f) for f in options.get("filter") or ()),
        alerts=tuple(targets),
        options=MappingProxyType(options),
        positions=MappingProxyType({str(k): v for k, v in merged.pos.items()}),
    )
    return rule, warnings


def _alert_targets(merged: LineMap, doc: LineMap, path: str, problems: list[Problem]) -> list[AlertTarget]:
    raw = merged.get("alert")
    if raw is None:
        return []
    entries = raw if isinstance(raw, list) else [raw]
    targets = []
    for i, entry in enumerate(entries):
        where = entries.pos[i] if isinstance(entries, LineList) and i < len(entries.pos) else merged.pos.get("alert", (path, None))
        if isinstance(entry, dict) and len(entry) == 1:
            name, overrides = next(iter(entry.items()))
            overrides = overrides or {}
        elif isinstance(entry, str):
            name, overrides = entry, {}
        else:
            continue  # the schema already reported it
        if not isinstance(overrides, dict):
            problems.append(Problem(where[0], where[1], f"alert.{name}", "per-notifier options must be a mapping"))
            continue
        if alerters.canonical(name) not in alerters.ALERTERS:
            problems.append(Problem(where[0], where[1], "alert", f"unknown notifier '{name}'"
                                    + schema.did_you_mean(name, list(alerters.ALERTERS) + list(alerters.ALIASES))
                                    + f" (known: {', '.join(sorted(alerters.ALERTERS))})"))
            continue
        secrets.register_options(overrides)
        checked = LineMap(doc)
        checked.pos = dict(doc.pos)
        checked.start = doc.start
        for key, value in overrides.items():
            checked[key] = value
            checked.pos[key] = getattr(overrides, "pos", {}).get(key, where)
        options = dict(merged)
        options.update(overrides)
        for problem in schema.check(checked, f"alerters/{alerters.canonical(name)}.json", path):
            if problem.message == "required option is missing":
                problem = Problem(where[0], where[1], problem.option,
                                  f"required by the '{name}' notifier but not set")
            problems.append(problem)
        targets.append(AlertTarget(alerters.canonical(name), MappingProxyType(plain(options))))
    return targets


def _semantic_checks(rule: LineMap, path: str) -> list[Problem]:
    """What a schema cannot say: combinations of options and the shape of filters."""
    out: list[Problem] = []

    def at(key: str) -> tuple[str, int | None]:
        return rule.pos.get(key, (path, None))

    if rule.get("timestamp_type") == "custom" and not rule.get("timestamp_format"):
        out.append(Problem(*at("timestamp_type"), "timestamp_format", "required when timestamp_type is custom (a strftime format)"))
    index = rule.get("index")
    if rule.get("use_strftime_index") and isinstance(index, str) and "%" not in index:
        out.append(Problem(*at("use_strftime_index"), "index", "use_strftime_index is set but the index has no %-pattern such as logstash-%Y.%m.%d"))
    if isinstance(index, str) and re.search(r"[\s\"\\<>|?]", index.replace(", ", ",")):
        out.append(Problem(*at("index"), "index", f"not a valid index pattern: {index!r}"))
    filters = rule.get("filter")
    if isinstance(filters, list):
        for i, item in enumerate(filters):
            if not isinstance(item, dict):
                continue
            line = filters.pos[i] if isinstance(filters, LineList) else at("filter")
            kinds = [k for k in item if k not in FILTER_KINDS]
            if kinds:
                out.append(Problem(line[0], line[1], f"filter[{i}]", f"unknown filter kind '{kinds[0]}'"
                                   + schema.did_you_mean(str(kinds[0]), FILTER_KINDS)))
            query = item.get("query")
            if isinstance(query, dict) and "query_string" in query:
                qs = query["query_string"]
                if not isinstance(qs, dict) or not isinstance(qs.get("query"), str):
                    out.append(Problem(line[0], line[1], f"filter[{i}].query.query_string", "needs a 'query' string"))
    type_name = rule.get("type")
    if isinstance(type_name, str) and type_name in ruletypes.RULE_TYPES:  # the type's own contradictions
        for option, message in ruletypes.get(type_name).check(rule, path):
            out.append(Problem(*(at(option) if option in rule else at("type")), option, message))
    return out


_KNOWN: set[str] | None = None


def _known_options() -> set[str]:
    global _KNOWN
    if _KNOWN is None:
        known = schema.option_names("rule.json") | schema.option_names("config.json")
        for name in ruletypes.RULE_TYPES:
            known |= schema.option_names(f"ruletypes/{name}.json")
        for name in alerters.ALERTERS:
            known |= schema.option_names(f"alerters/{name}.json")
        _KNOWN = known
    return _KNOWN
