"""alert: stdout (alias debug) prints one masked block per alert."""

from __future__ import annotations

from logalert.model import Alert
from logalert.notify.alerters import canonical, get
from logalert.notify.alerters.stdout import StdoutAlerter


def test_prints_one_block(make_rule, capsys):
    rule = make_rule("name: Disk alert\ntype: any\nindex: x\nalert: debug\n")
    target = rule.alerts[0]
    assert (target.name, canonical("debug")) == ("stdout", "stdout")
    alerter = get("debug")(rule, target.options)
    assert isinstance(alerter, StdoutAlerter)
    alerter.send(Alert("abc123", rule, (), "Disk full", "line 1\nline 2\n\n"))
    assert capsys.readouterr().out == "=== ALERT [Disk alert] Disk full\nline 1\nline 2\n=== END ALERT abc123\n"


def test_secrets_in_the_body_are_masked(make_rule, capsys):
    rule = make_rule("""\
        name: r
        type: any
        index: x
        alert: [stdout]
        es_password: stdout-pw-31337
    """)
    StdoutAlerter(rule, rule.alerts[0].options).send(Alert("i", rule, (), "s", "password is stdout-pw-31337"))
    out = capsys.readouterr().out
    assert "password is <secret>" in out
    assert "stdout-pw-31337" not in out
