"""Global config: defaults, config.yaml, LOGALERT_* overrides, secret files."""

from __future__ import annotations

import datetime as dt

import pytest

from logalert import options as registry
from logalert import secrets
from logalert.config.settings import DEFAULTS, load_config
from logalert.errors import ConfigError


def test_defaults_without_file_or_environment():
    config = load_config(None, environ={})
    assert dict(config.options) == DEFAULTS
    assert config.span("buffer_time") == dt.timedelta(minutes=15)
    assert config.rules_folder == "rules"
    assert config.warnings == ()


def test_file_values_override_defaults_and_rules_folder_is_relative_to_the_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("es_host: es.example.com\nrules_folder: my_rules\nrun_every: {seconds: 30}\n")
    config = load_config(str(path), environ={})
    assert config["es_host"] == "es.example.com"
    assert config["es_port"] == 9200
    assert config.span("run_every") == dt.timedelta(seconds=30)
    assert config.rules_folder == str(tmp_path / "my_rules")


def test_environment_overrides_file_and_parses_each_type(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("es_host: from-file\nes_port: 9200\n")
    config = load_config(str(path), environ={
        "LOGALERT_ES_HOST": "from-env",
        "LOGALERT_ES_PORT": "9243",
        "LOGALERT_USE_SSL": "true",
        "LOGALERT_BUFFER_TIME": "30m",
        "LOGALERT_RUN_EVERY": "{seconds: 20}",
        "LOGALERT_QUERY_DELAY": "90s",
        "LOGALERT_ES_USERNAME": "12345",  # a string option stays a string
        "PATH": "/usr/bin",
    })
    assert config["es_host"] == "from-env"
    assert config["es_port"] == 9243
    assert config["use_ssl"] is True
    assert config.span("buffer_time") == dt.timedelta(minutes=30)
    assert config.span("run_every") == dt.timedelta(seconds=20)
    assert config.span("query_delay") == dt.timedelta(seconds=90)
    assert config["es_username"] == "12345"


def test_unknown_environment_options_are_ignored():
    config = load_config(None, environ={"LOGALERT_NOT_AN_OPTION": "1"})
    assert "not_an_option" not in config.options
    assert config.warnings == ()


def test_bad_environment_value_names_the_variable():
    with pytest.raises(ConfigError) as info:
        load_config(None, environ={"LOGALERT_ES_PORT": "ninety-two"})
    assert str(info.value) == "$LOGALERT_ES_PORT: es_port: must be of type integer, got str 'ninety-two'"


def test_bad_file_value_names_file_line_and_option(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("es_host: x\nwriteback_index: Bad Index\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(path), environ={})
    (problem,) = info.value.problems
    assert (problem.file, problem.line, problem.option) == (str(path), 2, "writeback_index")


def test_config_must_be_a_mapping(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("- a\n- b\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(path), environ={})
    assert str(info.value) == f"{path}:1: the config file must be a mapping of options"


def test_empty_config_file_means_defaults(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("# nothing yet\n")
    assert load_config(str(path), environ={})["writeback_index"] == "logalert_status"


def test_unknown_config_option_is_a_warning_with_did_you_mean(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("es_host: x\nbufer_time: {minutes: 5}\n")
    config = load_config(str(path), environ={})
    (warning,) = config.warnings
    assert str(warning) == f"{path}:2: warning: bufer_time: unknown option, ignored; did you mean 'buffer_time'?"


def test_es_password_file_is_read_stripped_and_masked(tmp_path):
    secret_file = tmp_path / "password"
    secret_file.write_text("s3cret-from-file-7731\n")
    path = tmp_path / "config.yaml"
    path.write_text(f"es_username: elastic\nes_password_file: {secret_file}\n")
    config = load_config(str(path), environ={})
    assert config["es_password"] == "s3cret-from-file-7731"
    assert secrets.mask("auth failed for s3cret-from-file-7731") == "auth failed for <secret>"


def test_es_password_file_from_environment(tmp_path):
    secret_file = tmp_path / "pw"
    secret_file.write_text("env-file-secret-99")
    config = load_config(None, environ={"LOGALERT_ES_PASSWORD_FILE": str(secret_file)})
    assert config["es_password"] == "env-file-secret-99"


def test_missing_password_file_is_an_error_at_its_line(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(f"es_host: x\nes_password_file: {tmp_path / 'absent'}\n")
    with pytest.raises(ConfigError) as info:
        load_config(str(path), environ={})
    assert str(info.value) == f"{path}:2: es_password_file: cannot read secret file: No such file or directory"


def test_config_options_are_read_only():
    config = load_config(None, environ={})
    with pytest.raises(TypeError):
        config.options["es_host"] = "x"  # type: ignore[index]


@pytest.mark.parametrize("option", [o for o in registry.CONFIG_OPTIONS if o.is_span], ids=lambda o: o.name)
def test_every_span_option_takes_the_short_form_from_the_environment(option):
    config = load_config(None, environ={f"LOGALERT_{option.name.upper()}": "45s"})
    assert config.span(option.name) == dt.timedelta(seconds=45)


def test_es_conn_timeout_from_the_environment_is_a_number():
    assert load_config(None, environ={"LOGALERT_ES_CONN_TIMEOUT": "2.5"})["es_conn_timeout"] == 2.5


def test_defaults_are_copies_a_caller_cannot_corrupt():
    first = load_config(None, environ={})
    first.options["run_every"]["minutes"] = 99
    assert load_config(None, environ={})["run_every"] == {"minutes": 1}
