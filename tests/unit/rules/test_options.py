"""Options as the registry declares them: config.yaml values reach rules, connections and
alerters; registry defaults fill a rule; unimplemented options and config.yaml-only
options in a rule warn; scan_subdirectories."""

from __future__ import annotations

import textwrap

import pytest
import yaml

from logalert import engine, ruletypes
from logalert import options as registry
from logalert.config import load_config, schema
from logalert.rules import catalog, load_folder, load_rule, rule_files

BASE = "name: r\ntype: any\nindex: logs-*\n"
INHERITED = [registry.BY_NAME[name] for name in registry.INHERITED]


def sample(option: registry.Option, avoid: tuple = ()):
    """A valid value for ``option`` that differs from its default (or from ``avoid``)."""
    fragment = schema.build([option])["properties"][option.name]
    candidates = []
    if "enum" in fragment:
        candidates = list(fragment["enum"])
    elif option.is_span:
        candidates = [{"minutes": 7}, {"seconds": 3}]
    elif fragment.get("pattern") == "^[A-Za-z_][A-Za-z0-9_]*$":  # an identifier (jinja_root_name)
        candidates = ["sample_value", "other_value"]
    elif "anyOf" in fragment or fragment.get("type") == "string":
        candidates = ["sample-value.example", "other-value.example"]
    elif fragment.get("type") == "array":
        candidates = [["sample-value.example"], ["other-value.example"]]
    elif fragment.get("type") == "boolean":
        candidates = [True, False]
    elif fragment.get("type") == "object":
        candidates = [{"version": 1}, {"version": 2}]
    elif fragment.get("type") in ("integer", "number"):
        low = fragment.get("minimum", fragment.get("exclusiveMinimum", 0))
        candidates = [int(low) + 2, int(low) + 3]
    avoid = avoid or ((option.default,) if option.has_default else ())
    value = next((c for c in candidates if c not in avoid), None)
    assert value is not None, f"no sample value for {option.name} {fragment}: extend sample()"
    assert list(schema.compile_schema(fragment).iter_errors(value)) == []
    return value


def _config(tmp_path, text: str):
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text))
    return load_config(str(path), environ={})


@pytest.mark.parametrize("option", INHERITED, ids=lambda o: o.name)
def test_every_inherited_config_option_reaches_the_rule_its_connection_and_alerters(tmp_path, make_rule,
                                                                                    monkeypatch, option):
    value = sample(option)
    cfg = _config(tmp_path, yaml.safe_dump({option.name: value}))
    rule = make_rule(BASE + "alert: [email]\nemail: ops@example.com\n", cfg)
    assert rule.get(option.name) == value
    if option.connection:
        assert rule.connection[engine.CONNECTION_OPTIONS.index(option.name)] == value
        seen = []
        monkeypatch.setattr(engine, "connect", lambda options: seen.append(dict(options)) or object())
        engine.Pool().get(rule.connection, rule.options)
        assert seen[0][option.name] == value
    if registry.ALERTER in option.scope:
        assert rule.alerts[0].options[option.name] == value


@pytest.mark.parametrize("option", INHERITED, ids=lambda o: o.name)
def test_a_rule_overrides_an_inherited_option(tmp_path, make_rule, option):
    from_config = sample(option)
    cfg = _config(tmp_path, yaml.safe_dump({option.name: from_config}))
    other = sample(option, avoid=(from_config,))
    rule = make_rule(BASE + "alert: stdout\n" + yaml.safe_dump({option.name: other}), cfg)
    assert rule.get(option.name) == other


@pytest.mark.parametrize("type_name", sorted(ruletypes.RULE_TYPES))
def test_a_rule_holds_every_default_of_its_type_and_of_the_registry(make_rule, type_name):
    own, _ = ruletypes.declared(type_name)
    rule = make_rule(_valid_rule(type_name))
    for option in list(registry.RULE_OPTIONS) + list(own):
        if option.has_default and option.name not in yaml.safe_load(_valid_rule(type_name)):
            assert rule.get(option.name) == option.default, option.name
    others = {o.name for t in ruletypes.RULE_TYPES if t != type_name for o in ruletypes.declared(t)[0]}
    foreign = others - {o.name for o in own} - set(catalog.CORE)
    assert not foreign & set(rule.options), "another type's defaults leaked into this rule"


def test_alerter_defaults_reach_its_target_only(make_rule):
    rule = make_rule(BASE + "alert: [slack, stdout]\nslack_webhook_url: https://hooks.example.com/x/y\n")
    slack, stdout = rule.alerts
    assert slack.options["slack_timeout"] == 10
    assert slack.options["slack_msg_color"] == "danger"
    assert "slack_timeout" not in stdout.options and "slack_timeout" not in rule.options
    assert rule.alerts[0].options["from_addr"] == "logalert@localhost"  # a registry (config) default


