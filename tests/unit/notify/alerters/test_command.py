"""``command``: how the command line, standard input and environment are built from the
alert, and the option checks. Running real programs is in tests/integration/notify/test_command.py."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from logalert.errors import ConfigError, DeliveryError
from logalert.model import Alert, Match
from logalert.notify.alerters import get
from logalert.notify.alerters.command import CommandAlerter, check

DOC = {"@timestamp": "2026-01-01T00:00:00Z", "host": {"name": "web-1"}, "user": "alice",
       "evil": "x'; touch /tmp/pwned; echo '", "tags": ["a", "b"], "gone": None}


def _command(make_rule, extra: str):
    rule = make_rule("name: r\ntype: any\nindex: x\nalert: [command]\n" + extra)
    alerter = get(rule.alerts[0].name)(rule, rule.alerts[0].options)
    assert isinstance(alerter, CommandAlerter)
    return rule, alerter


def _alert(rule, *docs):
    moment = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return Alert("alert-1", rule, tuple(Match(moment, d) for d in docs), "Disk full", "Body\ntext\n")


def test_list_form_fills_both_placeholder_styles_without_quoting(make_rule):
    rule, alerter = _command(make_rule, """\
command: ["/bin/send_alert", "--username", "%(user)s", "--host={match[host.name]}", "%(evil)s",
          "%(tags)s", "100%%", "+%Y", "[%(gone)s]"]
