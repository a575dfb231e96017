"""An index's mappings and how a document is indexed under them.

Dynamic mapping as the engine does it by default: strings become ``text`` with a
``.keyword`` sub-field (``ignore_above: 256``) unless they look like a date
(``strict_date_optional_time``, or ``yyyy/MM/dd``), whole numbers ``long``, other
numbers ``float``, true/false ``boolean``, objects ``object``. Values are coerced to
the mapped type on the way in (``"500"`` into a long field is 500, ``1.9`` is 1) and
refused where the engine refuses them. Field types and mapping parameters the
evaluator does not model are refused up front (Unsupported).
"""

from __future__ import annotations

import copy
import math
import struct
from dataclasses import dataclass, field
from collections.abc import Mapping
from typing import Any, Iterator

from logalert.engine.inprocess import analysis, dates
from logalert.engine.inprocess.errors import BadRequest, Unsupported

INTEGERS = {"long": 63, "integer": 31, "short": 15, "byte": 7}
FLOATS = ("double", "float")
NUMERIC = tuple(INTEGERS) + FLOATS
LEAF_TYPES = NUMERIC + ("text", "keyword", "date", "boolean")
# Parameters that change nothing the evaluator computes (scoring, storage).
HARMLESS = {"type", "fields", "norms", "store", "similarity", "boost", "index_options", "term_vector",
            "eager_global_ordinals", "search_analyzer", "position_increment_gap", "meta", "split_queries_on_whitespace"}
KNOWN = {"text": {"analyzer"}, "keyword": {"ignore_above", "normalizer"}, "date": {"format"}, "boolean": set(),
         **{t: set() for t in NUMERIC}}


@dataclass
class Field:
    path: str
    type: str
    ignore_above: int | None = None
    format: str | None = None
    index: bool = True
    doc_values: bool = True
    subfields: list[str] = field(default_factory=list)


def float32(value: float) -> float:
    return struct.unpack("f", struct.pack("f", value))[0]


