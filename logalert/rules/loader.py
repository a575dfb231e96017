"""Reading rule files: ``import:`` inheritance, config defaults, validation, Rule.

A broken file never hides the others: ``load_folder`` returns the good rules
and one Problem per finding, each ``FILE:LINE: option: message``.
"""

from __future__ import annotations

import logging
import os
import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Iterator, Mapping

from logalert import options as registry
from logalert import ruletypes, secrets
from logalert.config import Config, schema
from logalert.config.yamlfile import LineList, LineMap, load_yaml_file, plain
from logalert.errors import ConfigError, Problem
from logalert.notify import alerters, foreign
from logalert.options import Option
from logalert.rules import catalog, value_checks
from logalert.rules.model import AlertTarget, Rule

log = logging.getLogger(__name__)

# Config options that are also rule defaults (a rule may override each), from the registry.
INHERITED = registry.INHERITED

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


def rule_files(paths: list[str], subdirectories: bool = True) -> Iterator[str]:
    """YAML files under each path, sorted; hidden and ``_``-prefixed entries are skipped
    (Kubernetes ConfigMap mounts keep ``..data`` copies; ``_base.yaml`` files are for import:).
    ``subdirectories`` false (config ``scan_subdirectories``): only files directly in each folder."""
    for path in paths:
        if os.path.isfile(path):
            yield path
            continue
        if not os.path.isdir(path):
            yield path  # reported as unreadable by the loader
            continue
        for root, dirs, files in os.walk(path, followlinks=True):
            dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_"))) if subdirectories else []
            for name in sorted(files):
                if name.endswith((".yaml", ".yml")) and not name.startswith((".", "_")):
                    yield os.path.join(root, name)


def load_folder(paths: list[str], config: Config) -> LoadResult:
    rules, problems = [], []
    seen_names: dict[str, str] = {}
    for path in rule_files(paths, subdirectories=bool(config["scan_subdirectories"])):
        try:
            rule, warnings = load_rule(path, config)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        except Exception as exc:  # noqa: BLE001 - a loader bug must not unload the other rules
            log.error("loading %s failed", path, exc_info=True)
            problems.append(Problem(path, None, None, f"cannot load this file ({type(exc).__name__}: {exc}); "
                                                      "please report it as a logalert bug"))
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
        raise ConfigError([Problem(path, 1, None, "the file is empty; a rule needs at least name, type, index and alert")])
    if not isinstance(doc, LineMap):
        raise ConfigError([Problem(path, 1, None, f"a rule file must be a mapping of options, got {_kind(doc)}")])
    if doc.written:
        raise ConfigError([Problem(*doc.pos[key], doc.written[key], f"an option name must be text; YAML reads this "
                                   f"key as {_kind(key)} (quote it if it is meant as a name)") for key in doc.written])
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


def _kind(value: Any) -> str:
    """How YAML read a value, in words: ``~`` is null, ``yes`` a boolean, ``1`` an integer."""
    if value is None:
        return "null"
    names = {bool: "a boolean", int: "an integer", float: "a number", str: "text", list: "a list", dict: "a mapping"}
    for kind, name in names.items():
        if isinstance(value, kind):
            return name
    return {"date": "a date", "datetime": "a date and time", "bytes": "binary data"}.get(type(value).__name__,
                                                                                      type(value).__name__)


