"""What blacklist and whitelist share: one field (``compare_key``) checked against a list
of values. An entry ``!file PATH`` adds one value per line of PATH (relative to the rule
file; blank lines skipped), as in ElastAlert."""

from __future__ import annotations

import os
from typing import Any, ClassVar, Iterable, Mapping, Sequence

from logalert.fields import lookup
from logalert.model import Event, Match, Window
from logalert.options import NONEMPTY, Option
from logalert.rules.model import Rule
from logalert.ruletypes.base import RuleType, key_of
from logalert.ruletypes.common import term_text

FILE_PREFIX = "!file "


COMPARE_KEY = Option("compare_key", NONEMPTY, description="the field checked against the list (dotted names allowed)")


def list_option(name: str) -> Option:
    """``blacklist`` / ``whitelist``: values, or ``!file PATH`` entries."""
    return Option(name, {
        "type": "array", "minItems": 1,
        "items": {"type": ["string", "number", "boolean"]},
        "errorMessage": "must be a list of values; an entry '!file PATH' reads one value per line from PATH",
    })


def values_of(value: Any) -> list[Any]:
    """A multi-valued field is checked value by value."""
    return list(value) if isinstance(value, list) else [value]


def read_entries(entries: Iterable[Any], rule_file: str | None) -> tuple[set[str], list[str]]:
    """The list's values with ``!file`` entries expanded, and the problems met."""
    values: set[str] = set()
    problems: list[str] = []
    for entry in entries or ():
        if isinstance(entry, str) and entry.startswith(FILE_PREFIX):
            path = os.path.expanduser(entry[len(FILE_PREFIX):].strip())
            if rule_file and not os.path.isabs(path):
                path = os.path.join(os.path.dirname(rule_file), path)
            try:
                with open(path, encoding="utf-8") as handle:
                    values.update(line.strip() for line in handle if line.strip())
            except OSError as exc:
                problems.append(f"cannot read {path}: {exc.strerror or exc}")
        else:
            values.add(term_text(entry))
    return values, problems


class ListedRule(RuleType):
    list_option: ClassVar[str]

    def __init__(self, rule: Rule):
        super().__init__(rule)
        self.compare_key: str = rule.get("compare_key")
        self.values, problems = read_entries(rule.get(self.list_option) or [], rule.file)
        if problems:
            raise ValueError(f"{rule.where(self.list_option)}: {self.list_option}: {problems[0]}")

    @classmethod
    def check(cls, options: Mapping[str, Any], file: str | None = None) -> list[tuple[str, str]]:
        out = super().check(options, file)
        entries = options.get(cls.list_option)
        if isinstance(entries, list):
            out += [(cls.list_option, p) for p in read_entries(entries, file)[1]]
        return out

    def listed(self, value: Any) -> bool:
        return term_text(value) in self.values

    def verdict(self, value: Any) -> bool:
        """Whether a document whose compare_key holds ``value`` is a match."""
        raise NotImplementedError

    def on_events(self, window: Window, events: Sequence[Event]) -> list[Match]:
        out = []
        for e in events:
            value = lookup(e.source, self.compare_key)
            if self.verdict(value):
                out.append(Match(e.timestamp, e.source, e.index, e.id, key_of(self.rule, e.source),
                                 {"compare_key": self.compare_key, "value": value}))
        return out
