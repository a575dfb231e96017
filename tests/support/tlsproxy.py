"""A TLS-terminating reverse proxy on 127.0.0.1 in front of the embedded engine, and a
test CA made in the run (openssl CLI) whose certificates it serves and checks.

Real clusters sit behind TLS with a private CA, basic auth, API keys, bearer tokens and
ingress URL prefixes; the embedded engine speaks plain HTTP with no security plugin.
This proxy adds those layers the way a cluster's security front (or an ingress) shows
them to a client: a server certificate for 127.0.0.1 signed by the test CA, optionally
a demanded client certificate, ``Authorization`` checked against one basic user, API key
or bearer token (401 with ``WWW-Authenticate`` otherwise), and a path prefix stripped.

Why not nginx from Debian's packages: it needs root and apt-get on every machine that
runs the tests, a config file and a process per case, and tells a test nothing about
what it saw. This one is the standard library (``ssl`` + ``http.server``), starts in
milliseconds, each test sets exactly the checks it wants, and ``seen`` lists the
requests that reached it (path before and after the prefix, whether they passed).

The CA is made with the ``openssl`` command (present wherever Python's ssl module is
built) rather than the ``cryptography`` package, which the test environment does not have.
"""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

# Hop-by-hop headers (RFC 9110 7.6.1) and those the proxy sets itself.
_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
        "transfer-encoding", "upgrade", "host", "content-length"}


