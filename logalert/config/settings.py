"""Global configuration: config.yaml, then LOGALERT_* environment overrides.

Containers are configured by environment, so every option can come from
``LOGALERT_<OPTION>``; secrets can also come from a file (``es_password_file``)
so they never sit in a ConfigMap.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import os
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Mapping

import yaml

from logalert import options as registry
from logalert import secrets
from logalert.config import schema
from logalert.config.yamlfile import LineMap, load_yaml_file, plain
from logalert.errors import ConfigError, Problem
from logalert.notify import foreign
from logalert.options import Option
from logalert.timeutil import short_span, to_timedelta

ENV_PREFIX = "LOGALERT_"

# What config.yaml accepts and its defaults, from the option registry.
OPTIONS: Mapping[str, Option] = MappingProxyType({o.name: o for o in registry.CONFIG_OPTIONS})
DEFAULTS: Mapping[str, Any] = MappingProxyType(registry.defaults(registry.CONFIG_OPTIONS))

# Options whose value is a file holding a secret, and the option it fills.
SECRET_FILES: Mapping[str, str] = MappingProxyType({o.name: o.fills for o in registry.CONFIG_OPTIONS if o.fills})



@dataclass(frozen=True)
class Config:
    """The loaded global config; ``options`` is read-only and also feeds rule defaults."""

    path: str | None
    options: Mapping[str, Any]
    warnings: tuple[Problem, ...] = field(default=())

    def __getitem__(self, key: str) -> Any:
        return self.options[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)

    def span(self, key: str) -> dt.timedelta:
        return to_timedelta(self.options[key])

    @property
    def rules_folder(self) -> str:
        folder = self.options["rules_folder"]
        if self.path and not os.path.isabs(folder):
            return os.path.join(os.path.dirname(os.path.abspath(self.path)), folder)
        return folder


def _env_value(raw: str, option: str) -> Any:
    """Environment values are YAML scalars; ``30s``/``5m``/``2h`` are spans for span options."""
    declared = OPTIONS[option]
    if declared.is_span:
        short = short_span(raw)
        if short is not None:
            return short
    if declared.schema.get("type") == "string":
        return raw
    try:
        return yaml.safe_load(raw)
    except yaml.YAMLError:
        return raw


def load_config(path: str | None, environ: Mapping[str, str] | None = None) -> Config:
    """Load ``path`` (may be None: defaults + environment), validate, apply overrides."""
    environ = os.environ if environ is None else environ
    doc: Any = LineMap()
    label = path or "<environment>"
    if path:
        doc = load_yaml_file(path)
        if doc is None:
            doc = LineMap()
        if not isinstance(doc, dict):
            raise ConfigError([Problem(path, 1, None, "the config file must be a mapping of options")])
    known = OPTIONS
    for key, raw in environ.items():
        if not key.startswith(ENV_PREFIX):
            continue
        option = key[len(ENV_PREFIX):].lower()
        if option in known:
            doc[option] = _env_value(raw, option)
            if isinstance(doc, LineMap):
                doc.pos[option] = (f"${key}", 0)
    problems = _one_rules_folder(doc, label) + schema.check(doc, validator(), label)
    if problems:
        raise ConfigError(problems)
    options = copy.deepcopy(dict(DEFAULTS))
    options.update(plain(doc))
    for file_option, target in SECRET_FILES.items():
        if options.get(file_option):
            try:
                with open(options[file_option], encoding="utf-8") as handle:
                    options[target] = handle.read().strip()
            except OSError as exc:
                pos = doc.pos.get(file_option, (label, None)) if isinstance(doc, LineMap) else (label, None)
                raise ConfigError([Problem(pos[0], pos[1], file_option, f"cannot read secret file: {exc.strerror}")]) from None
    secrets.register_options(options)
    warnings = []
    for key, value in doc.items():
        pos = doc.pos.get(key, (label, None)) if isinstance(doc, LineMap) else (label, None)
        if key not in known:
            warnings.append(Problem(pos[0], pos[1], str(key), _unknown(str(key)), fatal=False))
        elif known[key].warns_for(value):
            warnings.append(Problem(pos[0], pos[1], key, known[key].warning(), fatal=False))
    return Config(path, MappingProxyType(options), tuple(warnings))


def _unknown(key: str) -> str:
    """Why an option is ignored: it belongs to an ElastAlert2 notifier logalert does not
    build in (which says what to use), or nobody knows it (did-you-mean)."""
    return foreign.option_advice(key) or "unknown option, ignored" + schema.did_you_mean(key, OPTIONS)


def _one_rules_folder(doc: Any, label: str) -> list[Problem]:
    """ElastAlert2 also takes a list of rules folders. A list of one loads as that folder;
    several are refused in one line (logalert reads one folder and its sub-folders)."""
    folders = doc.get("rules_folder")
    if not isinstance(folders, list) or not all(isinstance(f, str) for f in folders):
        return []
    if len(folders) == 1:
        doc["rules_folder"] = folders[0]
        return []
    pos = doc.pos.get("rules_folder", (label, None)) if isinstance(doc, LineMap) else (label, None)
    return [Problem(pos[0], pos[1], "rules_folder", f"logalert reads one rules folder (and its sub-folders), got "
                                                    f"{len(folders)}; move the rules under one folder")]


@functools.lru_cache(maxsize=None)
def validator() -> Any:
    return schema.compile_schema(schema.build(registry.CONFIG_OPTIONS, description="logalert config.yaml"))
