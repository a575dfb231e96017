"""The option registry: every rule type and alerter declares its options, is documented
and tested; every option has a type and a scope; the schemas, config defaults, secrets,
connection key and rule defaults are what the registry says."""

from __future__ import annotations

import re
from pathlib import Path

import jsonschema
import pytest

from logalert import engine, ruletypes, secrets
from logalert import options as registry
from logalert.config import schema, settings
from logalert.notify import alerters
from logalert.options import Option
from logalert.rules import catalog, loader

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
TYPES = sorted(ruletypes.RULE_TYPES)
ALERTERS = sorted(alerters.ALERTERS)


def _section(title: str) -> str:
    """README text under the heading ``title``, up to the next heading of its level or above."""
    heading = re.search(rf"^(#+) {re.escape(title)}$", README, re.M)
    assert heading, f"README has no heading {title!r}"
    end = re.compile(rf"^#{{1,{len(heading.group(1))}}} ", re.M).search(README, heading.end())
    return README[heading.end():end.start() if end else None]


def every_declaration() -> list[tuple[str, Option]]:
    """(where, option) for the registry's own options and every type's and alerter's."""
    out = [("registry", o) for o in registry.OPTIONS]
    out += [(f"type {t}", o) for t in TYPES for o in ruletypes.declared(t)[0]]
    out += [(f"alerter {a}", o) for a in ALERTERS for o in alerters.declared(a)[0]]
    return out


DECLARATIONS = every_declaration()
IDS = [f"{where}:{o.name}" for where, o in DECLARATIONS]


# --- rule types and alerters ----------------------------------------------------------
@pytest.mark.parametrize("name", TYPES)
def test_every_rule_type_declares_its_options_documents_and_tests_them(name):
    options, required = ruletypes.declared(name)
    assert all(isinstance(o, Option) for o in options)
    assert len({o.name for o in options}) == len(options), "an option declared twice"
    assert set(required) <= set(catalog.rule_options(name)), "requires an option nobody declares"
    built = catalog.rule_schema(name)
    jsonschema.validators.validator_for(built).check_schema(built)
    assert re.search(rf"^\| `{name}` \|", _section("Rule types"), re.M), f"no README row for type {name}"
    assert (ROOT / "tests" / "unit" / "ruletypes" / f"test_{name}.py").is_file()


@pytest.mark.parametrize("name", ALERTERS)
def test_every_alerter_declares_its_options_documents_and_tests_them(name):
    options, required = alerters.declared(name)
    assert all(isinstance(o, Option) for o in options)
    assert len({o.name for o in options}) == len(options), "an option declared twice"
    assert set(required) <= {o.name for o in options}
    built = catalog.alerter_schema(name)
    jsonschema.validators.validator_for(built).check_schema(built)
    assert re.search(rf"^\*\*{name}\*\*", _section("Alerters"), re.M), f"no README paragraph for alerter {name}"
    assert (ROOT / "tests" / "unit" / "notify" / "alerters" / f"test_{name}.py").is_file()


# --- every option ---------------------------------------------------------------------
@pytest.mark.parametrize("where, option", DECLARATIONS, ids=IDS)
def test_every_option_has_a_type_a_scope_and_a_valid_default(where, option):
    fragment = schema.build([option])["properties"][option.name]
    assert {"type", "enum", "anyOf"} & set(fragment), "the schema fragment says nothing about the value"
    jsonschema.validators.validator_for(fragment).check_schema(fragment)
    assert option.scope and option.scope <= registry.SCOPES
    if where.startswith("type"):
        assert registry.RULE in option.scope
    if where.startswith("alerter"):
        assert registry.ALERTER in option.scope
    if option.has_default:
        assert list(schema.compile_schema(fragment).iter_errors(option.default)) == [], "default fails its own schema"


@pytest.mark.parametrize("where, option", DECLARATIONS, ids=IDS)
def test_inheritance_connection_and_secret_files_are_consistent(where, option):
    if option.inherited or (registry.CONFIG in option.scope and registry.RULE in option.scope):
        # a config.yaml option a rule may set is the rule's default (es_conn_timeout was not)
        assert option.inherited and {registry.CONFIG, registry.RULE} <= option.scope
    if option.connection:
        assert option.inherited
    if option.fills:
        assert registry.BY_NAME[option.fills].secret and registry.CONFIG in option.scope


