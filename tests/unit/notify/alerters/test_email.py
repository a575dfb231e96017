"""Email message building (sending is covered by the SMTP integration tests)."""

from __future__ import annotations

import pytest

from logalert.errors import DeliveryError
from logalert.model import Alert
from logalert.notify.alerters.email import EmailAlerter


def _email(make_rule, extra):
    rule = make_rule("name: r\ntype: any\nindex: x\nalert: [email]\n" + extra)
    target = rule.alerts[0]
    assert target.name == "email"
    return rule, EmailAlerter(rule, target.options)


def test_message_headers_and_body(make_rule):
    rule, alerter = _email(make_rule, """\
email: [ops@example.com, dba@example.com]
cc: lead@example.com
bcc: [audit@example.com]
from_addr: logalert@example.com
email_reply_to: noreply@example.com
""")
    msg = alerter.message(Alert("id-42", rule, (), "Disk full on web-1", "Pod web-1\nis down\n"))
    assert msg["Subject"] == "Disk full on web-1"
    assert msg["From"] == "logalert@example.com"
    assert msg["To"] == "ops@example.com, dba@example.com"
    assert msg["Cc"] == "lead@example.com"
    assert msg["Bcc"] is None  # never shown to the other recipients
    assert msg["Reply-To"] == "noreply@example.com"
    assert msg["X-Logalert-Alert-Id"] == "id-42"
    assert msg["Message-ID"].startswith("<") and "id-42" in msg["Message-ID"] and msg["Message-ID"].endswith("@logalert>")
    assert msg["Date"]
    assert msg.get_content_type() == "text/plain"
    assert msg.get_content() == "Pod web-1\nis down\n"


def test_single_recipient_and_defaults(make_rule):
    rule, alerter = _email(make_rule, "email: ops@example.com\n")
    msg = alerter.message(Alert("i", rule, (), "s", "b"))
    assert msg["To"] == "ops@example.com"
    assert msg["From"] == "logalert@localhost"
    assert msg["Cc"] is None and msg["Reply-To"] is None
    assert alerter.describe() == "email to ops@example.com via localhost"


def test_email_add_domain_completes_bare_names(make_rule):
    rule, alerter = _email(make_rule, "email: [ops, dba@other.org]\nemail_add_domain: '@example.com'\n")
    assert alerter.message(Alert("i", rule, (), "s", "b"))["To"] == "ops@example.com, dba@other.org"


def test_non_ascii_subject_and_body(make_rule):
    rule, alerter = _email(make_rule, "email: ops@example.com\n")
    msg = alerter.message(Alert("i", rule, (), "Fehler: Datenträger voll", "Größe: 100 %\n"))
    assert str(msg["Subject"]) == "Fehler: Datenträger voll"
    assert msg.get_content() == "Größe: 100 %\n"


def test_bad_smtp_auth_file_is_not_retryable(make_rule, tmp_path):
    auth = tmp_path / "auth.yaml"
    auth.write_text("user: only-user\n")
    rule, alerter = _email(make_rule, f"email: ops@example.com\nsmtp_auth_file: {auth}\n")
    with pytest.raises(DeliveryError) as info:
        alerter._credentials()
    assert info.value.retryable is False
    assert str(info.value) == f"smtp_auth_file {auth} must hold 'user' and 'password'"


def test_smtp_auth_file_password_becomes_a_secret(make_rule, tmp_path):
    from logalert.secrets import mask

    auth = tmp_path / "auth.yaml"
    auth.write_text("user: mailer\npassword: smtp-pw-77123\n")
    rule, alerter = _email(make_rule, f"email: ops@example.com\nsmtp_auth_file: {auth}\n")
    assert alerter._credentials() == ("mailer", "smtp-pw-77123")
    assert mask("login smtp-pw-77123") == "login <secret>"