class TestCA:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate, as
    PEM files under ``folder``. Elliptic-curve keys: made in a few milliseconds each."""

    __test__ = False  # not a pytest test class

    def __init__(self, folder: Path, name: str = "logalert test CA") -> None:
        if shutil.which("openssl") is None:
            raise RuntimeError("the openssl command is needed to make the test CA")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.cert, self.key = self._file("ca.pem"), self._file("ca.key")
        _openssl("req", "-x509", "-new", *_EC, "-nodes", "-keyout", self.key, "-out", self.cert, "-days", "3",
                 "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-addext", "subjectKeyIdentifier=hash")
        self.server_cert, self.server_key = self.issue("server", "127.0.0.1", "serverAuth",
                                                       san="IP:127.0.0.1,DNS:localhost")
        self.client_cert, self.client_key = self.issue("client", "logalert-client", "clientAuth")

    def _file(self, name: str) -> str:
        return str(self.folder / name)

    def issue(self, stem: str, common_name: str, usage: str, san: str | None = None) -> tuple[str, str]:
        """A certificate signed by this CA: (cert path, key path)."""
        cert, key, csr, ext = (self._file(f"{stem}.{suffix}") for suffix in ("pem", "key", "csr", "ext"))
        _openssl("req", "-new", *_EC, "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={common_name}")
        lines = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment",
                 f"extendedKeyUsage={usage}", "subjectKeyIdentifier=hash", "authorityKeyIdentifier=keyid,issuer"]
        if san:
            lines.append(f"subjectAltName={san}")
        Path(ext).write_text("\n".join(lines) + "\n")
        _openssl("x509", "-req", "-in", csr, "-CA", self.cert, "-CAkey", self.key, "-CAcreateserial",
                 "-out", cert, "-days", "3", "-extfile", ext)
        return cert, key


_EC = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1")


def _openssl(*args: str) -> None:
    done = subprocess.run(["openssl", *args], capture_output=True, text=True, stdin=subprocess.DEVNULL)
    if done.returncode != 0:
        raise RuntimeError(f"openssl {args[0]} failed: {done.stderr.strip()}")


@dataclass
class Seen:
    """One request that reached the proxy."""

    method: str
    path: str  # as the client sent it
    forwarded: str | None  # as sent to the engine (prefix stripped); None: not forwarded
    status: int  # what the client got
    authorization: str | None = None  # the scheme only ("Basic", "ApiKey", "Bearer"), never the secret


@dataclass
class Checks:
    """What the proxy demands. Several credentials may be set: any one of them passes."""

    client_cert: bool = False
    basic: tuple[str, str] | None = None
    api_key: str | None = None
    bearer: str | None = None
    prefix: str = ""

    def accepts(self, authorization: str | None) -> bool:
        wanted = []
        if self.basic:
            wanted.append("Basic " + base64.b64encode(":".join(self.basic).encode()).decode())
        if self.api_key:
            wanted.append(f"ApiKey {self.api_key}")
        if self.bearer:
            wanted.append(f"Bearer {self.bearer}")
        return not wanted or (authorization or "").strip() in wanted


@dataclass
class TlsProxy:
    """``https://127.0.0.1:PORT`` (``tls=False``: plain http) forwarding to ``upstream``
    (the engine's URL) once the request passed ``checks``. Use as a context manager."""

    upstream: str
    ca: TestCA | None
    checks: Checks = field(default_factory=Checks)
    tls: bool = True
    seen: list[Seen] = field(default_factory=list)
    handshake_failures: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        target = urlsplit(self.upstream)
        self._upstream = (target.hostname or "127.0.0.1", target.port or 80)
        self._context = self._server_context() if self.tls else None
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True, name="tlsproxy")

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def _server_context(self) -> ssl.SSLContext:
        assert self.ca is not None, "a TLS proxy needs the test CA"
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca.server_cert, self.ca.server_key)
        if self.checks.client_cert:
            context.verify_mode = ssl.CERT_REQUIRED
            context.load_verify_locations(self.ca.cert)
        return context

    def record(self, item: Seen) -> None:
        with self._lock:
            self.seen.append(item)

    def forwarded(self) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.forwarded is not None]

    def refused(self) -> list[Seen]:
        with self._lock:
            return [s for s in self.seen if s.status == 401]

    def start(self) -> "TlsProxy":
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop, and drop the open keep-alive connections too: a node that went down."""
        self._server.shutdown()
        self._server.server_close()
        with self._server.lock:
            open_now = list(self._server.open)
        for sock in open_now:
            try:
                sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            except OSError:
                pass

    def __enter__(self) -> "TlsProxy":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    proxy: TlsProxy

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.lock = threading.Lock()
        self.open: set[Any] = set()

    def finish_request(self, request: Any, client_address: Any) -> None:
        """The TLS handshake in the connection's own thread: a client that stalls or
        fails it (no client certificate, an untrusted CA) holds up no one else."""
        with self.lock:
            self.open.add(request)
        try:
            self._serve(request, client_address)
        finally:
            with self.lock:
                self.open.discard(request)

    def _serve(self, request: Any, client_address: Any) -> None:
        context = self.proxy._context
        if context is not None:
            request.settimeout(30)
            try:
                request = context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as exc:
                self.proxy.handshake_failures.append(str(exc))
                return
            with self.lock:
                self.open.add(request)
        try:
            self.RequestHandlerClass(request, client_address, self)
        finally:
            if context is not None:
                with self.lock:
                    self.open.discard(request)
                try:
                    request.close()
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a client hanging up mid-request is not the test's business


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._forward()

    do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def _forward(self) -> None:
        proxy = self.server.proxy
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        authorization = self.headers.get("authorization")
        scheme = authorization.split(" ", 1)[0] if authorization else None
        path = _strip(self.path, proxy.checks.prefix)
        if path is None:
            proxy.record(Seen(self.command, self.path, None, 404, scheme))
            return self._answer(404, {"error": f"no route for {self.path.split('?')[0]} (expected prefix "
                                               f"/{proxy.checks.prefix.strip('/')})"})
        if not proxy.checks.accepts(authorization):
            proxy.record(Seen(self.command, self.path, None, 401, scheme))
            return self._answer(401, {"error": {"type": "security_exception", "reason": "unable to authenticate"},
                                      "status": 401}, {"WWW-Authenticate": 'Basic realm="logalert-test"'})
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP and k.lower() != "authorization"}
        upstream = http.client.HTTPConnection(*proxy._upstream, timeout=60)
        try:
            upstream.request(self.command, path, body=body if body or self.command in ("POST", "PUT") else None,
                             headers=headers)
            response = upstream.getresponse()
            data = response.read()
        except OSError as exc:
            proxy.record(Seen(self.command, self.path, path, 502, scheme))
            return self._answer(502, {"error": f"upstream: {exc}"})
        finally:
            upstream.close()
        proxy.record(Seen(self.command, self.path, path, response.status, scheme))
        self.send_response(response.status)
        for name, value in response.getheaders():
            if name.lower() not in _HOP:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)


def _strip(path: str, prefix: str) -> str | None:
    """``path`` without ``prefix``; None when it does not start with it."""
    bare = prefix.strip("/")
    if not bare:
        return path
    head = f"/{bare}"
    if path == head or path.startswith(head + "?"):
        return "/" + path[len(head):]
    if path.startswith(head + "/"):
        return path[len(head):]
    return None


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (a node that is down)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