@pytest.mark.parametrize("where, option", DECLARATIONS, ids=IDS)
def test_a_type_or_alerter_redeclares_no_shared_option(where, option):
    """A type or alerter may reuse a registry option (the same object) or narrow a
    rule-only one; it never redefines what config.yaml or every rule relies on."""
    core = registry.BY_NAME.get(option.name)
    if where == "registry" or core is None or core is option:
        return
    assert core.scope == frozenset({registry.RULE}) and not core.inherited and not core.has_default


@pytest.mark.parametrize("where, option", [d for d in DECLARATIONS if not d[1].implemented],
                         ids=[i for i, d in zip(IDS, DECLARATIONS) if not d[1].implemented])
def test_unimplemented_options_say_what_is_not_done_and_their_default_is_silent(where, option):
    assert option.warning().startswith("accepted for ElastAlert compatibility but not implemented: ")
    assert len(option.unimplemented) > 10
    if option.has_default:
        assert not option.warns_for(option.default)
    assert option.warns_for("anything else")


# --- everything derives from the registry ---------------------------------------------
def test_config_schema_defaults_and_secret_files_come_from_the_registry():
    config_options = [o for o in registry.OPTIONS if registry.CONFIG in o.scope]
    assert set(settings.OPTIONS) == {o.name for o in config_options}
    assert dict(settings.DEFAULTS) == {o.name: o.default for o in config_options if o.has_default}
    assert dict(settings.SECRET_FILES) == {"es_password_file": "es_password", "es_api_key_file": "es_api_key",
                                           "web_token_file": "web_token"}
    assert set(settings.validator().schema["properties"]) == set(settings.OPTIONS)


@pytest.mark.parametrize("name", TYPES + [None])
def test_rule_schemas_are_the_registry_options_plus_the_types(name):
    built = catalog.rule_schema(name)
    own, required = ruletypes.declared(name) if name else ((), ())
    expected = {o.name: o for o in registry.OPTIONS if registry.RULE in o.scope}
    expected.update({o.name: o for o in own})
    assert set(built["properties"]) == set(expected)
    for option_name, option in expected.items():
        assert built["properties"][option_name] == schema.build([option])["properties"][option_name]
    assert built["required"] == list(dict.fromkeys(registry.RULE_REQUIRED + required))
    assert dict(catalog.rule_defaults(name)) == {o.name: o.default for o in expected.values() if o.has_default}


@pytest.mark.parametrize("name", ALERTERS)
def test_alerter_schemas_are_their_declarations(name):
    own, required = alerters.declared(name)
    built = catalog.alerter_schema(name)
    assert set(built["properties"]) == {o.name for o in own} | {o.name for o in registry.ALERTER_COMMON}
    assert built.get("required", []) == list(required)


def test_connection_key_inherited_options_and_secrets_come_from_the_registry():
    assert engine.CONNECTION_OPTIONS == registry.CONNECTION_OPTIONS
    assert "es_conn_timeout" in registry.CONNECTION_OPTIONS
    assert loader.INHERITED == registry.INHERITED
    catalog.load_alerters()
    for where, option in DECLARATIONS:
        assert secrets.is_secret(option.name) == (option.secret or option.name.endswith(registry.SECRET_SUFFIXES)), where


@pytest.mark.parametrize("option", [o for o in registry.OPTIONS if registry.CONFIG in o.scope], ids=lambda o: o.name)
def test_every_config_option_has_a_readme_row(option):
    table = _section("Configuration (config.yaml)")
    assert re.search(rf"^\|[^|\n]*`{option.name}`", table, re.M), f"{option.name} is not in the README config table"


def test_unimplemented_options_are_listed_in_the_readme():
    listed = _section("Options accepted for ElastAlert compatibility")
    for where, option in DECLARATIONS:
        if not option.implemented:
            assert f"`{option.name}`" in listed, f"{where}: {option.name}"
