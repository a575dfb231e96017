"""What a rule file may say: the registry's rule options plus its type's and its alerters'.

Rule types and alerters declare their options next to their code (``OPTIONS`` and
``REQUIRED`` in their modules). This module reads those declarations — each once, and
only when needed: reading every rule type would import the engine client for
``percentage_match`` — and builds one JSON Schema per rule type and per alerter.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from logalert import options as registry
from logalert import ruletypes, secrets
from logalert.config import schema
from logalert.notify import alerters
from logalert.options import Option


@dataclass(frozen=True)
class Declared:
    """A rule type's or an alerter's own options by name, and the names it requires."""

    options: Mapping[str, Option]
    required: tuple[str, ...]


CORE: Mapping[str, Option] = MappingProxyType({o.name: o for o in registry.RULE_OPTIONS})
CONFIG_ONLY: Mapping[str, Option] = MappingProxyType(
    {o.name: o for o in registry.CONFIG_OPTIONS if registry.RULE not in o.scope})


def _declared(options: tuple[Option, ...], required: tuple[str, ...]) -> Declared:
    secrets.declare(o.name for o in options if o.secret)
    return Declared(MappingProxyType({o.name: o for o in options}), required)


@functools.lru_cache(maxsize=None)
def ruletype(name: str) -> Declared:
    return _declared(*ruletypes.declared(name))


@functools.lru_cache(maxsize=None)
def alerter(name: str) -> Declared:
    options, required = alerters.declared(alerters.canonical(name))
    return _declared(registry.ALERTER_COMMON + tuple(options), required)


@functools.lru_cache(maxsize=None)
def load_alerters() -> None:
    """Read every alerter's declarations, so their secret options are masked in any rule
    (a rule may carry a webhook URL for a notifier it does not use)."""
    for name in alerters.names():
        alerter(name)


@functools.lru_cache(maxsize=None)
def rule_options(type_name: str | None) -> Mapping[str, Option]:
    """The options of a rule of this type: the registry's, the type's own winning."""
    merged = dict(CORE)
    if type_name is not None:
        merged.update(ruletype(type_name).options)
    return MappingProxyType(merged)


@functools.lru_cache(maxsize=None)
def rule_schema(type_name: str | None) -> Mapping[str, Any]:
    """The JSON Schema of a rule file of this type (None: a type logalert does not know)."""
    required = registry.RULE_REQUIRED + (ruletype(type_name).required if type_name is not None else ())
    what = f"a logalert rule of type {type_name}" if type_name else "a logalert (ElastAlert-format) rule"
    return schema.build(rule_options(type_name).values(), required, what)


@functools.lru_cache(maxsize=None)
def rule_validator(type_name: str | None) -> Any:
    return schema.compile_schema(dict(rule_schema(type_name)))


@functools.lru_cache(maxsize=None)
def rule_defaults(type_name: str | None) -> Mapping[str, Any]:
    """Every default a rule of this type starts from (config.yaml values come on top)."""
    return MappingProxyType(registry.defaults(rule_options(type_name).values()))


@functools.lru_cache(maxsize=None)
def alerter_schema(name: str) -> Mapping[str, Any]:
    declared = alerter(name)
    return schema.build(declared.options.values(), declared.required, f"alert: {alerters.canonical(name)}")


@functools.lru_cache(maxsize=None)
def alerter_validator(name: str) -> Any:
    return schema.compile_schema(dict(alerter_schema(name)))


@functools.lru_cache(maxsize=None)
def alerter_defaults(name: str) -> Mapping[str, Any]:
    """Defaults of the alerter's own options (shared ones, like smtp_host, are rule options)."""
    own = [o for o in alerter(name).options.values() if o.name not in CORE]
    return MappingProxyType(registry.defaults(own))


@functools.lru_cache(maxsize=None)
def every_option() -> frozenset[str]:
    """Every name any rule or config.yaml may use: for did-you-mean, and to tell a typo
    from an option of another rule type or alerter. Reads every declaration."""
    names = set(CORE) | {o.name for o in registry.CONFIG_OPTIONS}
    for name in ruletypes.RULE_TYPES:
        names |= set(ruletype(name).options)
    for name in alerters.names():
        names |= set(alerter(name).options)
    return frozenset(names)