class IndexMapping:
    """The mappings of one index: the JSON the engine shows, and every field by path."""

    def __init__(self, mappings: Mapping[str, Any] | None = None):
        self.json: dict[str, Any] = copy.deepcopy(dict(mappings or {}))
        self.json.setdefault("properties", {})
        for key in self.json:
            if key not in ("properties", "dynamic", "date_detection", "numeric_detection", "_source", "_meta"):
                raise Unsupported(f"the mapping option [{key}]")
        if self.json.get("numeric_detection"):
            raise Unsupported("numeric_detection")
        if isinstance(self.json.get("_source"), Mapping) and self.json["_source"].get("enabled") is False:
            raise Unsupported("_source disabled")
        self.dynamic = str(self.json.get("dynamic", "true")).lower()
        self.date_detection = self.json.get("date_detection", True) is not False
        self.fields: dict[str, Field] = {}
        self.objects: set[str] = set()
        self._read(self.json["properties"], "")

    # --- reading mappings ------------------------------------------------------------
    def _read(self, properties: Mapping[str, Any], prefix: str) -> None:
        for name, spec in properties.items():
            path = prefix + name
            kind = spec.get("type", "object" if "properties" in spec or not spec.get("type") else None)
            if kind in ("object", None):
                if spec.get("enabled") is False or spec.get("dynamic") not in (None, True, "true"):
                    raise Unsupported(f"object options on [{path}] (enabled/dynamic)")
                self.objects.add(path)
                self._read(spec.get("properties") or {}, path + ".")
                continue
            self.fields[path] = self._leaf(path, kind, spec)
            for sub, sub_spec in (spec.get("fields") or {}).items():
                sub_path = f"{path}.{sub}"
                self.fields[sub_path] = self._leaf(sub_path, sub_spec.get("type", ""), sub_spec)
                self.fields[path].subfields.append(sub_path)

    def _leaf(self, path: str, kind: str, spec: Mapping[str, Any]) -> Field:
        if kind not in LEAF_TYPES:
            raise Unsupported(f"the field type [{kind}] of [{path}]")
        extra = set(spec) - HARMLESS - KNOWN[kind] - {"index", "doc_values"}
        if extra:
            raise Unsupported(f"the mapping parameter(s) {sorted(extra)} of [{path}]")
        if spec.get("analyzer") not in (None, "standard") or spec.get("normalizer") is not None:
            raise Unsupported(f"analyzers and normalizers other than the standard analyzer ([{path}])")
        fmt = spec.get("format")
        if fmt:
            dates.check_format(fmt)
        return Field(path, kind, ignore_above=spec.get("ignore_above"), format=fmt,
                     index=spec.get("index", True) is not False, doc_values=spec.get("doc_values", True) is not False)

    # --- looking fields up -------------------------------------------------------------
    def field(self, path: str) -> Field | None:
        return self.fields.get(path)

    def is_object(self, path: str) -> bool:
        return path in self.objects

    def names(self) -> Iterator[str]:
        return iter(self.fields)

    # --- indexing ------------------------------------------------------------------
    def index(self, source: Mapping[str, Any], doc_id: str) -> tuple[dict[str, list[Any]], dict[str, Field]]:
        """The indexed values of a document by field path, and the fields dynamic
        mapping adds; BadRequest as the engine refuses a document."""
        values: dict[str, list[Any]] = {}
        added: dict[str, Field] = {}
        objects: set[str] = set()
        self._walk(source, "", values, added, objects, doc_id)
        return values, added

    def add(self, added: Mapping[str, Field]) -> None:
        """Keep what dynamic mapping made of a stored document."""
        for path, leaf in added.items():
            if path in self.fields:
                continue
            self.fields[path] = leaf
            parts = path.split(".")
            node = self.json["properties"]
            for i, part in enumerate(parts[:-1]):
                parent = ".".join(parts[: i + 1])
                if parent in self.fields:  # a multi-field of a dynamic text field
                    break
                self.objects.add(parent)
                node = node.setdefault(part, {}).setdefault("properties", {})
            else:
                node[parts[-1]] = _spec(leaf)
                continue
            # multi-fields are registered with their parent

    def _walk(self, obj: Mapping[str, Any], prefix: str, values: dict[str, list[Any]], added: dict[str, Field],
              objects: set[str], doc_id: str) -> None:
        for key, value in obj.items():
            if not isinstance(key, str) or not key.strip(".") or ".." in key:
                raise BadRequest(f"field name cannot be empty or contain only dots: [{key}]", "mapper_parsing_exception")
            path = prefix + key
            self._value(path, value, values, added, objects, doc_id)

    def _value(self, path: str, value: Any, values: dict[str, list[Any]], added: dict[str, Field],
               objects: set[str], doc_id: str) -> None:
        if value is None:
            return
        if isinstance(value, list):
            for item in value:
                self._value(path, item, values, added, objects, doc_id)
            return
        known = self.fields.get(path) or added.get(path)
        if isinstance(value, Mapping):
            if known is not None:
                raise BadRequest(_failed(known, doc_id, value), "mapper_parsing_exception")
            objects.add(path)
            self._walk(value, path + ".", values, added, objects, doc_id)
            return
        if known is None and (path in self.objects or path in objects):
            raise BadRequest(f"object mapping for [{path}] tried to parse field [{path.rsplit('.', 1)[-1]}] "
                             "as object, but found a concrete value", "mapper_parsing_exception")
        if known is None:
            if self.dynamic == "false":
                return
            if self.dynamic == "strict":
                raise BadRequest(f"mapping set to strict, dynamic introduction of [{path.rsplit('.', 1)[-1]}] "
                                 f"within [{path.rsplit('.', 1)[0] if '.' in path else '_doc'}] is not allowed",
                                 "strict_dynamic_mapping_exception")
            known = self._dynamic(path, value)
            added[path] = known
            for sub in known.subfields:
                added[sub] = Field(sub, "keyword", ignore_above=256)
        elif path in added and _dynamic_type(value, self.date_detection) not in (None, known.type) and path not in self.fields:
            raise BadRequest(f"mapper [{path}] cannot be changed from type [{known.type}] to "
                             f"[{_dynamic_type(value, self.date_detection)}]", "illegal_argument_exception")
        if not known.index and not known.doc_values:
            return
        parsed = parse_value(known, value, doc_id)
        if parsed is not None:
            values.setdefault(path, []).append(parsed)
        for sub in known.subfields:
            sub_field = self.fields.get(sub) or added[sub]
            parsed = parse_value(sub_field, value, doc_id)
            if parsed is not None:
                values.setdefault(sub, []).append(parsed)

    def _dynamic(self, path: str, value: Any) -> Field:
        kind = _dynamic_type(value, self.date_detection)
        if kind == "text":
            return Field(path, "text", subfields=[path + ".keyword"])
        if kind == "date":
            fmt = dates.detect(value)
            return Field(path, "date", format=None if fmt == "strict_date_optional_time" else fmt)
        return Field(path, kind or "text")


