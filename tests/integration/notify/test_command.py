"""``command`` running real programs: a small Python script records its argv, standard
input and environment to a file. Proves the argument list reaches the program unchanged,
the shell form quotes log data, the daemon's credentials stay out of the child's
environment, and failures, timeouts and missing programs are reported as they should be."""

from __future__ import annotations

import json
import sys
import textwrap
import time
from pathlib import Path

import pytest

from logalert.errors import DeliveryError

from .conftest import alert_for, notifier

RECORDER = """\
import json, os, sys
data = sys.stdin.read()
with open(sys.argv[1], "w") as out:
    json.dump({"argv": sys.argv[2:], "stdin": data, "env": dict(os.environ)}, out)
"""
DOC = {"@timestamp": "2026-03-01T10:00:00Z", "host": {"name": "web-1"}, "user": "alice",
       "message": "it's \"quoted\"; echo $HOME `id` \\"}


@pytest.fixture
def script(tmp_path) -> Path:
    path = tmp_path / "record.py"
    path.write_text(RECORDER)
    return path


def _rule(make_rule, extra: str):
    return make_rule(textwrap.dedent("""\
        name: disk full
        type: any
        index: logs-*
        alert: command
        """) + textwrap.dedent(extra))


def _recorded(path: Path) -> dict:
    return json.loads(path.read_text())


def test_list_form_passes_fields_as_arguments_and_the_matches_on_stdin(make_rule, script, tmp_path, monkeypatch):
    monkeypatch.setenv("LOGALERT_ES_PASSWORD", "es-pass-31337")
    monkeypatch.setenv("LOGALERT_SLACK_WEBHOOK_URL", "https://hooks.slack.com/services/T/B/Z")
    out = tmp_path / "out.json"
    rule = _rule(make_rule, f"""\
        command: ["{sys.executable}", "{script}", "{out}", "--username", "%(user)s", "--host={{match[host.name]}}",
                  "%(message)s"]
        pipe_match_json: true
        """)
    notifier(rule).send(alert_for(rule, DOC, {"user": "bob"}, subject="Disk full on web-1"))
    got = _recorded(out)
    assert got["argv"] == ["--username", "alice", "--host=web-1", DOC["message"]]
    assert json.loads(got["stdin"]) == [DOC, {"user": "bob"}]
    env = got["env"]
    assert "es-pass-31337" not in json.dumps(env) and "hooks.slack.com" not in json.dumps(env)
    assert set(env) - {"LC_CTYPE"} <= {"PATH", "HOME", "LANG", "TZ", "LOGALERT_RULE", "LOGALERT_ALERT_ID",
                                       "LOGALERT_SUBJECT", "LOGALERT_STATUS"}  # LC_CTYPE: set by CPython itself at start-up
    assert (env["LOGALERT_RULE"], env["LOGALERT_ALERT_ID"], env["LOGALERT_SUBJECT"]) == (
        "disk full", "alert-1", "Disk full on web-1")


def test_shell_form_quotes_log_data_so_it_cannot_run(make_rule, script, tmp_path):
    out, pwned = tmp_path / "out.json", tmp_path / "pwned"
    attack = f"x'\"; touch {pwned}; echo \"'`touch {pwned}`$(touch {pwned}) \\"
    rule = _rule(make_rule, f"""\
        command: "{sys.executable} {script} {out} %(message)s '%(message)s' \\"pre %(message)s\\" 100%% | cat"
        pipe_alert_text: true
        """)
    notifier(rule).send(alert_for(rule, dict(DOC, message=attack), body="Disk full\non web-1\n"))
    got = _recorded(out)
    assert got["argv"] == [attack, attack, f"pre {attack}", "100%"]
    assert got["stdin"] == "Disk full\non web-1\n"
    assert not pwned.exists()


def test_a_missing_field_runs_nothing(make_rule, script, tmp_path):
    out = tmp_path / "out.json"
    rule = _rule(make_rule, f'command: ["{sys.executable}", "{script}", "{out}", "%(no.such)s"]\n')
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is False
    assert "'no.such'" in str(info.value)
    assert not out.exists()


def test_non_zero_exit_fails_only_when_asked_and_quotes_the_output_tail_masked(make_rule, tmp_path):
    failing = tmp_path / "fail.py"
    failing.write_text(textwrap.dedent("""\
        import sys
        print("progress " * 200)
        print("posting to https://hooks.slack.com/services/T0/B0/cmd-secret-xyz", file=sys.stderr)
        print("quota exceeded", file=sys.stderr)
        sys.exit(3)
        """))
    secret = "slack_webhook_url: https://hooks.slack.com/services/T0/B0/cmd-secret-xyz\n"
    rule = _rule(make_rule, f'command: ["{sys.executable}", "{failing}"]\nfail_on_non_zero_exit: true\n' + secret)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is True
    assert str(info.value) == f"command {sys.executable} exited with status 3: posting to <secret> quota exceeded"
    lenient = _rule(make_rule, f'command: ["{sys.executable}", "{failing}"]\n')
    notifier(lenient).send(alert_for(lenient, DOC))  # ElastAlert2's default: logged, not failed


def _dead(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return True
    return state in ("Z", "X")


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads process states from /proc")
def test_a_command_over_its_timeout_is_killed_with_its_children(make_rule, tmp_path):
    pids = tmp_path / "pids"
    hang = tmp_path / "hang.py"
    hang.write_text(textwrap.dedent(f"""\
        import os, subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
        with open({str(pids)!r}, "w") as f:
            f.write(f"{{os.getpid()}} {{child.pid}}")
        print("started, now waiting", flush=True)
        time.sleep(600)
        """))
    rule = _rule(make_rule, f'command: ["{sys.executable}", "{hang}"]\ncommand_timeout: 4\n')
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is True
    assert str(info.value) == (f"command {sys.executable} did not finish within 4 s and was killed "
                               "(delivery unknown): started, now waiting")
    parent, child = map(int, pids.read_text().split())
    assert _dead(parent)
    deadline = time.monotonic() + 30  # the orphaned grandchild is reaped by init, not by us
    while not _dead(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _dead(child)


def test_a_missing_program_is_not_retryable(make_rule, tmp_path):
    rule = _rule(make_rule, f'command: ["{tmp_path}/no-such-program", "x"]\n')
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is False
    assert str(info.value) == f"command {tmp_path}/no-such-program cannot be run: No such file or directory"


def test_the_child_reads_no_stdin_unless_piped(make_rule, script, tmp_path):
    out = tmp_path / "out.json"
    rule = _rule(make_rule, f'command: ["{sys.executable}", "{script}", "{out}"]\n')
    notifier(rule).send(alert_for(rule, DOC))
    assert _recorded(out)["stdin"] == ""
