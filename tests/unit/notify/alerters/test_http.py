"""The shared HTTP helper against a real keep-alive server on 127.0.0.1: connections are
reused across alerts, never shared between threads, and cookies a service sets are not
sent back on the next rule's request."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

from logalert.notify.alerters import http


class _Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless the client closes

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        server = self.server
        with server.lock:  # type: ignore[attr-defined]
            server.connections.add(self.client_address)  # type: ignore[attr-defined]
            server.cookies.append(self.headers.get("Cookie"))  # type: ignore[attr-defined]
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Set-Cookie", "session=abc; Path=/")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    server.daemon_threads = True
    server.lock = threading.Lock()  # type: ignore[attr-defined]
    server.connections = set()  # type: ignore[attr-defined]
    server.cookies = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _url(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}/hook"


def _post_in_fresh_thread(url: str, times: int) -> None:
    def work() -> None:
        for _ in range(times):
            http.request("Receiver", "POST", url, json={"text": "alert"})

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()


def test_alerts_to_one_service_reuse_one_connection(receiver: ThreadingHTTPServer) -> None:
    _post_in_fresh_thread(_url(receiver), 5)
    assert len(receiver.cookies) == 5  # type: ignore[attr-defined]
    assert len(receiver.connections) == 1  # type: ignore[attr-defined]


def test_each_delivery_thread_has_its_own_connection(receiver: ThreadingHTTPServer) -> None:
    _post_in_fresh_thread(_url(receiver), 2)
    _post_in_fresh_thread(_url(receiver), 2)
    assert len(receiver.connections) == 2  # type: ignore[attr-defined]


def test_cookies_a_service_sets_are_not_sent_back(receiver: ThreadingHTTPServer) -> None:
    _post_in_fresh_thread(_url(receiver), 3)
    assert receiver.cookies == [None, None, None]  # type: ignore[attr-defined]
