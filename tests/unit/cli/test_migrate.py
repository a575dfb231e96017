"""``logalert migrate``: an ElastAlert2 config.yaml and its rules folder, reported per rule
(loads as is, behaves differently, refused) with suggested changes; secrets never printed.
The fixture folder (tests/unit/fixtures/ea2_setup) mimics what ElastAlert2 users have:
supported rules, rules with options logalert does not act on, a typo, and notifiers
logalert does not build in."""

from __future__ import annotations

import json
import os
import shutil

import pytest

from logalert.cli import main

from ..conftest import FIXTURES

SETUP = FIXTURES / "ea2_setup"
SECRETS = ("Zq8-not-a-real-password", "dt-9f8e7d6c5b4a3f2e1d0c", "s3cretHookPath42", "vo-key-1234567890abcdef")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path, restore_root_logging):
    for key in list(os.environ):
        if key.startswith("LOGALERT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


def _json(capsys, *argv: str) -> tuple[int, dict]:
    code = main(["migrate", *argv, "--format", "json"])
    return code, json.loads(capsys.readouterr().out)


def test_each_rule_gets_its_verdict_and_a_refusal_exits_1(capsys):
    code, report = _json(capsys, str(SETUP))
    assert code == 1
    verdicts = {os.path.relpath(r["file"], SETUP / "rules"): r["status"] for r in report["rules"]}
    assert verdicts == {
        "errors_frequency.yaml": "loads as is",
        "slow_requests.yaml": "loads as is",
        "nightly_digest.yaml": "behaves differently",
        "leftover_sns.yaml": "behaves differently",
        "deploy_dingtalk.yaml": "refused",
        "teams/pager_victorops.yaml": "refused",  # sub-folders count, as scan_subdirectories says
    }
    assert report["summary"] == {"loads as is": 2, "behaves differently": 2, "refused": 2}
    assert report["rules_folder"] == str(SETUP / "rules")


def test_the_config_options_are_reported_with_their_lines(capsys):
    _, report = _json(capsys, str(SETUP / "config.yaml"))
    config = report["config"]
    assert config["status"] == "behaves differently"
    assert {(p["option"], p["line"]) for p in config["problems"]} == {("max_scrolling_count", 14),
                                                                       ("es_send_get_body_as", 15)}
    assert all("not implemented" in p["message"] and not p["fatal"] for p in config["problems"])


def test_a_warned_rule_names_option_and_line_and_suggests_the_rename(capsys):
    _, report = _json(capsys, str(SETUP))
    (digest,) = [r for r in report["rules"] if r["file"].endswith("nightly_digest.yaml")]
    assert [(p["option"], p["line"]) for p in digest["problems"]] == [
        ("summary_table_type", 10), ("run_enhancements_first", 11), ("realret", 12)]
    assert digest["changes"] == [f"rename realret to realert ({digest['file']}:12)"]
    (sns,) = [r for r in report["rules"] if r["file"].endswith("leftover_sns.yaml")]
    assert "'sns' notifier" in sns["problems"][0]["message"] and "sns://" in sns["problems"][0]["message"]


def test_a_foreign_notifier_is_refused_with_its_replacement(capsys):
    _, report = _json(capsys, str(SETUP))
    (dingtalk,) = [r for r in report["rules"] if r["file"].endswith("deploy_dingtalk.yaml")]
    (refusal,) = dingtalk["problems"]
    assert (refusal["option"], refusal["line"], refusal["fatal"]) == ("alert", 8, True)
    assert dingtalk["changes"] == ["alert: [dingtalk] -> alert: [apprise] with apprise_urls: ['dingtalk://…']; "
                                   "drop dingtalk_access_token, dingtalk_msgtype (their values go into the new "
                                   "notifier's settings)"]


def test_the_text_report_groups_rules_and_masks_secrets(capsys):
    code = main(["migrate", str(SETUP)])
    text = capsys.readouterr().out
    assert code == 1
    assert text.index("loads as is (2):") < text.index("behaves differently (2):") < text.index("refused (2):")
    assert f"{SETUP / 'rules' / 'deploy_dingtalk.yaml'}:8: alert: 'dingtalk' is not built in" in text
    assert "suggested: alert: [victorops] -> alert: [apprise] with apprise_urls: ['splunk://…']" in text
    assert text.rstrip().endswith("6 rule(s): 2 load as is, 2 behave differently, 2 refused")
    for secret in SECRETS:
        assert secret not in text


def test_json_masks_secrets_too(capsys):
    main(["migrate", str(SETUP), "--format", "json"])
    text = capsys.readouterr().out
    assert all(secret not in text for secret in SECRETS)


def test_everything_loading_exits_0_and_a_folder_without_config_is_the_rules_folder(tmp_path, capsys):
    rules = tmp_path / "rules"
    rules.mkdir()
    shutil.copy(SETUP / "rules" / "errors_frequency.yaml", rules)
    code, report = _json(capsys, str(rules))
    assert code == 0
    assert report["config"] is None
    assert [r["status"] for r in report["rules"]] == ["loads as is"]


def test_a_rules_folder_list_of_one_is_followed_several_are_refused(tmp_path, capsys):
    (tmp_path / "rules").mkdir()
    shutil.copy(SETUP / "rules" / "errors_frequency.yaml", tmp_path / "rules")
    (tmp_path / "config.yaml").write_text("rules_folder:\n  - rules\n")
    code, report = _json(capsys, str(tmp_path))
    assert (code, report["config"]["status"], len(report["rules"])) == (0, "loads as is", 1)
    (tmp_path / "config.yaml").write_text("rules_folder: [rules, more_rules]\n")
    code = main(["migrate", str(tmp_path)])
    text = capsys.readouterr().out
    assert code == 1
    assert f"{tmp_path / 'config.yaml'}:1: rules_folder: logalert reads one rules folder" in text


def test_a_path_that_does_not_exist_is_one_line_and_exit_1(tmp_path, capsys):
    assert main(["migrate", str(tmp_path / "nowhere")]) == 1
    assert capsys.readouterr().err.strip() == (f"migrate: {tmp_path / 'nowhere'}: no such file or folder "
                                               "(give an ElastAlert2 config.yaml or its folder)")