def load_rule(path: str, config: Config) -> tuple[Rule, list[Problem]]:
    """Read, merge and validate one rule file; ConfigError lists every fatal problem."""
    doc = _read_with_imports(path)
    raw_type = doc.get("type")
    type_name = raw_type if isinstance(raw_type, str) and raw_type in ruletypes.RULE_TYPES else None
    catalog.load_alerters()  # their secret options (webhook URLs) are known before anything prints
    declared = catalog.rule_options(type_name)
    secrets.register_options(doc)
    problems: list[Problem] = []

    # Registry defaults, then config.yaml for the options it hands down, then the file.
    merged = LineMap(catalog.rule_defaults(type_name))
    merged.start = doc.start
    for key in INHERITED:
        if key in config.options:
            merged[key] = config.options[key]
    for key, value in doc.items():
        merged[key] = value
        merged.pos[key] = doc.pos[key]

    # Schemas check what the files say; defaults and config values were checked already
    # (and skipping them keeps `validate` of 1,000 rules well under a second).
    problems.extend(schema.check(doc, catalog.rule_validator(type_name), path))
    if isinstance(raw_type, str) and raw_type and type_name is None:
        p = merged.pos.get("type", (path, None))
        problems.append(Problem(p[0], p[1], "type", f"unknown rule type '{raw_type}'"
                                + schema.did_you_mean(raw_type, ruletypes.RULE_TYPES)
                                + f" (known: {', '.join(sorted(ruletypes.RULE_TYPES))})"))
    targets, overrides = _alert_targets(merged, doc, path, problems)
    semantic = _semantic_checks(merged, path)
    problems.extend(p for p in semantic if p.fatal)
    warnings = [p for p in semantic if not p.fatal] + _option_warnings(doc, declared, targets, overrides, path)
    if problems:
        unique = list(dict.fromkeys(problems))  # a shared option (smtp_host) is in two schemas
        raise ConfigError(sorted(unique + warnings, key=lambda p: (p.file, p.line or 0)))

    values = plain(merged)
    rule = Rule(
        name=values["name"],
        file=path,
        type=values["type"],
        index=values["index"],
        filters=tuple(MappingProxyType(f) for f in values.get("filter") or ()),
        alerts=tuple(targets),
        options=MappingProxyType(values),
        positions=MappingProxyType({str(k): v for k, v in merged.pos.items()}),
    )
    return rule, warnings


def _alert_targets(merged: LineMap, doc: LineMap, path: str,
                   problems: list[Problem]) -> tuple[list[AlertTarget], list[tuple[dict[str, Any], Any]]]:
    """The notifiers of ``alert:`` with the options each sees (its defaults, the rule's
    options, the entry's own), and each entry's overrides with its position."""
    raw = merged.get("alert")
    if raw is None:
        return [], []
    entries = raw if isinstance(raw, list) else [raw]
    targets, entry_overrides = [], []
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
        if not alerters.known(name):
            advice = foreign.instead(name)
            problems.append(Problem(where[0], where[1], "alert", advice or (
                f"unknown notifier '{name}'" + schema.did_you_mean(name, alerters.names() + list(alerters.ALIASES))
                + f" (known: {', '.join(sorted(alerters.names()))})")))
            continue
        secrets.register_options(overrides)
        checked = LineMap(doc)
        checked.pos = dict(doc.pos)
        checked.start = doc.start
        for key, value in overrides.items():
            checked[key] = value
            checked.pos[key] = getattr(overrides, "pos", {}).get(key, where)
        options = dict(catalog.alerter_defaults(name))
        options.update(merged)
        options.update(overrides)
        found = schema.check(checked, catalog.alerter_validator(name), path)
        for problem in found:
            if problem.message == "required option is missing":
                problem = Problem(where[0], where[1], problem.option,
                                  f"required by the '{name}' notifier but not set")
            problems.append(problem)
        if not any(p.fatal for p in found):
            for option, message in alerters.check(name, options):
                # "apprise_urls[1]" is at the line of apprise_urls
                at = checked.pos.get(option) or checked.pos.get(re.split(r"[\[.]", option)[0], where)
                problems.append(Problem(at[0], at[1], option, message))
        targets.append(AlertTarget(alerters.canonical(name), MappingProxyType(plain(options))))
        entry_overrides.append((overrides, where))
    return targets, entry_overrides


