"""``alert: email``: mail through SMTP (SSL, or STARTTLS whenever offered).

Plain text, or HTML with ``email_format: html`` (the alert text is the author's HTML,
as in ElastAlert2); ``email_image_keys``/``email_image_values`` attach images from
``assets_dir`` inline, each under its key as Content-ID, so the HTML shows them with
``<img src="cid:KEY">``. ``email_from_field`` takes the recipients from a field of the
first match (``email`` when the match lacks it); ``email_add_domain`` completes names
without a domain.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Mapping

import yaml

from logalert.errors import DeliveryError
from logalert.fields import lookup
from logalert.model import Alert
from logalert.notify.alerters.base import Alerter
from logalert.options import ALERTER, BOOLEAN, BY_NAME, STRING, STRING_OR_LIST, STRINGS, Option
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
    Option("smtp_auth_file", STRING, scope=ALERTER,
           description="YAML with user and password; a relative path is read next to the rule file"),
    Option("smtp_cert_file", STRING, scope=ALERTER),
    Option("smtp_key_file", STRING, scope=ALERTER),
    Option("smtp_timeout", {"type": "number", "exclusiveMinimum": 0}, 20, ALERTER),
    Option("email_format", {"enum": ["html", "text"]}, "text", ALERTER,
           description="html: the body (alert_text) is sent as HTML"),
    Option("email_add_domain", STRING, scope=ALERTER, description="e.g. @example.com, added to recipients "
                                                                  "without a domain"),
    Option("email_from_field", STRING, scope=ALERTER,
           description="field of the first match holding the recipient(s); email when it is missing"),
    Option("assets_dir", STRING, "/tmp", ALERTER, description="folder of the email_image_values files"),
    Option("email_image_keys", STRINGS, scope=ALERTER, description="Content-IDs of inline images (cid:KEY)"),
    Option("email_image_values", STRINGS, scope=ALERTER, description="image files in assets_dir, one per key"),
)
REQUIRED = ("email",)


# One address or bare name, nothing that could list a second one or start a header.
_ONE_ADDRESS = re.compile(r"^[^\s,;:<>()\[\]\\\"]+$")
_LINE_BREAKS = re.compile(r"\s*[\r\n]+\s*")


def _list(value: Any) -> list[str]:
    if not value:
        return []
    return [value] if isinstance(value, str) else list(value)


def check(options: Mapping[str, Any]) -> list[tuple[str, str]]:
    keys, values = _list(options.get("email_image_keys")), _list(options.get("email_image_values"))
    if len(keys) != len(values):
        return [("email_image_values", f"needs one file per email_image_keys entry ({len(keys)} keys, "
                                       f"{len(values)} files)")]
    return []


def _transient(code: int) -> bool:
    """SMTP's own answer to "will a retry help": 4xx yes, 5xx no; anything else (a
    dropped connection shows as -1) is retried."""
    return not 500 <= code < 600


class EmailAlerter(Alerter):
    name = "email"

    def message(self, alert: Alert) -> EmailMessage:
        from email.message import EmailMessage
        from email.utils import formatdate, make_msgid

        o = self.options
        msg = EmailMessage()
        # A header cannot hold a line break (EmailMessage refuses it, and the alert would be
        # lost): a multi-line log message given as alert_subject_args goes on one line.
        msg["Subject"] = _LINE_BREAKS.sub(" ", alert.subject).strip()
        msg["From"] = o["from_addr"]
        msg["To"] = ", ".join(self.recipients(alert))
        if o.get("cc"):
            msg["Cc"] = ", ".join(_list(o["cc"]))
        if o.get("email_reply_to"):
            msg["Reply-To"] = o["email_reply_to"]
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(idstring=alert.id, domain="logalert")
        msg["X-Logalert-Alert-Id"] = alert.id
        if o.get("email_format") == "html":
            msg.set_content(alert.body, subtype="html")
            self._attach_images(msg)
        else:
            msg.set_content(alert.body)
        return msg

    def _attach_images(self, msg: EmailMessage) -> None:
        """The inline images: the message becomes multipart/related, the HTML first."""
        import mimetypes

        folder = self.options.get("assets_dir") or "/tmp"
        keys, files = _list(self.options.get("email_image_keys")), _list(self.options.get("email_image_values"))
        for key, name in zip(keys, files):
            path = os.path.join(folder, name)
            kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
            maintype, subtype = kind.split("/", 1)
            try:
                with open(path, "rb") as handle:
                    data = handle.read()
            except OSError as exc:
                raise DeliveryError(f"email_image_values: cannot read {path}: {exc.strerror}", retryable=False) from None
            msg.add_related(data, maintype=maintype, subtype=subtype, cid=f"<{key}>", filename=name,
                            disposition="inline")

    def recipients(self, alert: Alert) -> list[str]:
        """``To``: the first match's ``email_from_field`` when it holds an address (or a
        list of them), else ``email``; ``email_add_domain`` completes bare names."""
        field = self.options.get("email_from_field")
        if field and alert.matches:
            # The value comes from a log document: only single bare addresses (or names)
            # count, so a value such as "a@x, b@y" or one with a line break adds no one.
            found = lookup(alert.matches[0].fields, field)
            if isinstance(found, str) and _ONE_ADDRESS.match(found.strip()):
                # As ElastAlert2: a bare name only when email_add_domain completes it.
                if "@" in found or self.options.get("email_add_domain"):
                    return self._add_domain([found.strip()])
            if isinstance(found, list) and found and all(isinstance(v, str) for v in found):
                names = [v.strip() for v in found if _ONE_ADDRESS.match(v.strip())]
                if names:
                    return self._add_domain(names)
        return self._add_domain(_list(self.options.get("email")))

    def _add_domain(self, names: list[str]) -> list[str]:
        domain = self.options.get("email_add_domain")
        if not domain:
            return names
        return [n if "@" in n else f"{n}@{domain.lstrip('@')}" for n in names]

    def _auth_path(self, path: str) -> str:
        """ElastAlert2 reads a relative smtp_auth_file next to the rule; a path that only
        exists from the working directory (how logalert read it before) still works."""
        if os.path.isabs(path) or not self.rule.file:
            return path
        beside = os.path.join(os.path.dirname(os.path.abspath(self.rule.file)), path)
        return beside if os.path.exists(beside) or not os.path.exists(path) else path

    def _credentials(self) -> tuple[str, str] | None:
        path = self.options.get("smtp_auth_file")
        if not path:
            return None
        path = self._auth_path(path)
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
        recipients = self.recipients(alert) + _list(o.get("cc")) + _list(o.get("bcc"))
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
            codes = {addr: code for addr, (code, _) in exc.recipients.items()}
            # 4xx (greylisting, a full mailbox) is "try later"; 5xx is final (RFC 5321 4.2.1).
            raise DeliveryError(f"SMTP server refused recipients {sorted(exc.recipients)} "
                                f"({', '.join(str(c) for c in sorted(set(codes.values())))})",
                                retryable=any(_transient(c) for c in codes.values())) from None
        except smtplib.SMTPResponseException as exc:
            reason = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else exc.smtp_error
            raise DeliveryError(mask(f"SMTP {host}:{port} answered {exc.smtp_code} {reason}"),
                                retryable=_transient(exc.smtp_code)) from None
        except (smtplib.SMTPException, OSError, socket.timeout) as exc:
            raise DeliveryError(mask(f"SMTP {host}:{port} failed: {exc}"), retryable=True) from None

    def describe(self) -> str:
        return f"email to {', '.join(_list(self.options.get('email')))} via {self.options['smtp_host']}"
