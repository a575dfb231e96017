"""One copy of a document that several rules keep between runs.

Rules with the same or overlapping filters (every ERROR line, one namespace's logs) each
get the document in their own search answer, parsed into their own objects. A rule type
that remembers documents across runs (frequency and friends, for ``timeframe``) would
otherwise hold one parsed copy per rule: in the 1,000-rule soak, 73,000 kept documents
were 5,900 distinct ones, and those copies were most of the daemon's live memory.

A document is the same when it comes from the same cluster, index and id, fetched with
the same source filtering (``include`` / ``include_fields`` change what a rule receives).
The table holds weak references only: a document lives as long as some rule keeps it.
Kept documents are read, never changed, so sharing them is safe.
"""

from __future__ import annotations

import threading
import weakref
from typing import Any, Hashable, Mapping

from logalert.rules.model import Rule


class Doc(dict):  # type: ignore[type-arg]
    """A plain dict that a weak reference can point to."""

    __slots__ = ("__weakref__",)


_docs: "weakref.WeakValueDictionary[tuple[Hashable, ...], Doc]" = weakref.WeakValueDictionary()
_lock = threading.Lock()


def fetch_shape(rule: Rule) -> tuple[Hashable, ...]:
    """What decides the content of a document a rule receives, besides its id."""
    include = rule.get("include")
    extra = rule.get("include_fields")
    return (rule.get("es_host"), rule.get("es_port"),
            tuple(include) + (rule.timestamp_field,) + tuple(rule.query_key) if include else None,
            tuple(extra) if extra else None)


def shared(shape: tuple[Hashable, ...], index: str, doc_id: str, source: Mapping[str, Any]) -> Mapping[str, Any]:
    """The one kept copy of this document (``source`` becomes it when none is kept yet)."""
    key = (shape, index, doc_id)
    with _lock:
        doc = _docs.get(key)
        if doc is None:
            doc = source if isinstance(source, Doc) else Doc(source)
            _docs[key] = doc
        return doc


def count() -> int:
    """Distinct documents kept by any rule now (for tests and profiles)."""
    with _lock:
        return len(_docs)
