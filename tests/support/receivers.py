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
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Behaviour:
    """What the receiver does with the next request: answer ``status`` after ``delay``."""

    status: int = 200
    delay: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class WebhookReceiver:
    """Records every POST. ``script`` lists behaviours for the next requests; once it is
    used up, requests get ``default``. Only requests answered 2xx count as delivered."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self.delivered: list[Received] = []
        self.script: list[Behaviour] = []
        self.default = Behaviour()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode(errors="replace")
                item = Received(self.path, dict(self.headers), body)
                with receiver._lock:
                    receiver.requests.append(item)
                    behaviour = receiver.script.pop(0) if receiver.script else receiver.default
                if behaviour.delay:
                    time.sleep(behaviour.delay)
                if 200 <= behaviour.status < 300:
                    with receiver._lock:
                        receiver.delivered.append(item)
                payload = b"ok" if behaviour.status < 300 else b"error"
                try:
                    self.send_response(behaviour.status)
                    for k, v in behaviour.headers.items():
                        self.send_header(k, v)
                    self.send_header("content-length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except OSError:
                    pass  # the client gave up (timeout test)

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
    """An aiosmtpd server on 127.0.0.1 that keeps every message it accepts."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        outer = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                import email

                msg = email.message_from_bytes(envelope.original_content or envelope.content)
                with outer._lock:
                    outer.messages.append({"from": envelope.mail_from, "to": list(envelope.rcpt_tos),
                                           "subject": msg["Subject"], "body": msg.get_payload(decode=True).decode(),
                                           "headers": dict(msg.items())})
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

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