def _semantic_checks(rule: LineMap, path: str) -> list[Problem]:
    """What a schema cannot say: combinations of options and the shape of filters."""
    out: list[Problem] = []

    def at(key: str) -> tuple[str, int | None]:
        return rule.pos.get(key, (path, None))

    if rule.get("timestamp_type") == "custom" and not rule.get("timestamp_format"):
        out.append(Problem(*at("timestamp_type"), "timestamp_format", "required when timestamp_type is custom (a strftime format)"))
    index = rule.get("index")
    if rule.get("use_strftime_index") and isinstance(index, str) and "%" not in index:
        # ElastAlert accepts it (the pattern is used as is), so it loads, with a word.
        out.append(Problem(*at("use_strftime_index"), "index", "use_strftime_index is set but the index has no "
                           "%-pattern such as logstash-%Y.%m.%d; the index is searched as written", fatal=False))
    if isinstance(index, str) and re.search(r"[\s\"\\<>|?]", index.replace(", ", ",")):
        out.append(Problem(*at("index"), "index", f"not a valid index pattern: {index!r}"))
    filters = rule.get("filter")
    if isinstance(filters, list):
        for i, item in enumerate(filters):
            if not isinstance(item, dict):
                continue
            line = filters.pos[i] if isinstance(filters, LineList) else at("filter")
            kinds = [k for k in item if k not in FILTER_KINDS]
            if kinds == ["type"]:  # ElastAlert's examples still carry it
                out.append(Problem(line[0], line[1], f"filter[{i}]", "the 'type' filter matches a mapping type, "
                                   "which Elasticsearch 8 and OpenSearch 2 no longer have (they refuse the query); "
                                   "remove this filter"))
            elif kinds:
                out.append(Problem(line[0], line[1], f"filter[{i}]", f"unknown filter kind '{kinds[0]}'"
                                   + schema.did_you_mean(str(kinds[0]), FILTER_KINDS)))
            query = item.get("query")
            if isinstance(query, dict) and "query_string" in query:
                qs = query["query_string"]
                if not isinstance(qs, dict) or not isinstance(qs.get("query"), str):
                    out.append(Problem(line[0], line[1], f"filter[{i}].query.query_string", "needs a 'query' string"))
    out.extend(value_checks.check(rule, at))  # cron, zones, timestamp_format_expr, search_extra_index
    type_name = rule.get("type")
    if isinstance(type_name, str) and type_name in ruletypes.RULE_TYPES:  # the type's own contradictions
        for option, message in ruletypes.get(type_name).check(rule, path):
            out.append(Problem(*(at(option) if option in rule else at("type")), option, message))
    return out


def _option_warnings(doc: LineMap, declared: Mapping[str, Option], targets: list[AlertTarget],
                     overrides: list[tuple[dict[str, Any], Any]], path: str) -> list[Problem]:
    """Non-fatal findings about option names: unknown ones (with did-you-mean), config.yaml
    options that do nothing in a rule, and options accepted but not implemented."""
    out: list[Problem] = []
    own = dict(declared)
    entries = doc.get("alert") if isinstance(doc.get("alert"), list) else [doc.get("alert")]
    refused = {e if isinstance(e, str) else next(iter(e), None) for e in entries if isinstance(e, (str, dict)) and e}
    for target in targets:
        own.update(catalog.alerter(target.name).options)
    for key, value in doc.items():
        p = doc.pos.get(key, (path, None))
        option = own.get(key)
        if option is not None:
            if option.warns_for(value):
                out.append(Problem(p[0], p[1], key, option.warning(), fatal=False))
        elif key in catalog.CONFIG_ONLY:
            out.append(Problem(p[0], p[1], key, "a config.yaml option; it has no effect in a rule", fatal=False))
        elif key not in catalog.every_option():  # else: an option of another rule type or alerter
            owner = foreign.owner(str(key))  # an ElastAlert2 notifier logalert does not have
            if owner is None:
                out.append(Problem(p[0], p[1], str(key), "unknown option, ignored"
                                   + schema.did_you_mean(str(key), catalog.every_option()), fatal=False))
            elif owner.name not in refused:  # else the refusal of its alert: entry says it all
                out.append(Problem(p[0], p[1], str(key), foreign.option_advice(str(key)) or "", fatal=False))
    for target, (entry, where) in zip(targets, overrides):
        known = catalog.alerter(target.name).options
        for key, value in entry.items():
            if key in known and known[key].warns_for(value):
                p = getattr(entry, "pos", {}).get(key, where)
                out.append(Problem(p[0], p[1], key, known[key].warning(), fatal=False))
    return out
