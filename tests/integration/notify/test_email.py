"""The email notifier against a real SMTP server on 127.0.0.1: recipients taken from the
match (email_from_field + email_add_domain) reach the envelope, and email_format html
arrives as text/html."""

from __future__ import annotations

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
