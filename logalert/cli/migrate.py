"""``migrate PATH``: what an ElastAlert2 setup becomes under logalert, before switching.

PATH is an ElastAlert2 config.yaml, or a folder holding one (its ``rules_folder`` names the
rules), or a folder of rules alone. Nothing is written and no engine is called: the report
runs the same loader as ``validate`` and ``run``, so "loads as is" here means the daemon
loads it as is. Per rule: loads as is, behaves differently (each warning with file:line
and option), or refused (why, one line each), with the suggested change where one is
known (a notifier to replace through Apprise or post2, a misspelt option).
"""

from __future__ import annotations

import argparse
import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

from logalert.cli.common import EXIT_INVALID, EXIT_OK, UsageError, out
from logalert.config import Config, load_config
from logalert.config.yamlfile import load_yaml_file
from logalert.errors import ConfigError, Problem
from logalert.notify import foreign
from logalert.rules import load_rule, rule_files

AS_IS, DIFFERENT, REFUSED = "loads as is", "behaves differently", "refused"
_DID_YOU_MEAN = re.compile(r"did you mean '([^']+)'\?")


@dataclass
class FileReport:
    """One file's verdict: ``problems`` are the loader's findings (fatal ones refuse it)."""

    file: str
    problems: list[Problem]
    name: str | None = None
    changes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        if any(p.fatal for p in self.problems):
            return REFUSED
        return DIFFERENT if self.problems else AS_IS

    def as_json(self) -> dict[str, Any]:
        return {"file": self.file, "name": self.name, "status": self.status, "changes": self.changes,
                "problems": [{"file": p.file, "line": p.line, "option": p.option, "message": p.message,
                              "fatal": p.fatal} for p in self.problems]}


def _locate(path: str) -> tuple[str | None, str | None]:
    """(config file, rules folder or None to take the config's) for PATH."""
    if os.path.isfile(path):
        return path, None
    if os.path.isdir(path):
        candidate = os.path.join(path, "config.yaml")
        return (candidate, None) if os.path.isfile(candidate) else (None, path)
    raise UsageError(f"migrate: {path}: no such file or folder (give an ElastAlert2 config.yaml or its folder)")


def _config(path: str | None) -> tuple[Config, FileReport | None]:
    if path is None:
        return load_config(None, environ={}), None
    try:
        loaded = load_config(path, environ={})  # the file as it is, not this shell's LOGALERT_*
    except ConfigError as exc:  # report it; the rules are still read, with defaults next to the file
        return Config(path, load_config(None, environ={}).options), FileReport(path, list(exc.problems))
    return loaded, FileReport(path, list(loaded.warnings))


def _alert_names(doc: Any) -> list[str]:
    raw = doc.get("alert") if isinstance(doc, dict) else None
    entries = raw if isinstance(raw, list) else [raw]
    names = [e if isinstance(e, str) else next(iter(e), None) if isinstance(e, dict) else None for e in entries]
    return [n for n in names if isinstance(n, str)]


def _changes(path: str, problems: list[Problem]) -> list[str]:
    """Suggested edits: each foreign notifier's replacement (and the options it leaves
    behind), each misspelt option's likely name."""
    try:
        doc = load_yaml_file(path)
    except Exception:  # noqa: BLE001 - the loader already reported why the file is unreadable
        doc = None
    out_: list[str] = []
    for name in _alert_names(doc):
        found = foreign.NOTIFIERS.get(name)
        if found is None:
            continue
        leftover = [str(k) for k in doc if found.owns(str(k))]
        line = found.change()
        if leftover:
            line += f"; drop {', '.join(leftover)} (their values go into the new notifier's settings)"
        out_.append(line)
    for problem in problems:
        guess = _DID_YOU_MEAN.search(problem.message)
        if guess and problem.option:
            out_.append(f"rename {problem.option} to {guess.group(1)} ({problem.file}:{problem.line})")
    return out_


