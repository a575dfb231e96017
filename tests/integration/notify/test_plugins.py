"""Third-party notifiers by entry point: a real package (tests/support/notifier_plugin),
installed with pip into a temporary folder, used by name in ``alert:`` through the real
CLI in a child process; and ElastAlert2 notifier names that logalert does not build in
are refused with the migration line."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PLUGIN = ROOT / "tests" / "support" / "notifier_plugin"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    """The plugin installed as a user would (pip), into a folder only child processes see."""
    work = tmp_path_factory.mktemp("plugin")
    source = work / "src"
    shutil.copytree(PLUGIN, source)
    target = work / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "--target", str(target), str(source)], check=True, capture_output=True, timeout=300)
    assert any(p.name.startswith("logalert_file_notifier") and p.suffix == ".dist-info" for p in target.iterdir())
    return target


def _run(site: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(site), str(ROOT)]))
    return subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True, timeout=120)


def _rule(tmp_path: Path, name: str, extra: str) -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent("""\
        name: plugin rule
        type: any
        index: logs-*
        alert:
          - file
        """) + textwrap.dedent(extra))
    return path


def test_plugin_rule_validates_and_its_secret_is_masked(site, tmp_path):
    rule = _rule(tmp_path, "ok.yaml", f"file_path: {tmp_path / 'out.jsonl'}\nfile_api_token: tok-9f8e7d6c5b\n")
    done = _run(site, "-m", "logalert", "validate", "-v", str(rule))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "tok-9f8e7d6c5b" not in done.stdout + done.stderr


def test_plugin_schema_and_check_name_the_line(site, tmp_path):
    missing = _rule(tmp_path, "missing.yaml", "")
    relative = _rule(tmp_path, "relative.yaml", "file_path: out.jsonl\n")
    wrong_type = _rule(tmp_path, "wrong.yaml", "file_path: [a, b]\n")
    done = _run(site, "-m", "logalert", "validate", str(missing), str(relative), str(wrong_type))
    assert done.returncode == 1
    out = done.stdout + done.stderr
    assert f"{missing}:5: file_path: required by the 'file' notifier but not set" in out
    assert f"{relative}:6: file_path: must be an absolute path" in out
    assert f"{wrong_type}:6: file_path:" in out


def test_plugin_sends_through_the_registry(site, tmp_path):
    out = tmp_path / "out.jsonl"
    rule = _rule(tmp_path, "send.yaml", f"file_path: {out}\n")
    script = textwrap.dedent(f"""
        from logalert.config import load_config
        from logalert.model import Alert
        from logalert.notify.alerters import get, names
        from logalert.rules import load_rule
        assert "file" in names()
        rule, _ = load_rule({str(rule)!r}, load_config(None, environ={{}}))
        target = rule.alerts[0]
        get(target.name)(rule, target.options).send(Alert("a1", rule, (), "Disk full", "body"))
    """)
    done = _run(site, "-c", script)
    assert done.returncode == 0, done.stderr
    assert [json.loads(line) for line in out.read_text().splitlines()] == [{"rule": "plugin rule", "subject": "Disk full"}]


def test_without_the_package_the_name_is_unknown(tmp_path):
    rule = _rule(tmp_path, "ok.yaml", "file_path: /tmp/x\n")
    done = _run(Path(tmp_path), "-m", "logalert", "validate", str(rule))
    assert done.returncode == 1
    assert f"{rule}:5: alert: unknown notifier 'file'" in done.stdout + done.stderr


@pytest.mark.parametrize("name, advice", [
    ("dingtalk", "use 'apprise' with apprise_urls: ['dingtalk://…']"),
    ("victorops", "use 'apprise' with apprise_urls: ['splunk://…']"),
    ("hivealerter", "use 'post2' to TheHive's /api/alert endpoint"),
])
def test_elastalert2_notifiers_not_built_in_say_what_to_use(tmp_path, name, advice):
    rule = tmp_path / "ea2.yaml"
    rule.write_text(f"name: r\ntype: any\nindex: logs-*\nalert:\n  - {name}\n")
    done = _run(tmp_path, "-m", "logalert", "validate", str(rule))
    assert done.returncode == 1
    assert f"{rule}:5: alert: '{name}' is not built in; {advice} (see README › Alerters)" in done.stdout
