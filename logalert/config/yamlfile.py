"""YAML loading that remembers where every key and list item came from.

Rule errors must name FILE:LINE, and rules are merged from ``import:``ed files,
so each mapping records the (file, line) of each of its keys.

Whatever a file holds, reading it ends in a value or in one ConfigError with one
single-line problem: bytes that are not UTF-8, control characters, a key that is a
list, nesting deeper than any rule needs and aliases that expand beyond reason (an
"alias bomb" would otherwise take every later step exponential time) are all
reported at their line.
"""

from __future__ import annotations

import codecs
from typing import Any

import yaml

from logalert.errors import ConfigError, Problem

# Far beyond any real rule (a filter nests a few bool queries), far below Python's
# recursion limit for the steps that walk the value (schema check, lint, copies).
MAX_DEPTH = 64
# Values after expanding aliases: real rules have hundreds.
MAX_VALUES = 100_000

Position = tuple[str, int]


class LineMap(dict):
    """A dict that knows the position of each key (``pos``) and of itself (``start``)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pos: dict[Any, Position] = {}
        self.start: Position | None = None
        self.written: dict[Any, str] = {}  # keys that are not text, as the file spells them


class LineList(list):
    """A list that knows the position of each item."""

    def __init__(self, *args: Any):
        super().__init__(*args)
        self.pos: list[Position] = []
        self.start: Position | None = None


_Base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[misc, valid-type]
    """Safe loader (libyaml when present: validating 1,000 rules must stay fast)."""

    source = "<string>"

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        """A value its tag cannot hold (``!!int abc``, ``!!timestamp soon``) is a YAML
        error at its line, not a Python exception."""
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, AttributeError, OverflowError):
            value = f" {node.value[:100]!r}" if isinstance(node, yaml.ScalarNode) else " this value"
            raise yaml.constructor.ConstructorError(None, None, f"{_tag(node)} cannot hold{value}",
                                                    node.start_mark) from None


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> LineMap:
    if not isinstance(node, yaml.MappingNode):  # `!!map [a, b]`
        raise yaml.constructor.ConstructorError(None, None, f"{_tag(node)} on a value that is not a mapping",
                                                node.start_mark)
    loader.flatten_mapping(node)
    result = LineMap()
    result.start = (loader.source, node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, f"a key must be text, not a {_kind(key)}", key_node.start_mark
            ) from None
        result[key] = loader.construct_object(value_node, deep=True)
        result.pos[key] = (loader.source, key_node.start_mark.line + 1)
        if not isinstance(key, str):
            result.written[key] = str(getattr(key_node, "value", key))
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    if not isinstance(node, yaml.SequenceNode):  # `!!seq {a: 1}`
        raise yaml.constructor.ConstructorError(None, None, f"{_tag(node)} on a value that is not a list",
                                                node.start_mark)
    result = LineList()
    result.start = (loader.source, node.start_mark.line + 1)
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.pos.append((loader.source, item.start_mark.line + 1))
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def load_yaml_text(text: str, path: str) -> Any:
    """Parse ``text``; any problem becomes a ConfigError naming the line."""
    loader = _Loader(text)
    loader.source = path
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_bounds(node, path)
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or str(exc)
        if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            what = f"{what} ({exc.context} started on line {exc.context_mark.line + 1})"
        raise ConfigError([Problem(path, line, None, f"invalid YAML: {_one_line(what)}")]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else None
        char = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "?")
        reason = _one_line(str(exc.reason))
        what = (f"control character #x{char:04x} is not allowed" if "control characters" in reason
                else f"character #x{char:04x}: {reason}")
        raise ConfigError([Problem(path, line, None, f"invalid YAML: {what}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(path, None, None, f"invalid YAML: {_one_line(str(exc))}")]) from None
    finally:
        loader.dispose()


def load_yaml_file(path: str) -> Any:
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise ConfigError([Problem(path, None, None, f"cannot read file: {exc.strerror}")]) from None
    return load_yaml_text(decode(data, path), path)


def decode(data: bytes, path: str) -> str:
    """The file's text: UTF-8 (a byte-order mark allowed), or UTF-16 with its mark, as
    YAML allows; anything else is a problem at the line of the first bad byte."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise ConfigError([Problem(path, 1, None, "starts with a UTF-16 byte-order mark but is not UTF-16 text; "
                                       "save the file as UTF-8")]) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise ConfigError([Problem(path, line, None, f"not UTF-8 text: byte "
                                   f"0x{data[exc.start]:02x} at column {column}; save the file as UTF-8")]) from None


def _tag(node: yaml.Node) -> str:
    return str(node.tag).replace("tag:yaml.org,2002:", "!!")


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _kind(value: Any) -> str:
    return {"list": "list", "dict": "mapping", "LineList": "list", "LineMap": "mapping"}.get(
        type(value).__name__, type(value).__name__)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _check_bounds(root: yaml.Node, path: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH and more than MAX_VALUES values once aliases
    are expanded, before anything is constructed. Iterative: the composed graph may be
    as deep as the parser allows, and aliases make it a graph, not a tree."""
    height: dict[int, int] = {}
    size: dict[int, int] = {}
    active: set[int] = set()  # the nodes on the way down to the current one
    stack: list[tuple[yaml.Node, list[yaml.Node] | None]] = [(root, None)]
    while stack:
        node, kids = stack[-1]
        key = id(node)
        if kids is None:  # first visit: its children go first
            if key in height:
                stack.pop()
                continue
            if key in active:
                raise ConfigError([Problem(path, node.start_mark.line + 1, None, "invalid YAML: an alias refers to "
                                           "the value that contains it (a recursive structure)")])
            active.add(key)
            kids = _children(node)
            stack[-1] = (node, kids)
            stack.extend((kid, None) for kid in kids if id(kid) not in height)
            continue
        stack.pop()
        active.discard(key)
        height[key] = 1 + max((height[id(k)] for k in kids), default=0)
        size[key] = min(MAX_VALUES + 1, 1 + sum(size[id(k)] for k in kids))
        if height[key] > MAX_DEPTH:
            while kids:  # down the tallest branch, to the line of its deepest value
                node = max(kids, key=lambda k: height[id(k)])
                kids = _children(node)
            raise ConfigError([Problem(path, node.start_mark.line + 1, None,
                                       f"invalid YAML: nested more than {MAX_DEPTH} levels deep")])
        if size[key] > MAX_VALUES:
            raise ConfigError([Problem(path, node.start_mark.line + 1, None, f"invalid YAML: more than "
                                       f"{MAX_VALUES:,} values once aliases are expanded (an alias bomb?)")])


def locate(doc: Any, path: list[Any] | tuple[Any, ...], default: Position | None = None) -> Position | None:
    """Position of the deepest element of ``path`` inside ``doc`` that has one."""
    best = getattr(doc, "start", None) or default
    node = doc
    for step in path:
        if isinstance(node, LineMap) and step in node:
            best = node.pos.get(step, best)
            node = node[step]
        elif isinstance(node, LineList) and isinstance(step, int) and 0 <= step < len(node):
            best = node.pos[step] if step < len(node.pos) else best
            node = node[step]
        else:
            break
    return best


def plain(value: Any) -> Any:
    """Deep copy into ordinary dicts and lists, dropping position bookkeeping."""
    if isinstance(value, dict):
        return {k: plain(v) if isinstance(v, (dict, list)) else v for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) if isinstance(v, (dict, list)) else v for v in value]
    return value
