"""Rule loading: one-line FILE:LINE errors per broken file, import:, config defaults."""

from __future__ import annotations

import datetime as dt
import re
import textwrap

import pytest

from logalert.config import load_config
from logalert.errors import ConfigError
from logalert.rules import load_folder, load_rule, rule_files

from ..conftest import FIXTURES

BROKEN = FIXTURES / "broken"
LINE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<option>[\w.\[\]]+): (?P<message>.+)$")


def _problem_for(result, name):
    found = [p for p in result.problems if p.file.endswith(f"/{name}")]
    assert len(found) == 1, [str(p) for p in result.problems]
    return found[0]


@pytest.fixture(scope="module")
def broken_result():
    return load_folder([str(BROKEN)], load_config(None, environ={}))


# file, line, option, a piece of the message
CASES = [
    ("bad_timespan.yaml", 4, "run_every", "must be a time span such as {minutes: 5}"),
    ("missing_type.yaml", 1, "type", "required option is missing"),
    ("unknown_type.yaml", 3, "type", "unknown rule type 'frequenzy'; did you mean 'frequency'?"),
    ("missing_name.yaml", 1, "name", "required option is missing"),
    ("missing_index.yaml", 1, "index", "required option is missing"),
    ("missing_alert.yaml", 1, "alert", "required option is missing"),
    ("slack_no_url.yaml", 6, "slack_webhook_url", "required by the 'slack' notifier but not set"),
    ("email_no_recipients.yaml", 5, "email", "required by the 'email' notifier but not set"),
    ("missing_import.yaml", 2, "import", "imported file not found"),
    ("filter_not_list.yaml", 4, "filter", "must be a list of filters"),
    ("unknown_filter_kind.yaml", 7, "filter[1]", "unknown filter kind 'querystring'; did you mean 'query_string'?"),
    ("type_filter.yaml", 8, "filter[1]", "no longer have (they refuse the query); remove this filter"),
]


@pytest.mark.parametrize("name, line, option, message", CASES, ids=[c[0] for c in CASES])
def test_each_broken_file_gives_one_line_with_file_line_and_option(broken_result, name, line, option, message):
    problem = _problem_for(broken_result, name)
    assert problem.fatal
    assert (problem.line, problem.option) == (line, option)
    assert message in problem.message
    text = str(problem)
    assert "\n" not in text
    parsed = LINE.match(text)
    assert parsed, text
    assert parsed["file"] == str(BROKEN / name)
    assert int(parsed["line"]) == line
    assert parsed["option"] == option


def test_bad_yaml_syntax_names_the_line(broken_result):
    problem = _problem_for(broken_result, "bad_yaml.yaml")
    assert problem.line == 4
    assert problem.option is None
    assert problem.message.startswith("invalid YAML: mapping values are not allowed")
    assert str(problem).startswith(f"{BROKEN / 'bad_yaml.yaml'}:4: invalid YAML")


def test_empty_file_is_an_error_at_line_1(broken_result):
    problem = _problem_for(broken_result, "empty.yaml")
    assert problem.line == 1
    assert str(problem) == (f"{BROKEN / 'empty.yaml'}:1: the file is empty; "
                            "a rule needs at least name, type, index and alert")


def test_valid_rule_beside_broken_ones_still_loads(broken_result):
    assert [r.name for r in broken_result.rules] == ["valid beside broken ones"]
    rule = broken_result.rules[0]
    assert rule.filters[0]["term"] == {"level": "ERROR"}
    assert [t.name for t in rule.alerts] == ["stdout"]


def test_every_broken_file_is_reported_once(broken_result):
    broken_files = sorted(p.name for p in BROKEN.iterdir() if p.name != "valid.yaml")
    reported = sorted({p.file.rsplit("/", 1)[1] for p in broken_result.errors})
    assert reported == broken_files
    assert len(broken_result.errors) == len(broken_files)


def test_seed_elastalert_rule_loads_unchanged(config):
    rule, warnings = load_rule(str(FIXTURES / "seed_rule.yaml"), config)
    assert warnings == []
    assert rule.name == "Alert on any error"
    assert rule.type == "any"
    assert rule.index == "logstash-*"
    assert rule.timestamp_field == "@timestamp"
    assert [dict(f) for f in rule.filters] == [{"query": {"query_string": {"query": "message:/ERROR/i"}}}]
    assert rule.get("alert_subject") == "Error!!"
    assert rule.get("alert_text_type") == "alert_text_only"
    assert rule.get("alert_text") == "occur error on some components!"
    assert (rule.get("es_host"), rule.get("es_port")) == ("localhost", 9200)
    assert [t.name for t in rule.alerts] == ["slack"]
    assert rule.alerts[0].options["slack_webhook_url"] == "https://hooks.slack.com/services/XXXXX/YYYYY/ZZZZZ"
    assert rule.where("slack_webhook_url") == f"{FIXTURES / 'seed_rule.yaml'}:16"
    assert rule.where("filter") == f"{FIXTURES / 'seed_rule.yaml'}:7"


