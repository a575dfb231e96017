"""JSON Schemas built from the option registry, and turning their errors into Problems.

There are no schema files: a schema is the ``properties`` of a set of declared options
(``logalert.options.Option.schema``) plus the names a rule type or alerter requires, with
the shared shapes (``#/$defs/span``…) inlined — resolving ``$ref`` through the
referencing library for every rule was most of ``validate``'s time. Callers cache what
they build (one schema per rule type, alerter and config.yaml).
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable

import jsonschema

from logalert.config.yamlfile import locate, plain
from logalert.errors import Problem
from logalert.options import DEFS, Option


def build(options: Iterable[Option], required: Iterable[str] = (), description: str = "") -> dict[str, Any]:
    """The schema of a mapping holding ``options`` (later ones win on a shared name)."""
    properties = {o.name: _inline(o.fragment()) for o in options}
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if description:
        schema["description"] = description
    required = list(dict.fromkeys(required))
    if required:
        schema["required"] = required
    return schema


def compile_schema(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema)


def _inline(node: Any) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            merged = dict(_inline(dict(DEFS[ref.rsplit("/", 1)[1]])))
            merged.update({k: _inline(v) for k, v in node.items() if k != "$ref"})
            return merged
        return {k: _inline(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v) for v in node]
    return node


def check(doc: Any, validator: jsonschema.protocols.Validator, file: str) -> list[Problem]:
    """Validate ``doc`` and return one Problem per error, positioned by YAML line."""
    problems = []
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.path))):
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