""")
    assert alerter.argv(_alert(rule, DOC, {"user": "bob"})) == [
        "/bin/send_alert", "--username", "alice", "--host=web-1", DOC["evil"], '["a", "b"]', "100%", "+%Y", "[]"]


def test_string_form_shell_quotes_every_filled_value(make_rule):
    rule, alerter = _command(make_rule, 'command: "notify --user %(user)s --msg %(evil)s --pct 5%%"\n')
    assert alerter.argv(_alert(rule, DOC)) == (
        "notify --user alice --msg 'x'\"'\"'; touch /tmp/pwned; echo '\"'\"'' --pct 5%")


@pytest.mark.parametrize("written", ["'%(evil)s'", '"%(evil)s"', "'pre %(evil)s post'", '"pre %(evil)s post"',
                                     "pre%(evil)spost"])
def test_string_form_keeps_a_quoted_placeholder_one_safe_word(make_rule, written):
    import shlex

    rule, alerter = _command(make_rule, f"command: {json.dumps('notify ' + written)}\n")
    words = shlex.split(alerter.argv(_alert(rule, DOC)))
    expected = written.strip("'\"").replace("%(evil)s", DOC["evil"])
    assert words == ["notify", expected]


@pytest.mark.parametrize("written", ["echo $(printf %(user)s)", "echo `%(user)s`", "echo ${X:-%(user)s}",
                                     "echo \\%(user)s", "echo $%(user)s", "echo $'%(user)s'",
                                     'echo "$(echo "%(user)s")"'])
def test_string_form_refuses_placeholders_it_cannot_quote_at_load(make_rule, written):
    assert check({"command": written})[0][0] == "command"
    with pytest.raises(ConfigError) as info:
        _command(make_rule, f"command: {json.dumps(written)}\n")
    assert "cannot be quoted safely" in str(info.value)
    assert check({"command": "echo $(date) '$%(user)s' %(user)s"}) == []


def test_a_missing_field_fails_without_retry_and_names_it(make_rule):
    rule, alerter = _command(make_rule, 'command: [notify, "%(host.ip)s"]\n')
    with pytest.raises(DeliveryError) as info:
        alerter.argv(_alert(rule, DOC))
    assert info.value.retryable is False
    assert str(info.value) == "command: field 'host.ip' named in the command is not in the match"


def test_an_alert_without_matches_cannot_fill_placeholders_but_runs_without_them(make_rule):
    rule, alerter = _command(make_rule, 'command: [notify, "%(user)s"]\n')
    with pytest.raises(DeliveryError, match="the alert carries no match") as info:
        alerter.argv(_alert(rule))
    assert info.value.retryable is False
    rule, alerter = _command(make_rule, "command: [notify, --all]\npipe_match_json: true\n")
    assert alerter.argv(_alert(rule)) == ["notify", "--all"]
    assert alerter.stdin(_alert(rule)) == b"[]\n"


def test_stdin_is_the_match_list_as_json_or_the_alert_text_or_nothing(make_rule):
    rule, alerter = _command(make_rule, "command: [cat]\npipe_match_json: true\n")
    data = alerter.stdin(_alert(rule, DOC, {"user": "bob"}))
    assert data.endswith(b"\n") and json.loads(data) == [DOC, {"user": "bob"}]
    rule, alerter = _command(make_rule, "command: [cat]\npipe_alert_text: true\n")
    assert alerter.stdin(_alert(rule, DOC)) == b"Body\ntext\n"
    rule, alerter = _command(make_rule, "command: [cat]\n")
    assert alerter.stdin(_alert(rule, DOC)) is None


def test_environment_is_minimal(make_rule, monkeypatch):
    monkeypatch.setenv("LOGALERT_ES_PASSWORD", "hunter2")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-secret")
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.setenv("LANG", "C.UTF-8")
    monkeypatch.delenv("TZ", raising=False)
    rule, alerter = _command(make_rule, "command: [env]\n")
    env = alerter.environment(_alert(rule, DOC))
    assert env == {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "LOGALERT_RULE": "r",
                   "LOGALERT_ALERT_ID": "alert-1", "LOGALERT_SUBJECT": "Disk full", "LOGALERT_STATUS": "firing",
                   **({"HOME": env["HOME"]} if "HOME" in env else {})}


def test_defaults_and_describe(make_rule):
    _, alerter = _command(make_rule, "command: [/usr/local/bin/page, --now]\n")
    o = alerter.options
    assert (o["pipe_match_json"], o["pipe_alert_text"], o["fail_on_non_zero_exit"], o["command_timeout"]) == (
        False, False, False, 60)
    assert alerter.describe() == "command /usr/local/bin/page"
    _, shell = _command(make_rule, "command: 'page --token abc'\n")
    assert shell.describe() == "command shell command"


def test_both_pipes_at_once_are_refused_at_load(make_rule):
    assert check({"pipe_match_json": True, "pipe_alert_text": True}) == [
        ("pipe_alert_text", "cannot be used together with pipe_match_json: the command has one standard input")]
    with pytest.raises(ConfigError) as info:
        _command(make_rule, "command: [cat]\npipe_match_json: true\npipe_alert_text: true\n")
    (problem,) = info.value.problems
    assert (problem.option, problem.line) == ("pipe_alert_text", 7)


@pytest.mark.parametrize("value", ["[]", "''", "{a: b}", "[1, 2]"])
def test_command_must_be_a_string_or_a_list_of_strings(make_rule, value):
    with pytest.raises(ConfigError, match="command"):
        _command(make_rule, f"command: {value}\n")


def test_command_is_required(make_rule):
    with pytest.raises(ConfigError, match="required by the 'command' notifier"):
        make_rule("name: r\ntype: any\nindex: x\nalert: [command]\n")


def test_a_resolution_tells_the_program_since_when_and_how_long_it_fired(make_rule):
    rule, alerter = _command(make_rule, "command: [env]\n")
    first = _alert(rule, DOC)
    since = first.matches[0].timestamp - dt.timedelta(minutes=10)
    resolved = Alert("r-1", rule, first.matches, "[RESOLVED] Disk full", "B", status="resolved", since=since,
                     until=first.matches[0].timestamp - dt.timedelta(minutes=2))
    env = alerter.environment(resolved)
    assert env["LOGALERT_STATUS"] == "resolved"
    assert env["LOGALERT_FIRING_SECONDS"] == "480"
    assert env["LOGALERT_FIRING_SINCE"].endswith("Z")
