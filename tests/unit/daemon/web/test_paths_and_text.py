"""Rule paths never leave rules_folder; rule text keeps its secrets and its bytes."""

from __future__ import annotations

import errno
import os

import pytest
import yaml

from logalert import secrets
from logalert.daemon.web import ruletext
from logalert.daemon.web.paths import BadPath, RulesFolder

URL = "https://hooks.slack.com/services/T1/B1/UNITSECRETUNITSECRET"


@pytest.fixture
def folder(tmp_path):
    (tmp_path / "rules" / "team").mkdir(parents=True)
    (tmp_path / "rules" / "a.yaml").write_text("name: a\n")
    return RulesFolder(str(tmp_path / "rules"))


@pytest.mark.parametrize("rel", ["a.yaml", "team/b.yml", "_base.yaml", "new rule.yaml", "x+y.yaml"])
def test_paths_inside_the_folder_resolve(folder, rel):
    path = folder.resolve(rel)
    assert path.rel == rel and path.real.startswith(folder.real + os.sep)


@pytest.mark.parametrize("rel", ["../a.yaml", "team/../../a.yaml", "/etc/a.yaml", "a.txt", "a", "", ".hidden.yaml",
                                 "..data/a.yaml", "team//a.yaml", "./a.yaml", "%2e%2e/a.yaml", "a\\b.yaml",
                                 "a\x00.yaml", "team/"])
def test_escapes_and_non_rule_names_are_refused(folder, rel):
    with pytest.raises(BadPath):
        folder.resolve(rel)


def test_symlinks_out_of_the_folder_are_refused_and_inside_it_allowed(folder, tmp_path):
    (tmp_path / "outside.yaml").write_text("x: 1\n")
    os.symlink(tmp_path / "outside.yaml", os.path.join(folder.folder, "out.yaml"))
    os.symlink(tmp_path, os.path.join(folder.folder, "up"))
    os.symlink("a.yaml", os.path.join(folder.folder, "alias.yaml"))
    with pytest.raises(BadPath, match="outside"):
        folder.resolve("out.yaml")
    with pytest.raises(BadPath, match="outside"):
        folder.resolve("up/outside.yaml")
    assert folder.resolve("alias.yaml").real == os.path.join(folder.real, "a.yaml")


def test_a_configmap_folder_is_read_only(folder):
    assert folder.read_only() is None
    os.symlink("..2024", os.path.join(folder.folder, "..data"))
    assert "ConfigMap" in folder.read_only()
    assert RulesFolder("/nonexistent/rules").read_only().endswith("does not exist")


# --- secrets -------------------------------------------------------------------------------
TEXT = f"""# a rule
name: x
slack_webhook_url: "{URL}"  # the ops channel
alert:
- slack:
    slack_webhook_url:
      - https://hooks.slack.com/services/T2/B2/SECONDSECRETSECOND
      - https://hooks.slack.com/services/T3/B3/THIRDSECRETTHIRD
- post2:
    http_post2_headers: {{Authorization: "Bearer HEADERSECRET"}}
es_password:
smtp_host: mail
"""


def test_mask_hides_every_secret_value_and_nothing_else():
    masked = ruletext.mask(TEXT)
    for secret in ("UNITSECRET", "SECONDSECRET", "THIRDSECRET", "HEADERSECRET"):
        assert secret not in masked
    assert 'slack_webhook_url: <secret>  # the ops channel' in masked
    assert "    slack_webhook_url:\n      <secret>\n" in masked
    assert "http_post2_headers: <secret>" in masked
    assert "es_password:\n" in masked and "smtp_host: mail" in masked  # empty values stay empty
    assert yaml.safe_load(masked)["name"] == "x"


def test_restore_gives_back_the_stored_text_byte_for_byte():
    restored, findings = ruletext.restore(ruletext.mask(TEXT), TEXT)
    assert findings == [] and restored == TEXT
    edited = ruletext.mask(TEXT).replace("name: x", "name: y")
    assert ruletext.restore(edited, TEXT)[0] == TEXT.replace("name: x", "name: y")


def test_a_moved_placeholder_gets_the_value_in_flow_form():
    masked = ruletext.mask(TEXT).replace("    slack_webhook_url:\n      <secret>\n", "    slack_webhook_url: <secret>\n")
    restored, findings = ruletext.restore(masked, TEXT)
    assert findings == []
    loaded = yaml.safe_load(restored)
    assert loaded["alert"][0]["slack"]["slack_webhook_url"][1].endswith("THIRDSECRETTHIRD")
    assert loaded["slack_webhook_url"] == URL


def test_a_placeholder_without_a_stored_value_is_a_finding_at_its_line():
    text = "name: x\ntelegram_bot_token: <secret>\n"
    restored, findings = ruletext.restore(text, "name: x\n")
    assert [(f.line, f.option) for f in findings] == [(2, "telegram_bot_token")]
    assert ruletext.restore(text, None)[1][0].line == 2


def test_broken_yaml_is_still_masked_line_by_line():
    broken = f"name: [x\nslack_webhook_url: {URL}\n"
    assert "UNITSECRET" not in ruletext.mask(broken)


def test_set_enabled_changes_one_value_or_appends_it():
    assert ruletext.set_enabled("name: x\nis_enabled: true  # on\ntype: any\n", False) == \
        "name: x\nis_enabled: false  # on\ntype: any\n"
    assert ruletext.set_enabled("name: x\ntype: any", False) == "name: x\ntype: any\nis_enabled: false\n"
    with pytest.raises(ValueError):
        ruletext.set_enabled("- a\n- b\n", True)


def test_write_atomic_keeps_the_mode_and_leaves_no_temporary_file(folder):
    target = os.path.join(folder.real, "a.yaml")
    os.chmod(target, 0o640)
    ruletext.write_atomic(target, "name: b\n", folder.real)
    assert open(target).read() == "name: b\n" and os.stat(target).st_mode & 0o777 == 0o640
    ruletext.write_atomic(os.path.join(folder.real, "new", "c.yaml"), "name: c\n", folder.real)
    assert sorted(os.listdir(folder.real)) == ["a.yaml", "new", "team"]


def test_isolated_secrets_are_masked_in_their_thread_only():
    with secrets.isolated() as found:
        secrets.register("half-typed-sec")
        assert "half-typed-sec" in found
        assert secrets.mask("x half-typed-sec") == "x <secret>"
    assert secrets.mask("x half-typed-sec") == "x half-typed-sec"


@pytest.mark.parametrize("code, reason", [(errno.EROFS, "is on a read-only file system"),
                                          (errno.EACCES, "is not writable by this process (Permission denied)")])
def test_a_folder_the_os_will_not_let_us_write_is_read_only_with_why(folder, monkeypatch, code, reason):
    import tempfile

    def refuse(*args, **kwargs):
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    assert folder.read_only() == f"rules_folder {folder.folder} {reason}"