def test_seed_rule_repr_does_not_print_the_webhook(config):
    rule, _ = load_rule(str(FIXTURES / "seed_rule.yaml"), config)
    assert "hooks.slack.com" not in repr(rule) + repr(rule.alerts)


def test_unknown_option_is_a_warning_with_did_you_mean(config):
    path = FIXTURES / "typo_option.yaml"
    rule, warnings = load_rule(str(path), config)
    assert rule.name == "typo in an option"
    assert len(warnings) == 1
    warning = warnings[0]
    assert not warning.fatal
    assert (warning.line, warning.option) == (5, "alert_subjet")
    assert str(warning) == f"{path}:5: warning: alert_subjet: unknown option, ignored; did you mean 'alert_subject'?"


def test_load_folder_keeps_rule_with_warning_and_reports_it(config):
    result = load_folder([str(FIXTURES / "typo_option.yaml")], config)
    assert [r.name for r in result.rules] == ["typo in an option"]
    assert result.errors == []
    assert [p.option for p in result.problems] == ["alert_subjet"]


# --- import: ------------------------------------------------------------------------------
def test_import_is_relative_to_the_importing_file_and_the_importer_wins(config):
    rule, _ = load_rule(str(FIXTURES / "imports" / "child.yaml"), config)
    assert rule.index == "logstash-*"  # from the base
    assert rule.get("realert") == {"minutes": 30}  # from the base
    assert rule.get("alert_subject") == "from the child"  # overridden
    assert rule.alerts[0].options["slack_webhook_url"].endswith("/sharedsecret1")
    base = FIXTURES / "imports" / "shared" / "_defaults.yaml"
    assert rule.where("index") == f"{base}:2"
    assert rule.where("alert_subject") == f"{FIXTURES / 'imports' / 'child.yaml'}:4"
    assert "import" not in rule.options


def test_nested_imports_resolve_relative_to_each_file(config):
    rule, _ = load_rule(str(FIXTURES / "imports" / "grandchild.yaml"), config)
    assert rule.index == "middle-*"  # _middle.yaml overrides _defaults.yaml
    assert rule.get("alert_subject") == "from the base"
    assert rule.where("index") == f"{FIXTURES / 'imports' / 'shared' / '_middle.yaml'}:2"


def test_underscore_files_are_not_rules_but_importers_are(config):
    files = sorted(p.rsplit("/", 1)[1] for p in rule_files([str(FIXTURES / "imports")]))
    assert files == ["child.yaml", "grandchild.yaml"]
    result = load_folder([str(FIXTURES / "imports")], config)
    assert sorted(r.name for r in result.rules) == ["child rule", "grandchild rule"]
    assert result.problems == []


def test_circular_import_is_an_error_at_the_closing_import(config):
    with pytest.raises(ConfigError) as info:
        load_rule(str(FIXTURES / "circular" / "a.yaml"), config)
    (problem,) = info.value.problems
    assert str(problem) == f"{FIXTURES / 'circular' / 'b.yaml'}:2: import: circular import of a.yaml"


def test_self_import_is_circular(tmp_path, config):
    path = tmp_path / "self.yaml"
    path.write_text("name: s\ntype: any\nindex: x\nalert: stdout\nimport: self.yaml\n")
    with pytest.raises(ConfigError) as info:
        load_rule(str(path), config)
    assert str(info.value) == f"{path}:5: import: circular import of self.yaml"


def test_error_in_an_imported_option_points_into_the_imported_file(tmp_path, config):
    (tmp_path / "_base.yaml").write_text("index: logs-*\nbuffer_time: {minutes: -5}\nalert: stdout\n")
    (tmp_path / "r.yaml").write_text("import: _base.yaml\nname: r\ntype: any\n")
    result = load_folder([str(tmp_path)], config)
    assert result.rules == []
    (problem,) = result.errors
    assert (problem.file, problem.line, problem.option) == (str(tmp_path / "_base.yaml"), 2, "buffer_time.minutes")


def test_import_must_be_names(tmp_path, config):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntype: any\nindex: x\nalert: stdout\nimport: {file: a.yaml}\n")
    with pytest.raises(ConfigError) as info:
        load_rule(str(path), config)
    assert str(info.value) == f"{path}:5: import: must be a file name or a list of file names"


# --- config defaults ----------------------------------------------------------------------
def _config_file(tmp_path, text):
    path = tmp_path / "config.yaml"
    path.write_text(textwrap.dedent(text))
    return load_config(str(path), environ={})


def test_config_defaults_flow_into_rules_and_rules_override_them(tmp_path, make_rule):
    cfg = _config_file(tmp_path, """\
        es_host: es.internal
        es_port: 9243
        run_every: {minutes: 5}
        buffer_time: {minutes: 45}
        smtp_host: mail.example.com
        from_addr: alerts@example.com
    """)
    rule = make_rule("""\
        name: r
        type: any
        index: logs-*
        buffer_time: {minutes: 10}
        alert: [email]
        email: ops@example.com
    """, cfg)
    assert (rule.get("es_host"), rule.get("es_port")) == ("es.internal", 9243)
    assert rule.run_every == dt.timedelta(minutes=5)
    assert rule.buffer_time == dt.timedelta(minutes=10)
    email = rule.alerts[0].options
    assert (email["smtp_host"], email["from_addr"], email["email"]) == ("mail.example.com", "alerts@example.com", "ops@example.com")


