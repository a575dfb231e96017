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


def _with_match(rule, doc, body="Body\n"):
    import datetime as dt

    from logalert.model import Match

    return Alert("id-1", rule, (Match(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), doc),), "Subj", body)


def test_email_from_field_takes_recipients_from_the_match_with_the_added_domain(make_rule):
    rule, alerter = _email(make_rule, "email: fallback@example.com\nemail_from_field: data.user\n"
                                      "email_add_domain: '@example.com'\n")
    assert alerter.message(_with_match(rule, {"data": {"user": "qlo"}}))["To"] == "qlo@example.com"
    assert alerter.recipients(_with_match(rule, {"data": {"user": ["a", "b@other.org"]}})) == \
        ["a@example.com", "b@other.org"]
    assert alerter.recipients(_with_match(rule, {"data": {}})) == ["fallback@example.com"]
    assert alerter.recipients(Alert("x", rule, (), "s", "b")) == ["fallback@example.com"]


def test_email_format_html_sends_the_body_as_html(make_rule):
    rule, alerter = _email(make_rule, "email: a@example.com\nemail_format: html\n")
    msg = alerter.message(_with_match(rule, {}, body="<b>disk full</b>\n"))
    assert msg.get_content_type() == "text/html"
    assert msg.get_content() == "<b>disk full</b>\n"


def test_inline_images_from_assets_dir_under_their_content_id(make_rule, tmp_path):
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
    (tmp_path / "logo.png").write_bytes(png)
    rule, alerter = _email(make_rule, f"email: a@example.com\nemail_format: html\nassets_dir: {tmp_path}\n"
                                      "email_image_keys: [img1]\nemail_image_values: [logo.png]\n")
    msg = alerter.message(_with_match(rule, {}, body='<img src="cid:img1">\n'))
    assert msg.get_content_type() == "multipart/related"
    html, image = msg.iter_parts()
    assert html.get_content_type() == "text/html" and 'cid:img1' in html.get_content()
    assert (image.get_content_type(), image["Content-ID"], image.get_content()) == ("image/png", "<img1>", png)


def test_a_missing_image_fails_without_retry(make_rule, tmp_path):
    rule, alerter = _email(make_rule, f"email: a@example.com\nemail_format: html\nassets_dir: {tmp_path}\n"
                                      "email_image_keys: [img1]\nemail_image_values: [nope.png]\n")
    with pytest.raises(DeliveryError, match="email_image_values: cannot read") as failure:
        alerter.message(_with_match(rule, {}))
    assert failure.value.retryable is False


def test_image_keys_and_values_must_pair_up(make_rule):
    from logalert.errors import ConfigError

    with pytest.raises(ConfigError, match="email_image_values"):
        _email(make_rule, "email: a@example.com\nemail_image_keys: [a, b]\nemail_image_values: [a.png]\n")


def test_smtp_auth_file_relative_to_the_rule_file(make_rule, tmp_path, monkeypatch):
    (tmp_path / "smtp.yaml").write_text("user: bot\npassword: s3cr3t-pass\n")
    monkeypatch.chdir("/")
    rule, alerter = _email(make_rule, "email: a@example.com\nsmtp_auth_file: smtp.yaml\n")
    assert alerter._credentials() == ("bot", "s3cr3t-pass")


def test_email_options_of_elastalert2_load_without_warnings(tmp_path, config):
    from logalert.rules import load_rule

    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntype: any\nindex: x\nalert: [email]\nemail: a@example.com\nemail_format: html\n"
                    "email_from_field: user\nemail_add_domain: '@example.com'\nassets_dir: /tmp\n"
                    "email_image_keys: [k]\nemail_image_values: [v.png]\nsmtp_ssl: true\n"
                    "smtp_cert_file: /c.pem\nsmtp_key_file: /k.pem\ncc: b@example.com\nbcc: c@example.com\n"
                    "email_reply_to: d@example.com\nfrom_addr: e@example.com\nsmtp_auth_file: /a.yaml\n")
    _rule, warnings = load_rule(str(path), config)
    assert warnings == []


def test_email_from_field_without_a_domain_to_add_falls_back_to_email(make_rule):
    """ElastAlert2 uses a bare name only when email_add_domain can complete it."""
    rule, alerter = _email(make_rule, "email: fallback@example.com\nemail_from_field: user\n")
    assert alerter.recipients(_with_match(rule, {"user": "qlo"})) == ["fallback@example.com"]
    assert alerter.recipients(_with_match(rule, {"user": "qlo@example.org"})) == ["qlo@example.org"]


@pytest.mark.parametrize("value", [
    "victim@example.com, attacker@evil.test",
    "victim@example.com\r\nBcc: attacker@evil.test",
    "Victim <attacker@evil.test>",
    "victim@example.com;attacker@evil.test",
])
def test_a_document_field_cannot_add_recipients_or_headers(make_rule, value):
    rule, alerter = _email(make_rule, "email: fallback@example.com\nemail_from_field: user\n")
    alert = _with_match(rule, {"user": value})
    assert alerter.recipients(alert) == ["fallback@example.com"]
    msg = alerter.message(alert)
    assert msg["To"] == "fallback@example.com" and msg["Bcc"] is None
    assert alerter.recipients(_with_match(rule, {"user": ["ok@example.com", value]})) == ["ok@example.com"]


def test_a_subject_with_line_breaks_from_a_document_still_builds_a_message(make_rule):
    """alert_subject_args can bring a multi-line log message; a header cannot hold a line
    break, and the alert must still go out (on one line)."""
    rule, alerter = _email(make_rule, "email: ops@example.com\n")
    msg = alerter.message(Alert("i", rule, (), "Error: boom\r\nTraceback (most recent call last):\n  x", "b"))
    assert "\n" not in str(msg["Subject"]) and str(msg["Subject"]).startswith("Error: boom")
    assert "Traceback" in str(msg["Subject"])
