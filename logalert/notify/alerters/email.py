"""``alert: email``: plain-text mail through SMTP (SSL, or STARTTLS whenever offered)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import yaml

from logalert.errors import DeliveryError
from logalert.model import Alert
from logalert.notify.alerters.base import Alerter
from logalert.options import ALERTER, BOOLEAN, BY_NAME, STRING, STRING_OR_LIST, Option
from logalert.secrets import mask, register

if TYPE_CHECKING:
    from email.message import EmailMessage

# smtplib, ssl and email.* load in send(): rule loading reads OPTIONS, and `validate`
# should not pay for a mail client.
OPTIONS = (
    Option("email", STRING_OR_LIST, scope=ALERTER, description="recipients"),
    Option("cc", STRING_OR_LIST, scope=ALERTER),
    Option("bcc", STRING_OR_LIST, scope=ALERTER),
    BY_NAME["from_addr"],
    BY_NAME["email_reply_to"],
    BY_NAME["smtp_host"],
    BY_NAME["smtp_port"],
    Option("smtp_ssl", BOOLEAN, False, ALERTER, description="implicit TLS; otherwise STARTTLS when offered"),
    Option("smtp_auth_file", STRING, scope=ALERTER, description="YAML with user and password"),
    Option("smtp_cert_file", STRING, scope=ALERTER),
    Option("smtp_key_file", STRING, scope=ALERTER),
    Option("smtp_timeout", {"type": "number", "exclusiveMinimum": 0}, 20, ALERTER),
    Option("email_format", {"enum": ["html", "text"]}, "text", ALERTER,
           unimplemented="mail is always sent as plain text"),
    Option("email_add_domain", STRING, scope=ALERTER),
)
REQUIRED = ("email",)


def _list(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


class EmailAlerter(Alerter):
    name = "email"

    def message(self, alert: Alert) -> EmailMessage:
        from email.message import EmailMessage
        from email.utils import formatdate, make_msgid

        o = self.options
        msg = EmailMessage()
        msg["Subject"] = alert.subject
        msg["From"] = o["from_addr"]
        msg["To"] = ", ".join(self._add_domain(_list(o.get("email"))))
        if o.get("cc"):
            msg["Cc"] = ", ".join(_list(o["cc"]))
        if o.get("email_reply_to"):
            msg["Reply-To"] = o["email_reply_to"]
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(idstring=alert.id, domain="logalert")
        msg["X-Logalert-Alert-Id"] = alert.id
        msg.set_content(alert.body)
        return msg

    def _add_domain(self, names: list[str]) -> list[str]:
        domain = self.options.get("email_add_domain")
        if not domain:
            return names
        return [n if "@" in n else f"{n}@{domain.lstrip('@')}" for n in names]

    def _credentials(self) -> tuple[str, str] | None:
        path = self.options.get("smtp_auth_file")
        if not path:
            return None
        try:
            with open(path, encoding="utf-8") as handle:
                data = yaml.safe_load(handle) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise DeliveryError(f"cannot read smtp_auth_file {path}: {exc}", retryable=False) from None
        if not isinstance(data, dict) or "user" not in data or "password" not in data:
            raise DeliveryError(f"smtp_auth_file {path} must hold 'user' and 'password'", retryable=False)
        register(str(data["password"]))
        return str(data["user"]), str(data["password"])

    def send(self, alert: Alert) -> None:
        import smtplib
        import socket
        import ssl

        o = self.options
        host = o["smtp_host"]
        port = int(o.get("smtp_port") or (465 if o.get("smtp_ssl") else 25))
        timeout = float(o["smtp_timeout"])
        msg = self.message(alert)
        recipients = self._add_domain(_list(o.get("email"))) + _list(o.get("cc")) + _list(o.get("bcc"))
        context = ssl.create_default_context()
        if o.get("smtp_cert_file"):
            context.load_cert_chain(o["smtp_cert_file"], o.get("smtp_key_file"))
        try:
            if o.get("smtp_ssl"):
                server: smtplib.SMTP = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
            else:
                server = smtplib.SMTP(host, port, timeout=timeout)
            with server:
                server.ehlo()
                if not o.get("smtp_ssl") and server.has_extn("starttls"):
                    server.starttls(context=context)
                    server.ehlo()
                credentials = self._credentials()
                if credentials:
                    server.login(*credentials)
                server.send_message(msg, to_addrs=recipients)
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(f"SMTP login to {host}:{port} refused: {exc.smtp_code}", retryable=False) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(f"SMTP server refused recipients {sorted(exc.recipients)}", retryable=False) from None
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            raise DeliveryError(mask(f"SMTP {host}:{port} failed: {exc}"), retryable=True) from None

    def describe(self) -> str:
        return f"email to {', '.join(_list(self.options.get('email')))} via {self.options['smtp_host']}"
