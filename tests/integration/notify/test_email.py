"""The email notifier against a real SMTP server on 127.0.0.1: recipients taken from the
match (email_from_field + email_add_domain) reach the envelope, and email_format html
arrives as text/html; a server's 4xx answers are retried and its 5xx answers are final;
a refused login never prints the password."""

from __future__ import annotations

import pytest

from logalert.errors import DeliveryError
from tests.support.receivers import SmtpServer

from .conftest import alert_for, notifier


def test_recipient_from_the_match_and_html_body_over_smtp(make_rule):
    with SmtpServer() as smtp:
        rule = make_rule(f"""\
name: Checkout errors
type: any
index: logs-*
alert: [email]
email: fallback@example.org
email_from_field: owner.user
email_add_domain: "@example.org"
cc: lead@example.org
email_format: html
smtp_host: 127.0.0.1
smtp_port: {smtp.port}
""")
        doc = {"@timestamp": "2026-01-01T10:00:00Z", "owner": {"user": "qlo"}}
        notifier(rule).send(alert_for(rule, doc, subject="ERROR in checkout", body="<b>payment timeout</b>\n"))
        notifier(rule).send(alert_for(rule, {"@timestamp": "2026-01-01T10:01:00Z"}, body="<i>no owner</i>\n"))
        first, second = smtp.wait_for(2)
    assert sorted(first["to"]) == ["lead@example.org", "qlo@example.org"]
    assert first["headers"]["To"] == "qlo@example.org"
    assert first["headers"]["Content-Type"].startswith("text/html")
    assert first["body"].rstrip("\r\n") == "<b>payment timeout</b>"  # SMTP ends lines with CRLF
    assert sorted(second["to"]) == ["fallback@example.org", "lead@example.org"]


def _rule(make_rule, port: int, extra: str = ""):
    return make_rule(f"""\
name: Checkout errors
type: any
index: logs-*
alert: [email]
email: oncall@example.org
smtp_host: 127.0.0.1
smtp_port: {port}
smtp_timeout: 5
""" + extra)


def _send(rule):
    notifier(rule).send(alert_for(rule, {"@timestamp": "2026-01-01T10:00:00Z"}, subject="ERROR", body="x\n"))


@pytest.mark.parametrize("stage, reply, retryable", [
    ("data_reply", "451 4.3.0 Mail server temporarily rejected message", True),
    ("data_reply", "452 4.3.1 Insufficient system storage", True),
    ("data_reply", "554 5.7.1 Message rejected as spam", False),
    ("rcpt_reply", "450 4.2.0 Greylisted, come back later", True),
    ("rcpt_reply", "550 5.1.1 No such user", False),
])
def test_a_refusal_is_retried_only_when_the_server_says_try_later(make_rule, stage, reply, retryable):
    with SmtpServer(**{stage: reply}) as smtp:
        with pytest.raises(DeliveryError) as info:
            _send(_rule(make_rule, smtp.port))
    assert info.value.retryable is retryable
    assert reply.split()[0] in str(info.value)
    if stage == "rcpt_reply":  # a refused recipient is named
        assert "oncall@example.org" in str(info.value)


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_wrong_password_is_final_and_never_printed(make_rule, tmp_path, caplog):
    auth = tmp_path / "smtp_auth.yaml"
    auth.write_text("user: alerts\npassword: Wr0ng-Passw0rd-77\n")
    with SmtpServer(login=("alerts", "right-password")) as smtp:
        rule = _rule(make_rule, smtp.port, f"smtp_auth_file: {auth}\n")
        with pytest.raises(DeliveryError) as info:
            _send(rule)
        assert info.value.retryable is False and "535" in str(info.value)
        auth.write_text("user: alerts\npassword: right-password\n")  # fixed without a restart
        _send(rule)
        (message,) = smtp.wait_for(1)
    assert message["to"] == ["oncall@example.org"]
    for text in (str(info.value), caplog.text):
        assert "Wr0ng-Passw0rd-77" not in text and "right-password" not in text


def test_an_unreachable_server_is_retryable(make_rule):
    from tests.support.receivers import free_port

    with pytest.raises(DeliveryError) as info:
        _send(_rule(make_rule, free_port()))
    assert info.value.retryable is True and "127.0.0.1" in str(info.value)
