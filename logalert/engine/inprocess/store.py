"""Indices held in memory: documents with their indexed values, in index order (a
replaced document moves to the end, as a Lucene update does), and index expressions
(``logstash-*,other``, ``-excluded``, ``_all``) resolved to indices."""

from __future__ import annotations

import copy
import fnmatch
import itertools
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Mapping as TMapping

from logalert.engine.inprocess.errors import BadRequest, Unsupported
from logalert.engine.inprocess.mapping import IndexMapping


@dataclass
class Doc:
    index: str
    id: str
    source: dict[str, Any]
    values: dict[str, list[Any]]
    seq_no: int = 0
    version: int = 1
    primary_term: int = 1


_BAD_NAME = re.compile(r'[\\/*?"<>| ,#:]')
# Index settings that change nothing here.
_SETTINGS = {"number_of_shards", "number_of_replicas", "refresh_interval", "auto_expand_replicas", "hidden"}


def check_name(name: str) -> None:
    if name != name.lower():
        raise BadRequest(f"Invalid index name [{name}], must be lowercase", "invalid_index_name_exception")
    if not name or _BAD_NAME.search(name) or name[0] in "_-+" or name in (".", ".."):
        raise BadRequest(f"Invalid index name [{name}], must not contain the following characters "
                         '[ , ", *, \\, <, |, ,, >, /, ?]', "invalid_index_name_exception")


def _flat_settings(settings: TMapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, TMapping):
            out.update(_flat_settings(value, name + "."))
        else:
            out[name] = value
    return out


class Index:
    def __init__(self, name: str, settings: TMapping[str, Any] | None = None,
                 mappings: TMapping[str, Any] | None = None):
        check_name(name)
        flat = {k.removeprefix("index."): v for k, v in _flat_settings(settings or {}).items()}
        unknown = set(flat) - _SETTINGS
        if unknown:
            raise Unsupported(f"the index setting(s) {sorted(unknown)}")
        self.name = name
        self.settings = flat
        self.mapping = IndexMapping(mappings)
        self.docs: dict[str, Doc] = {}
        self.manual_refresh = str(flat.get("refresh_interval", "")) == "-1"
        self.visible: list[Doc] = []

    def searchable(self) -> list[Doc]:
        """What a search sees: everything, or the last refresh with refresh_interval -1."""
        return list(self.visible) if self.manual_refresh else list(self.docs.values())

    def refresh(self) -> None:
        self.visible = list(self.docs.values())

    def put(self, doc_id: str, source: dict[str, Any], seq_no: int, *, create: bool = False) -> Doc:
        """Index (or replace) one document; BadRequest as the engine refuses it."""
        old = self.docs.get(doc_id)
        if create and old is not None:
            raise BadRequest(f"[{doc_id}]: version conflict, document already exists (current version "
                             f"[{old.version}])", "version_conflict_engine_exception", 409)
        values, added = self.mapping.index(source, doc_id)
        self.mapping.add(added)
        doc = Doc(self.name, doc_id, copy.deepcopy(source), values, seq_no, (old.version + 1) if old else 1)
        self.docs.pop(doc_id, None)
        self.docs[doc_id] = doc
        return doc

    def remove(self, doc_id: str) -> Doc | None:
        return self.docs.pop(doc_id, None)


@dataclass
class Store:
    indices: dict[str, Index] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _seq: itertools.count = field(default_factory=itertools.count)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    def next_seq(self) -> int:
        return next(self._seq)

    def new_id(self) -> str:
        return f"inproc{next(self._ids):012d}"

    def create(self, name: str, settings: TMapping[str, Any] | None = None,
               mappings: TMapping[str, Any] | None = None) -> Index:
        if name in self.indices:
            raise BadRequest(f"index [{name}/inprocess] already exists", "resource_already_exists_exception")
        index = Index(name, settings, mappings)
        self.indices[name] = index
        return index

    def get_or_create(self, name: str) -> Index:
        """Writing into a missing index creates it, as auto_create_index does."""
        if name not in self.indices:
            self.indices[name] = Index(name)
        return self.indices[name]

    def resolve(self, expression: str, *, ignore_unavailable: bool = True) -> list[Index]:
        """The indices an index expression names, in creation order."""
        chosen: dict[str, Index] = {}
        for raw in (p.strip() for p in expression.split(",")):
            if not raw:
                continue
            if raw.startswith("-") and chosen:
                for name in [n for n in chosen if fnmatch.fnmatchcase(n, raw[1:])]:
                    del chosen[name]
                continue
            if raw in ("_all", "*"):
                chosen.update((n, i) for n, i in self.indices.items() if not n.startswith("."))
            elif "*" in raw or "?" in raw:
                hidden = raw.startswith(".")
                chosen.update((n, i) for n, i in self.indices.items()
                              if fnmatch.fnmatchcase(n, raw) and (hidden or not n.startswith(".")))
            elif raw in self.indices:
                chosen[raw] = self.indices[raw]
            elif not ignore_unavailable:
                raise BadRequest(f"no such index [{raw}]", "index_not_found_exception", 404)
        return [self.indices[n] for n in self.indices if n in chosen]
