"""YAML loading that remembers where every key and list item came from.

Rule errors must name FILE:LINE, and rules are merged from ``import:``ed files,
so each mapping records the (file, line) of each of its keys.
"""

from __future__ import annotations

from typing import Any

import yaml

from logalert.errors import ConfigError, Problem

Position = tuple[str, int]


class LineMap(dict):
    """A dict that knows the position of each key (``pos``) and of itself (``start``)."""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.pos: dict[Any, Position] = {}
        self.start: Position | None = None


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


def _construct_map(loader: _Loader, node: yaml.MappingNode) -> LineMap:
    loader.flatten_mapping(node)
    result = LineMap()
    result.start = (loader.source, node.start_mark.line + 1)
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise yaml.constructor.ConstructorError(
                None, None, "found an unhashable key", key_node.start_mark
            ) from None
        result[key] = loader.construct_object(value_node, deep=True)
        result.pos[key] = (loader.source, key_node.start_mark.line + 1)
    return result


def _construct_seq(loader: _Loader, node: yaml.SequenceNode) -> LineList:
    result = LineList()
    result.start = (loader.source, node.start_mark.line + 1)
    for item in node.value:
        result.append(loader.construct_object(item, deep=True))
        result.pos.append((loader.source, item.start_mark.line + 1))
    return result


_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_map)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_seq)


def load_yaml_text(text: str, path: str) -> Any:
    """Parse ``text``; a syntax error becomes a ConfigError naming the line."""
    loader = _Loader(text)
    loader.source = path
    try:
        return loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        what = exc.problem or str(exc)
        if exc.context and exc.context_mark and exc.problem_mark and exc.context_mark.line != exc.problem_mark.line:
            what = f"{what} ({exc.context} started on line {exc.context_mark.line + 1})"
        raise ConfigError([Problem(path, line, None, f"invalid YAML: {what}")]) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem(path, None, None, f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()


def load_yaml_file(path: str) -> Any:
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        raise ConfigError([Problem(path, None, None, f"cannot read file: {exc.strerror}")]) from None
    return load_yaml_text(text, path)


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
