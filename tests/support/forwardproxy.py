"""An HTTP forward proxy on 127.0.0.1 for the notifiers' ``*_proxy`` options: it relays
absolute-form requests (``POST http://host:port/path``) and ``CONNECT`` tunnels (for
https services), and lists what it relayed, so a test proves a notification went
through the proxy rather than straight to the receiver. Optional proxy credentials
(``Proxy-Authorization: Basic``) are checked, 407 otherwise."""

from __future__ import annotations

import base64
import http.client
import select
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "proxy-connection", "te",
        "trailer", "transfer-encoding", "upgrade", "content-length"}


@dataclass
class Relayed:
    method: str
    target: str  # the absolute URL, or host:port for CONNECT
    status: int


@dataclass
class ForwardProxy:
    login: tuple[str, str] | None = None
    relayed: list[Relayed] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.proxy = self  # type: ignore[attr-defined]
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="forwardproxy")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def record(self, item: Relayed) -> None:
        with self._lock:
            self.relayed.append(item)

    def allowed(self, header: str | None) -> bool:
        if self.login is None:
            return True
        return header == "Basic " + base64.b64encode(":".join(self.login).encode()).decode()

    def __enter__(self) -> "ForwardProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def proxy(self) -> ForwardProxy:
        return self.server.proxy  # type: ignore[attr-defined]

    def _refuse(self, target: str) -> bool:
        if self.proxy.allowed(self.headers.get("proxy-authorization")):
            return False
        self.proxy.record(Relayed(self.command, target, 407))
        self.send_response(407)
        self.send_header("Proxy-Authenticate", 'Basic realm="proxy"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return True

    def do_CONNECT(self) -> None:
        if self._refuse(self.path):
            return
        host, _, port = self.path.rpartition(":")
        try:
            upstream = socket.create_connection((host, int(port)), timeout=30)
        except OSError:
            self.proxy.record(Relayed("CONNECT", self.path, 502))
            self.send_response(502)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self.proxy.record(Relayed("CONNECT", self.path, 200))
        self.send_response(200, "Connection established")
        self.end_headers()
        self.close_connection = True
        sockets = [self.connection, upstream]
        try:
            while True:
                readable, _, _ = select.select(sockets, [], [], 30)
                if not readable:
                    break
                for sock in readable:
                    data = sock.recv(65536)
                    if not data:
                        return
                    (upstream if sock is self.connection else self.connection).sendall(data)
        except OSError:
            pass
        finally:
            upstream.close()

    def _relay(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else None
        if self._refuse(self.path):
            return
        target = urlsplit(self.path)
        if target.scheme != "http" or not target.hostname:
            self.proxy.record(Relayed(self.command, self.path, 400))
            self.send_response(400)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        upstream = http.client.HTTPConnection(target.hostname, target.port or 80, timeout=30)
        try:
            upstream.request(self.command, (target.path or "/") + (f"?{target.query}" if target.query else ""),
                             body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
        finally:
            upstream.close()
        self.proxy.record(Relayed(self.command, self.path, response.status))
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in _HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _relay
