"""``logalert validate``: exit codes and one line per problem (logalert.cli.main)."""

from __future__ import annotations

import os
import shutil

import pytest

from logalert.cli import main
from logalert.ruletypes import RULE_TYPES

from ..conftest import FIXTURES

BROKEN = FIXTURES / "broken"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path, restore_root_logging):
    for key in list(os.environ):
        if key.startswith("LOGALERT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no ./config.yaml unless a test writes one


def test_valid_rule_exits_0(capsys):
    code = main(["validate", str(BROKEN / "valid.yaml")])
    out = capsys.readouterr()
    assert code == 0
    assert out.out == "1 rule(s) valid, 0 file(s) invalid, 0 warning(s)\n"
    assert out.err == ""


def test_seed_rule_exits_0(capsys):
    """The seed rule loads; its /ERROR/i is worth one warning (Lucene regexes have no flags)."""
    seed = FIXTURES / "seed_rule.yaml"
    assert main(["validate", str(seed)]) == 0
    warning, summary = capsys.readouterr().out.splitlines()
    assert warning.startswith(f"{seed}:10: warning: filter[0].query.query_string.query: col 16: 'i' after the regex")
    assert summary == "1 rule(s) valid, 0 file(s) invalid, 1 warning(s)"


def test_broken_folder_exits_1_with_one_line_per_problem(capsys):
    code = main(["validate", str(BROKEN)])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    assert lines[-1] == "1 rule(s) valid, 14 file(s) invalid, 0 warning(s)"
    problems = lines[:-1]
    assert len(problems) == 14
    assert f"{BROKEN / 'slack_no_url.yaml'}:6: slack_webhook_url: required by the 'slack' notifier but not set" in problems
    known = ", ".join(sorted(RULE_TYPES))
    assert (f"{BROKEN / 'unknown_type.yaml'}:3: type: unknown rule type 'frequenzy'; did you mean 'frequency'? "
            f"(known: {known})") in problems
    assert f"{BROKEN / 'missing_name.yaml'}:1: name: required option is missing" in problems
    assert all(line.startswith(str(BROKEN)) for line in problems)


def test_warning_only_exits_0_and_prints_the_warning(capsys):
    path = FIXTURES / "typo_option.yaml"
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:5: warning: alert_subjet: unknown option, ignored; did you mean 'alert_subject'?",
        "1 rule(s) valid, 0 file(s) invalid, 1 warning(s)",
    ]


def test_several_paths(capsys):
    code = main(["validate", str(FIXTURES / "seed_rule.yaml"), str(FIXTURES / "imports")])
    assert code == 0
    assert capsys.readouterr().out.endswith("\n3 rule(s) valid, 0 file(s) invalid, 1 warning(s)\n")


def test_missing_path_is_invalid(capsys, tmp_path):
    assert main(["validate", str(tmp_path / "nope.yaml")]) == 1
    out = capsys.readouterr().out
    assert out.startswith(f"{tmp_path / 'nope.yaml'}: cannot read file: No such file or directory\n")
    assert out.endswith("0 rule(s) valid, 1 file(s) invalid, 0 warning(s)\n")


def test_webhook_of_a_broken_rule_is_never_printed(capsys, tmp_path):
    rule = tmp_path / "r.yaml"
    rule.write_text("name: r\ntype: any\nindex: x\nalert: [slack]\n"
                    "slack_webhook_url: https://hooks.slack.com/services/T0CLI/B0CLI/cliSecret42\n"
                    "run_every: {minuts: 1}\n"
                    "es_password: [cli-password-4242]\n")
    assert main(["validate", str(rule)]) == 1
    out = capsys.readouterr()
    assert "cliSecret42" not in out.out + out.err
    assert "cli-password-4242" not in out.out + out.err
    assert f"{rule}:6: run_every:" in out.out
    (line,) = [x for x in out.out.splitlines() if x.startswith(f"{rule}:7: es_password: must be of type string, got ")]
    assert line.endswith("['<secret>']")


def test_config_from_current_directory_and_its_warnings(capsys, tmp_path):
    (tmp_path / "config.yaml").write_text("es_host: es.example\nrun_evry: {minutes: 1}\n")
    shutil.copy(BROKEN / "valid.yaml", tmp_path / "valid.yaml")
    assert main(["validate", "valid.yaml"]) == 0
    out = capsys.readouterr()
    assert out.err == "config.yaml:2: warning: run_evry: unknown option, ignored; did you mean 'run_every'?\n"
    assert out.out == "1 rule(s) valid, 0 file(s) invalid, 0 warning(s)\n"


def test_invalid_config_exits_1(capsys, tmp_path):
    config = tmp_path / "bad-config.yaml"
    config.write_text("es_port: not-a-port\n")
    assert main(["validate", "--config", str(config), str(BROKEN / "valid.yaml")]) == 1
    assert capsys.readouterr().err == f"{config}:1: es_port: must be of type integer, got str 'not-a-port'\n"


def test_environment_override_error_exits_1(capsys, monkeypatch):
    monkeypatch.setenv("LOGALERT_RUN_EVERY", "soon")
    assert main(["validate", str(BROKEN / "valid.yaml")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("$LOGALERT_RUN_EVERY: run_every: must be a time span")


def test_validate_needs_a_path(capsys):
    with pytest.raises(SystemExit) as info:
        main(["validate"])
    assert info.value.code == 2
    assert "the following arguments are required: paths" in capsys.readouterr().err
