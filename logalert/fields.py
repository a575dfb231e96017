"""Reading fields of log documents by the dotted names rules use.

Documents arrive nested (``{"kubernetes": {"pod_name": …}}``) or already flat
(``{"kubernetes.pod_name": …}``); rule types, alert text and digests all read them the
same way through these helpers.
"""

from __future__ import annotations

from collections.abc import Mapping as AbcMapping  # isinstance on typing.Mapping is slow
from typing import Any, Iterable, Mapping


def flatten(doc: Mapping[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    """Dotted keys for nested documents, as people write them in rules."""
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, AbcMapping) and value:
            yield from flatten(value, name + ".")
        else:
            yield name, value


_MISSING = object()


def lookup(doc: Mapping[str, Any], dotted: str, default: Any = None) -> Any:
    """``kubernetes.pod_name`` in a nested or a flat (already dotted) document.
    ``user.keyword`` (a sub-field only the index has) reads ``user`` from the document,
    as rules written for aggregations often name the keyword sub-field."""
    value = _lookup(doc, dotted, _MISSING)
    if value is _MISSING and dotted.endswith((".keyword", ".raw")):
        value = _lookup(doc, dotted.rsplit(".", 1)[0], _MISSING)
    return default if value is _MISSING else value


def _lookup(doc: Mapping[str, Any], dotted: str, default: Any) -> Any:
    if dotted in doc:
        return doc[dotted]
    node: Any = doc
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        if isinstance(node, AbcMapping):
            if part in node:
                node = node[part]
                continue
            rest = ".".join(parts[i:])
            if rest in node:
                return node[rest]
        return default
    return node
