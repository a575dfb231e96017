"""A rule file's text as the console shows and writes it.

Secret options (webhook URLs, passwords, API keys: ``logalert.secrets.is_secret``) are
shown as ``<secret>``; a save that still says ``<secret>`` there keeps the stored value
— the original text when the placeholder sits where the value was, else the value in
YAML flow form. Everything else is kept byte for byte: comments, order, quoting.

Writes are atomic: a temporary file in the same folder, fsync, ``os.replace``. A
reader (the daemon's hot reload) sees the old file or the new one, never half of one;
of concurrent saves the last one wins whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from typing import Any

import yaml

from logalert import secrets
from logalert.rules import catalog

PLACEHOLDER = secrets.MASK  # "<secret>"
Path = tuple[Any, ...]


@dataclass(frozen=True)
class Span:
    path: Path  # keys and list indices from the document root to the value
    start: int  # character offsets of the value in the text
    end: int
    column: int
    line: int  # 1-based


@dataclass(frozen=True)
class Finding:
    line: int | None
    option: str | None
    message: str


def etag(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


def _compose(text: str) -> yaml.Node | None:
    return yaml.compose(text, Loader=yaml.SafeLoader)


def _end(node: yaml.Node) -> int:
    """Where a value's own text ends: a block collection's end mark lies past the
    newline (and comments) after its last item, so take its last item's end instead."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _end(node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _end(node.value[-1])
    return node.end_mark.index


def _empty(node: yaml.Node) -> bool:
    return isinstance(node, yaml.ScalarNode) and (node.value == "" or node.tag == "tag:yaml.org,2002:null")


def _walk(node: yaml.Node | None, path: Path, found: list[tuple[Span, yaml.Node]]) -> None:
    """(span, node) of every secret option's value, at any depth (``alert:`` entries too)."""
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            name = key.value if isinstance(key, yaml.ScalarNode) else None
            here = path + (name,)
            # An alias (*anchor) points at a node defined earlier: it has no text here.
            if name is not None and secrets.is_secret(str(name)) and value.start_mark.index > key.start_mark.index:
                if not _empty(value):
                    found.append((Span(here, value.start_mark.index, _end(value), value.start_mark.column,
                                       value.start_mark.line + 1), value))
                continue
            _walk(value, here, found)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _walk(item, path + (i,), found)


_LINE = re.compile(r"^(?P<lead>\s*(?:-\s+)?)(?P<key>[A-Za-z0-9_]+)\s*:[ \t]+(?P<value>[^#\n]*?)\s*(?:#.*)?$", re.M)


def _spans(text: str) -> list[tuple[Span, yaml.Node | None]]:
    catalog.load_alerters()  # every notifier's secret option names are known
    try:
        root = _compose(text)
    except yaml.YAMLError:
        # Not YAML (yet): mask `key: value` lines of secret options, so a broken file
        # shows no secret either.
        out: list[tuple[Span, yaml.Node | None]] = []
        for m in _LINE.finditer(text):
            if secrets.is_secret(m.group("key")) and m.group("value"):
                line = text.count("\n", 0, m.start()) + 1
                column = m.start("value") - (text.rfind("\n", 0, m.start("value")) + 1)
                out.append((Span((m.group("key"),), m.start("value"), m.end("value"), column, line), None))
        return out
    found: list[tuple[Span, yaml.Node]] = []
    _walk(root, (), found)
    return list(found)


def mask(text: str) -> str:
    """The text with every secret option's value replaced by ``<secret>``."""
    out = text
    for span, node in sorted(_spans(text), key=lambda s: s[0].start, reverse=True):
        if isinstance(node, yaml.ScalarNode) and node.value == PLACEHOLDER:
            continue
        out = out[:span.start] + PLACEHOLDER + out[span.end:]
    return out


def _value_at(data: Any, path: Path) -> Any:
    for step in path:
        data = data[step]
    return data


def restore(text: str, stored: str | None) -> tuple[str, list[Finding]]:
    """Put the stored secret values back where ``text`` still says ``<secret>``.
    Findings: placeholders with nothing stored to keep (the save is refused)."""
    try:
        _compose(text)
    except yaml.YAMLError:
        return text, []  # the validation reports the YAML error itself
    placeholders = [(s, n) for s, n in _spans(text) if isinstance(n, yaml.ScalarNode) and n.value == PLACEHOLDER]
    if not placeholders:
        return text, []
    old = {s.path: s for s, n in _spans(stored)} if stored is not None else {}
    by_key: dict[Any, list[Span]] = {}
    for span in old.values():
        by_key.setdefault(span.path[-1], []).append(span)
    try:
        old_data = yaml.safe_load(stored) if stored is not None else None
    except yaml.YAMLError:
        old_data = None
    findings, out = [], text
    for span, _node in sorted(placeholders, key=lambda p: p[0].start, reverse=True):
        source = old.get(span.path) or (by_key.get(span.path[-1], [None])[0]
                                        if len(by_key.get(span.path[-1], [])) == 1 else None)
        option = ".".join(str(p) for p in span.path if p is not None)
        if source is None or stored is None:
            findings.append(Finding(span.line, option, f"says {PLACEHOLDER}, but there is no stored value to keep: "
                                                       "write the value here"))
            continue
        original = stored[source.start:source.end]
        if source.column != span.column and old_data is not None:
            try:  # the value moved: write it in flow form, which fits any indentation
                original = json.dumps(_value_at(old_data, source.path), default=str)
            except (KeyError, IndexError, TypeError):
                pass
        out = out[:span.start] + original + out[span.end:]
    return out, findings


def set_enabled(text: str, enabled: bool) -> str:
    """The text with ``is_enabled`` set (changed in place, or appended), nothing else touched."""
    root = _compose(text)
    if not isinstance(root, yaml.MappingNode):
        raise ValueError("the file is not a mapping of options")
    value = "true" if enabled else "false"
    for key, node in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == "is_enabled":
            return text[:node.start_mark.index] + value + text[_end(node):]
    if root.flow_style:
        raise ValueError("the file is one flow mapping ({...}); set is_enabled in it by hand")
    return text + ("" if text.endswith("\n") or not text else "\n") + f"is_enabled: {value}\n"


def read(real: str) -> str:
    with open(real, encoding="utf-8", newline="") as handle:
        return handle.read()


def write_atomic(real: str, text: str, root: str) -> None:
    """Write ``text`` to ``real`` (inside ``root``) so that no reader ever sees half of it."""
    folder = os.path.dirname(real)
    os.makedirs(folder, exist_ok=True)
    if not os.path.realpath(folder).startswith(root + os.sep) and os.path.realpath(folder) != root:
        raise PermissionError(f"{folder} is outside rules_folder")
    fd, tmp = tempfile.mkstemp(prefix=".logalert-save-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        mode = stat.S_IMODE(os.stat(real).st_mode) if os.path.exists(real) else 0o644
        os.chmod(tmp, mode)
        os.replace(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    try:  # the rename itself survives a crash once the folder is synced
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