def _rules(folder: str, cfg: Config) -> list[FileReport]:
    reports: list[FileReport] = []
    seen: dict[str, str] = {}
    for path in rule_files([folder], subdirectories=bool(cfg["scan_subdirectories"])):
        try:
            rule, warnings = load_rule(path, cfg)
        except ConfigError as exc:
            problems = list(exc.problems)
            reports.append(FileReport(path, problems, changes=_changes(path, problems)))
            continue
        except Exception as exc:  # noqa: BLE001 - one broken file must not hide the others' verdicts
            reports.append(FileReport(path, [Problem(path, None, None, f"cannot load this file ({type(exc).__name__}: "
                                                                       f"{exc}); please report it as a logalert bug")]))
            continue
        problems = list(warnings)
        if rule.name in seen:
            file, line = rule.positions.get("name", (path, None))
            problems.append(Problem(file, line, "name", f"duplicate rule name, also used in {seen[rule.name]}"))
        seen.setdefault(rule.name, path)
        reports.append(FileReport(path, problems, rule.name, _changes(path, problems)))
    return reports


def _text(config: FileReport | None, folder: str, rules: list[FileReport]) -> None:
    if config is None:
        out("config.yaml: none (defaults)")
    else:
        out(f"config {config.file}: {config.status}" + (f" ({len(config.problems)} warning(s))"
                                                          if config.status == DIFFERENT else ""))
        for problem in config.problems:
            out(f"  {problem}")
    out(f"rules folder {folder}: {len(rules)} rule file(s)")
    for status in (AS_IS, DIFFERENT, REFUSED):
        group = [r for r in rules if r.status == status]
        if not group:
            continue
        out("")
        out(f"{status} ({len(group)}):")
        for report in group:
            out(f"  {report.file}" + (f" ({report.name})" if report.name else ""))
            for problem in report.problems:
                out(f"    {problem}")
            for change in report.changes:
                out(f"    suggested: {change}")
    out("")
    counts = {s: sum(r.status == s for r in rules) for s in (AS_IS, DIFFERENT, REFUSED)}
    out(f"{len(rules)} rule(s): {counts[AS_IS]} load as is, {counts[DIFFERENT]} behave differently, "
        f"{counts[REFUSED]} refused" + ("; config.yaml refused" if config and config.status == REFUSED else ""))


def cmd_migrate(args: argparse.Namespace) -> int:
    config_path, folder = _locate(args.path)
    cfg, config_report = _config(config_path)
    folder = folder or cfg.rules_folder
    if not os.path.isdir(folder):
        raise UsageError(f"migrate: rules folder {folder} does not exist (rules_folder in {config_path})")
    rules = _rules(folder, cfg)
    if args.format == "json":
        out(json.dumps({"config": config_report.as_json() if config_report else None, "rules_folder": folder,
                        "rules": [r.as_json() for r in rules],
                        "summary": {s: sum(r.status == s for r in rules) for s in (AS_IS, DIFFERENT, REFUSED)}},
                       indent=2, default=str))
    else:
        _text(config_report, folder, rules)
    refused = any(r.status == REFUSED for r in rules) or (config_report is not None and config_report.status == REFUSED)
    return EXIT_INVALID if refused else EXIT_OK


def add_parsers(sub: Any) -> None:
    mig = sub.add_parser("migrate", help="report what an ElastAlert2 config and rules become (offline)",
                         description="Read an ElastAlert2 config.yaml (or its folder, or a folder of rules) and "
                                     "report per rule: loads as is, behaves differently (the warnings, with "
                                     "file:line), or refused (why), with suggested changes. Nothing is written. "
                                     "Exit 0 when everything loads, 1 when something is refused.")
    mig.add_argument("path", help="an ElastAlert2 config.yaml, its folder, or a folder of rule files")
    mig.add_argument("--format", choices=["text", "json"], default="text",
                     help="text for people, json for scripts (same content; default text)")
    mig.set_defaults(func=cmd_migrate)