def _dynamic_type(value: Any, date_detection: bool) -> str | None:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "long"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "date" if date_detection and dates.detect(value) else "text"
    return None


def _spec(leaf: Field) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": leaf.type}
    if leaf.format:
        spec["format"] = leaf.format
    if leaf.subfields:
        spec["fields"] = {"keyword": {"type": "keyword", "ignore_above": 256}}
    return spec


def _preview(value: Any) -> str:
    if isinstance(value, Mapping):  # as Java prints a map
        return "{" + ", ".join(f"{k}={_preview(v)}" for k, v in value.items()) + "}"
    return text_of(value)


def _failed(leaf: Field, doc_id: str, value: Any) -> str:
    return (f"failed to parse field [{leaf.path}] of type [{leaf.type}] in document with id '{doc_id}'. "
            f"Preview of field's value: '{_preview(value)}'")


def text_of(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def parse_value(leaf: Field, value: Any, doc_id: str = "") -> Any:
    """One value as the field indexes it (text: its tokens); None: not indexed."""
    try:
        return _parse(leaf, value)
    except (ValueError, OverflowError, TypeError):
        raise BadRequest(_failed(leaf, doc_id, value), "mapper_parsing_exception") from None


def _parse(leaf: Field, value: Any) -> Any:
    kind = leaf.type
    if kind == "text":
        return analysis.analyze(text_of(value))
    if kind == "keyword":
        text = text_of(value)
        return None if leaf.ignore_above is not None and len(text) > leaf.ignore_above else text
    if kind in INTEGERS:
        return to_integer(value, kind)
    if kind in FLOATS:
        number = to_float(value)
        return float32(number) if kind == "float" else number
    if kind == "date":
        return dates.parse(value, leaf.format)
    if kind == "boolean":
        return to_bool(value)
    raise ValueError(kind)


def to_integer(value: Any, kind: str = "long", *, strict: bool = False) -> int:
    """A value for an integer field: numbers and numeric strings, decimals truncated."""
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, str):
        text = value
        if text != text.strip():
            raise ValueError("spaces")
        number: float | int = int(text) if text.lstrip("+-").isdigit() else float(text)
    else:
        number = value
    if isinstance(number, float):
        if not math.isfinite(number):
            raise ValueError("not finite")
        if strict and not number.is_integer():
            raise ValueError("decimal part")
        number = int(number)
    bits = INTEGERS[kind]
    if not -(2 ** bits) <= number < 2 ** bits:
        raise ValueError("out of range")
    return int(number)


def to_float(value: Any) -> float:
    if isinstance(value, bool):
        raise ValueError("boolean")
    if isinstance(value, str) and value != value.strip():
        raise ValueError("spaces")
    number = float(value)
    if not math.isfinite(number):
        raise ValueError("not finite")
    return number


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("true", "false"):
        return value == "true"
    if value == "":
        return False
    raise ValueError("not a boolean")
