"""JSON Schemas shipped with the package, and turning their errors into Problems."""

from __future__ import annotations

import difflib
import functools
import json
from importlib import resources
from typing import Any, Iterable

import jsonschema

from logalert.config.yamlfile import locate, plain
from logalert.errors import Problem

SPAN_REF = "span.json"


@functools.lru_cache(maxsize=None)
def load(name: str) -> dict[str, Any]:
    """A schema by relative name, e.g. ``rule.json`` or ``ruletypes/any.json``."""
    text = resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    return json.loads(text)


@functools.lru_cache(maxsize=None)
def validator(name: str) -> jsonschema.protocols.Validator:
    """A validator with the shared definitions (defs.json) inlined: resolving ``$ref``
    through the referencing library for every rule was most of ``validate``'s time."""
    defs = load("defs.json")["$defs"]
    schema = _inline(load(name), defs)
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _inline(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            merged = dict(_inline(defs[ref.rsplit("/", 1)[1]], defs))
            merged.update({k: _inline(v, defs) for k, v in node.items() if k != "$ref"})
            return merged
        return {k: _inline(v, defs) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, defs) for v in node]
    return node


def option_names(name: str) -> set[str]:
    return set(load(name).get("properties", {}))


def check(doc: Any, schema_name: str, file: str) -> list[Problem]:
    """Validate ``doc`` and return one Problem per error, positioned by YAML line."""
    problems = []
    for error in sorted(validator(schema_name).iter_errors(doc), key=lambda e: list(map(str, e.path))):
        path = list(error.path)
        option = ".".join(str(p) for p in path) or None
        message = _message(error)
        if error.validator == "required" and not path:
            missing = error.message.split("'")[1] if "'" in error.message else None
            option, message = missing, "required option is missing"
        pos = locate(doc, path)
        problems.append(Problem(pos[0] if pos else file, pos[1] if pos else None, option, message))
    return problems


def _message(error: jsonschema.ValidationError) -> str:
    custom = error.schema.get("errorMessage") if isinstance(error.schema, dict) else None
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        extra = [str(k) for k in error.instance if k not in allowed]
        if extra:
            return f"unknown key '{extra[0]}'{did_you_mean(extra[0], allowed)}; " + (custom or error.message)
    if custom:
        return custom
    if error.validator == "enum":
        return f"must be one of {', '.join(map(repr, error.validator_value))}, got {error.instance!r}"
    if error.validator == "type":
        return f"must be of type {error.validator_value}, got {type(plain(error.instance)).__name__} {plain(error.instance)!r}"
    if error.validator in ("anyOf", "oneOf") and isinstance(error.schema, dict):
        return error.schema.get("description") or f"invalid value {error.instance!r}"
    return error.message


def did_you_mean(word: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.75)
    return f"; did you mean '{close[0]}'?" if close else ""