def test_rule_defaults_apply_without_config(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: logs-*\nalert: stdout\n")
    assert rule.timestamp_field == "@timestamp"
    assert rule.timestamp_type == "iso"
    assert rule.get("realert") == {"minutes": 1}
    assert rule.run_every == dt.timedelta(minutes=1)
    assert rule.buffer_time == dt.timedelta(minutes=15)
    assert rule.filters == ()


def test_config_realert_is_a_rule_default(tmp_path, make_rule):
    cfg = _config_file(tmp_path, "realert: {minutes: 10}\n")
    rule = make_rule("name: r\ntype: any\nindex: logs-*\nalert: stdout\n", cfg)
    assert rule.get("realert") == {"minutes": 10}


def test_per_notifier_options_override_rule_options(make_rule):
    rule = make_rule("""\
        name: r
        type: any
        index: logs-*
        slack_username_override: rule-level
        alert:
          - slack:
              slack_webhook_url: https://hooks.slack.com/services/T1/B1/perentry
              slack_username_override: entry-level
          - stdout
    """)
    slack, stdout = rule.alerts
    assert (slack.name, stdout.name) == ("slack", "stdout")
    assert slack.options["slack_username_override"] == "entry-level"
    assert slack.options["slack_webhook_url"] == "https://hooks.slack.com/services/T1/B1/perentry"
    assert stdout.options["slack_username_override"] == "rule-level"


def test_debug_alias_and_unknown_notifier(tmp_path, config):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntype: any\nindex: x\nalert:\n  - debug\n  - slak\n")
    with pytest.raises(ConfigError) as info:
        load_rule(str(path), config)
    (problem,) = info.value.problems
    assert (problem.line, problem.option) == (6, "alert")
    assert problem.message.startswith("unknown notifier 'slak'; did you mean 'slack'?")


def test_duplicate_rule_names_keep_the_first(tmp_path, config):
    (tmp_path / "a.yaml").write_text("name: same\ntype: any\nindex: x\nalert: stdout\n")
    (tmp_path / "b.yaml").write_text("type: any\nname: same\nindex: y\nalert: stdout\n")
    result = load_folder([str(tmp_path)], config)
    assert [r.index for r in result.rules] == ["x"]
    (problem,) = result.errors
    assert str(problem) == f"{tmp_path / 'b.yaml'}:2: name: duplicate rule name, also used in {tmp_path / 'a.yaml'}"


def test_custom_timestamp_needs_a_format(tmp_path, config):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntype: any\nindex: x\nalert: stdout\ntimestamp_type: custom\n")
    with pytest.raises(ConfigError) as info:
        load_rule(str(path), config)
    (problem,) = info.value.problems
    assert (problem.line, problem.option) == (5, "timestamp_format")


def test_strftime_index_without_pattern_loads_with_a_warning(tmp_path, config):
    """ElastAlert2's own examples do this (index_* with use_strftime_index): it must load."""
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntype: any\nindex: logstash-*\nuse_strftime_index: true\nalert: stdout\n")
    rule, warnings = load_rule(str(path), config)
    assert rule.index == "logstash-*"
    (problem,) = warnings
    assert (problem.line, problem.option, problem.fatal) == (4, "index", False)


def test_query_string_without_query(tmp_path, config):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntype: any\nindex: x\nalert: stdout\nfilter:\n  - term: {a: 1}\n"
                    "  - query:\n      query_string: {default_field: message}\n")
    with pytest.raises(ConfigError) as info:
        load_rule(str(path), config)
    (problem,) = info.value.problems
    assert (problem.line, problem.option) == (7, "filter[1].query.query_string")
    assert problem.message == "needs a 'query' string"


def test_several_problems_in_one_file_are_all_reported_in_line_order(tmp_path, config):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntype: any\nindex: x\nrun_every: {minuts: 1}\nalert: slack\nes_port: 99999\n")
    with pytest.raises(ConfigError) as info:
        load_rule(str(path), config)
    assert [(p.line, p.option) for p in info.value.problems] == [
        (4, "run_every"), (5, "slack_webhook_url"), (6, "es_port")]


def test_rule_options_are_read_only(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: x\nalert: stdout\n")
    with pytest.raises(TypeError):
        rule.options["name"] = "other"  # type: ignore[index]


def test_type_errors_name_yaml_types_not_internal_classes(tmp_path, config):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntype: any\nindex: x\nalert: stdout\nowner: [a, b]\ndescription: {a: 1}\n")
    with pytest.raises(ConfigError) as info:
        load_rule(str(path), config)
    assert [p.message for p in info.value.problems] == [
        "must be of type string, got list ['a', 'b']", "must be of type string, got dict {'a': 1}"]
