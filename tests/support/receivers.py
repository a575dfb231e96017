"""Real network peers for integration tests, on 127.0.0.1: an HTTP webhook receiver
(standing in for Slack) and an SMTP server (aiosmtpd)."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable


@dataclass
class Received:
    path: str  # with the query string, as sent
    headers: dict[str, str]
    body: Any  # parsed JSON, else the text
    method: str = "POST"
    raw: bytes = b""
    at: float = field(default_factory=time.time)  # when it arrived (epoch seconds)
    peer: tuple[str, int] = ("", 0)  # the client's address and port: one per TCP connection

    def header(self, name: str) -> str | None:
        """A header by case-insensitive name."""
        return next((v for k, v in self.headers.items() if k.lower() == name.lower()), None)


@dataclass
class Behaviour:
    """What the receiver does with the next request: answer ``status`` after ``delay``."""

    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None  # answer body: bytes/str as is, anything else as JSON; None: "ok"/"error"


class WebhookReceiver:
    """Records every request (any method). ``script`` lists behaviours for the next
    requests; once it is used up, requests get ``default``, or what ``respond`` (a
    function of the request, for services with an API such as Jira) returns. Only
    requests answered 2xx count as delivered."""

    def __init__(self, respond: Callable[[Received], Behaviour] | None = None) -> None:
        self.requests: list[Received] = []
        self.delivered: list[Received] = []
        self.script: list[Behaviour] = []
        self.default = Behaviour()
        self.respond = respond
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            # Keep-alive, as the services the receiver stands for: every answer has a length.
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length) if length else b""
                try:
                    body = json.loads(raw) if raw else None
                except ValueError:
                    body = raw.decode(errors="replace")
                item = Received(self.path, dict(self.headers), body, self.command, raw, peer=self.client_address)
                with receiver._lock:
                    receiver.requests.append(item)
                    scripted = receiver.script.pop(0) if receiver.script else None
                behaviour = scripted or (receiver.respond(item) if receiver.respond else receiver.default)
                if behaviour.delay:
                    time.sleep(behaviour.delay)
                if 200 <= behaviour.status < 300:
                    with receiver._lock:
                        receiver.delivered.append(item)
                if behaviour.body is None:
                    payload = b"ok" if behaviour.status < 300 else b"error"
                elif isinstance(behaviour.body, bytes):
                    payload = behaviour.body
                elif isinstance(behaviour.body, str):
                    payload = behaviour.body.encode()
                else:
                    payload = json.dumps(behaviour.body).encode()
                try:
                    self.send_response(behaviour.status)
                    for k, v in behaviour.headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout test)

            do_POST = do_PUT = do_GET = do_DELETE = do_PATCH = _handle  # noqa: N815

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "WebhookReceiver":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, predicate: Callable[[list[Received]], bool], timeout: float = 60.0) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                snapshot = list(self.delivered)
            if predicate(snapshot):
                return snapshot
            time.sleep(0.2)
        with self._lock:
            return list(self.delivered)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """An aiosmtpd server on 127.0.0.1 that keeps every message it accepts.

    ``rcpt_reply`` / ``data_reply`` (e.g. ``"451 4.7.1 Try again later"``) answer every
    RCPT TO / DATA with that reply instead of accepting; ``login`` = (user, password)
    makes it demand AUTH (over plain SMTP: it runs on loopback only) and refuse any other."""

    def __init__(self, rcpt_reply: str | None = None, data_reply: str | None = None,
                 login: tuple[str, str] | None = None) -> None:
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult

        self.messages: list[dict[str, Any]] = []
        self.rcpt_reply, self.data_reply = rcpt_reply, data_reply
        self._lock = threading.Lock()
        outer = self

        class Handler:
            async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                                  rcpt_options: list[str]) -> str:
                if outer.rcpt_reply:
                    return outer.rcpt_reply
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                import email

                if outer.data_reply:
                    return outer.data_reply
                msg = email.message_from_bytes(envelope.original_content or envelope.content)
                with outer._lock:
                    outer.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                           "subject": msg["Subject"], "body": msg.get_payload(decode=True).decode(),
                                           "headers": dict(msg.items())})
                return "250 Message accepted for delivery"

        def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
            ok = login is not None and (getattr(data, "login", b""), getattr(data, "password", b"")) == \
                tuple(x.encode() for x in login)
            return AuthResult(success=ok, handled=False)

        self.port = free_port()
        extra: dict[str, Any] = {}
        if login is not None:
            extra = {"authenticator": authenticate, "auth_require_tls": False, "auth_required": True}
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port, **extra)

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.controller.stop()

    def wait_for(self, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.messages) >= count:
                    return list(self.messages)
            time.sleep(0.2)
        with self._lock:
            return list(self.messages)