def _valid_rule(type_name: str) -> str:
    extra = {
        "blacklist": "compare_key: user\nblacklist: [a]\n",
        "whitelist": "compare_key: user\nwhitelist: [a]\nignore_null: true\n",
        "change": "compare_key: status\nignore_null: true\nquery_key: host\n",
        "frequency": "num_events: 3\ntimeframe: {minutes: 5}\n",
        "flatline": "threshold: 3\ntimeframe: {minutes: 5}\n",
        "spike": "spike_height: 2\nspike_type: up\ntimeframe: {minutes: 5}\n",
        "new_term": "fields: [host]\n",
        "cardinality": "cardinality_field: user\nmax_cardinality: 5\ntimeframe: {minutes: 5}\n",
        "metric_aggregation": "metric_agg_key: bytes\nmetric_agg_type: avg\nmax_threshold: 5\n",
        "spike_aggregation": "metric_agg_key: bytes\nmetric_agg_type: avg\nspike_height: 2\nspike_type: up\n",
        "percentage_match": "match_bucket_filter: [{term: {status: 500}}]\nmax_percentage: 5\n",
    }.get(type_name, "")
    return f"name: r\ntype: {type_name}\nindex: logs-*\nalert: stdout\n" + extra


# --- accepted but not implemented -------------------------------------------------------
def _unimplemented():
    out = [(None, o) for o in registry.RULE_OPTIONS if not o.implemented]
    out += [(t, o) for t in sorted(ruletypes.RULE_TYPES) for o in ruletypes.declared(t)[0] if not o.implemented]
    return out


@pytest.mark.parametrize("type_name, option", _unimplemented(), ids=lambda x: getattr(x, "name", x))
def test_an_unimplemented_rule_option_is_a_warning_naming_what_is_not_done(tmp_path, config, type_name, option):
    path = tmp_path / "r.yaml"
    text = _valid_rule(type_name or "any")
    value = sample(option)
    path.write_text(text + yaml.safe_dump({option.name: value}))
    line = len(text.splitlines()) + 1
    rule, warnings = load_rule(str(path), config)
    assert rule.get(option.name) == value
    assert [str(w) for w in warnings] == [
        f"{path}:{line}: warning: {option.name}: accepted for ElastAlert compatibility but not implemented: "
        f"{option.unimplemented}"]


def test_an_unimplemented_option_at_its_default_is_silent(tmp_path, config):
    path = tmp_path / "r.yaml"
    path.write_text(BASE + "alert: stdout\ngenerate_kibana_link: false\nscan_entire_timeframe: false\n")
    assert load_rule(str(path), config)[1] == []


def test_new_term_reads_fields_so_it_does_not_warn(tmp_path, config):
    path = tmp_path / "r.yaml"
    path.write_text(_valid_rule("new_term"))
    assert load_rule(str(path), config)[1] == []


def test_an_unimplemented_alerter_option_warns_where_it_is_set(tmp_path, config):
    from logalert.notify.alerters.slack import JIRA

    path = tmp_path / "r.yaml"
    path.write_text(BASE + "alert:\n  - slack:\n      slack_webhook_url: https://hooks.slack.com/services/A/B/C\n"
                           "      slack_attach_jira_ticket_url: true\n")
    _, warnings = load_rule(str(path), config)
    assert [str(w) for w in warnings] == [
        f"{path}:7: warning: slack_attach_jira_ticket_url: accepted for ElastAlert compatibility but not "
        f"implemented: {JIRA}"]


@pytest.mark.parametrize("option", [o for o in registry.CONFIG_OPTIONS if not o.implemented], ids=lambda o: o.name)
def test_an_unimplemented_config_option_is_a_warning(tmp_path, option):
    cfg = _config(tmp_path, f"es_host: x\n{yaml.safe_dump({option.name: sample(option)})}")
    assert [str(w) for w in cfg.warnings] == [
        f"{tmp_path / 'config.yaml'}:2: warning: {option.name}: accepted for ElastAlert compatibility "
        f"but not implemented: {option.unimplemented}"]


def test_a_config_only_option_in_a_rule_warns_that_it_does_nothing(tmp_path, config):
    path = tmp_path / "r.yaml"
    path.write_text(BASE + "alert: stdout\nwriteback_index: mine\n")
    _, warnings = load_rule(str(path), config)
    assert [str(w) for w in warnings] == [
        f"{path}:5: warning: writeback_index: a config.yaml option; it has no effect in a rule"]


def test_another_types_option_is_not_a_typo(tmp_path, config):
    path = tmp_path / "r.yaml"
    path.write_text(BASE + "alert: stdout\nnum_events: 3\n")
    assert load_rule(str(path), config)[1] == []


# --- scan_subdirectories ----------------------------------------------------------------
@pytest.fixture
def nested_rules(tmp_path):
    folder = tmp_path / "rules"
    (folder / "team").mkdir(parents=True)
    (folder / "top.yaml").write_text("name: top\ntype: any\nindex: x\nalert: stdout\n")
    (folder / "team" / "nested.yaml").write_text("name: nested\ntype: any\nindex: x\nalert: stdout\n")
    return folder


@pytest.mark.parametrize("setting, expected", [("", ["nested", "top"]), ("true", ["nested", "top"]),
                                               ("false", ["top"])])
def test_scan_subdirectories_decides_whether_sub_folders_hold_rules(tmp_path, nested_rules, setting, expected):
    cfg = _config(tmp_path, f"scan_subdirectories: {setting}\n" if setting else "es_host: x\n")
    assert sorted(r.name for r in load_folder([str(nested_rules)], cfg).rules) == expected


def test_rule_files_lists_only_the_top_folder_without_subdirectories(nested_rules):
    assert [p.rsplit("/", 1)[1] for p in rule_files([str(nested_rules)], subdirectories=False)] == ["top.yaml"]
    assert sorted(p.rsplit("/", 1)[1] for p in rule_files([str(nested_rules)])) == ["nested.yaml", "top.yaml"]
