"""Checking rule text that is not (yet) a file: the editor's, before a save or a Test.

The loader reads files and resolves ``import:`` next to them, so the text is written
into a *shadow* of the rules folder: a temporary folder whose entries are symlinks to
the real ones, with the text at the rule's own path. Imports resolve as they would in
place, nothing is written into rules_folder (hot reload never sees a draft), and the
findings are reported relative to the folder. The checks are ``logalert validate``'s:
the loader (schema, types, notifiers) and the offline query lint.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import Any, Iterator

from logalert.config import Config
from logalert.daemon.web.paths import RulesFolder
from logalert.errors import ConfigError, Problem
from logalert.rules import Rule, load_rule


class Relabel:
    """File names in findings as the console names them: relative to rules_folder."""

    def __init__(self, folder: RulesFolder, top: str | None = None):
        self.prefixes = [(p.rstrip(os.sep) + os.sep) for p in (top, folder.real, folder.folder) if p]

    def text(self, value: str) -> str:
        for prefix in self.prefixes:
            value = value.replace(prefix, "")
        return value

    def problem(self, found: Problem) -> dict[str, Any]:
        return problem(found.line, found.option, self.text(found.message), self.text(found.file), found.fatal)


@dataclass
class Checked:
    rule: Rule | None
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)
    relabel: Relabel | None = None

    @property
    def valid(self) -> bool:
        return self.rule is not None and not self.errors


def problem(line: int | None, option: str | None, message: str, file: str | None,
            fatal: bool = True) -> dict[str, Any]:
    """A finding as the API answers it."""
    return {"line": line, "option": option, "message": message, "file": file, "fatal": fatal}


@contextlib.contextmanager
def shadow(folder: RulesFolder, rel: str, text: str) -> Iterator[tuple[str, str]]:
    """(path of the text inside the shadow folder, the shadow folder)."""
    top = tempfile.mkdtemp(prefix="logalert-web-")
    try:
        parts = rel.split("/")
        src, dst = folder.real, top
        for i, part in enumerate(parts):
            if os.path.isdir(src):
                for entry in os.listdir(src):
                    if entry != part:
                        os.symlink(os.path.join(src, entry), os.path.join(dst, entry))
            if i == len(parts) - 1:
                with open(os.path.join(dst, part), "w", encoding="utf-8", newline="") as handle:
                    handle.write(text)
            else:
                src, dst = os.path.join(src, part), os.path.join(dst, part)
                os.mkdir(dst)
        yield os.path.join(top, *parts), top
    finally:
        shutil.rmtree(top, ignore_errors=True)


@contextlib.contextmanager
def checking(config: Config, folder: RulesFolder, rel: str, text: str) -> Iterator[Checked]:
    """The loader's and the query lint's findings about ``text`` as the file ``rel``; the
    shadow folder stays while the block runs (a Test runs the rule inside it)."""
    from logalert.rules import lint  # the query parser loads only when text is checked

    with shadow(folder, rel, text) as (path, top):
        relabel = Relabel(folder, top)
        try:
            rule, problems = load_rule(path, config)
        except ConfigError as exc:
            rule, problems = None, list(exc.problems)
        files = [path]
        if rule is not None and "filter" in rule.positions and rule.positions["filter"][0] != path:
            files.append(rule.positions["filter"][0])  # the filter came from an imported base
        found = [p for f in files for p in lint.lint_file(f)]
        checked = Checked(rule, relabel=relabel)
        for finding in list(dict.fromkeys(problems + found)):
            (checked.errors if finding.fatal else checked.warnings).append(relabel.problem(finding))
        yield checked


def check_text(config: Config, folder: RulesFolder, rel: str, text: str) -> Checked:
    with checking(config, folder, rel, text) as checked:
        return checked
