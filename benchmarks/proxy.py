"""A counting HTTP reverse proxy on 127.0.0.1, in front of the search engine.

Each tool under test is pointed at the proxy's port instead of the engine's, so every
request it sends is counted by kind (search, msearch and its sub-searches, count, scroll,
point in time, validate, GET /, writes, other) without trusting either tool's own logs.
Standard library only: ``http.server`` (one thread per client connection, keep-alive)
and ``http.client`` (one upstream connection per proxy thread)."""

from __future__ import annotations

import http.client
import socket
import threading
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade", "content-length", "host"}

# Kinds that put load on the engine's search path (what the issue calls search requests).
SEARCH_KINDS = ("search", "msearch", "count", "scroll", "pit", "validate", "terms_enum")


def classify(method: str, path: str) -> str:
    """The kind of an Elasticsearch/OpenSearch REST request, from its method and path."""
    parts = [p for p in urlsplit(path).path.split("/") if p]
    if not parts:
        return "info" if method in ("GET", "HEAD") else "other"
    if "_msearch" in parts:
        return "msearch"
    if "_search" in parts:
        if "scroll" in parts:
            return "scroll"
        if "point_in_time" in parts:
            return "pit"
        return "search"
    if "_count" in parts:
        return "count"
    if "_pit" in parts:
        return "pit"
    if "_validate" in parts:
        return "validate"
    if "_terms_enum" in parts:
        return "terms_enum"
    if "_doc" in parts and method in ("GET", "HEAD"):
        return "get"
    if "_mget" in parts:
        return "get"
    if "_bulk" in parts or "_doc" in parts or "_create" in parts or "_update" in parts:
        return "write"
    if "_refresh" in parts:
        return "refresh"
    if method == "HEAD" or "_mapping" in parts or "_alias" in parts or "_aliases" in parts or parts[0].startswith("_cat"):
        return "metadata"
    return "other"


class CountingProxy:
    """``with CountingProxy(upstream_port) as proxy: ... proxy.port ... proxy.snapshot()``"""

    def __init__(self, upstream_port: int, upstream_host: str = "127.0.0.1", port: int = 0,
                 trace: str | None = None):
        self.upstream = (upstream_host, upstream_port)
        self.trace = open(trace, "a", buffering=1) if trace else None
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self.msearch_subsearches = 0
        self.bytes_in = 0
        self.bytes_out = 0
        self.errors: Counter[int] = Counter()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            local = threading.local()

            def log_message(self, *args: object) -> None:  # quiet
                pass

            def setup(self) -> None:
                super().setup()
                # Headers and body go out in one write below, and Nagle is off: otherwise a
                # small response waits for the client's delayed ACK (~40 ms per request).
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def _upstream(self) -> http.client.HTTPConnection:
                conn = getattr(self.local, "conn", None)
                if conn is None:
                    conn = http.client.HTTPConnection(*proxy.upstream, timeout=300)
                    conn.connect()
                    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self.local.conn = conn
                return conn

            def _body(self) -> bytes:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while True:
                        size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                        if size == 0:
                            while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                                pass
                            break
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else b""

            def _forward(self) -> None:
                body = self._body()
                kind = classify(self.command, self.path)
                with proxy._lock:
                    proxy.counts[kind] += 1
                    proxy.bytes_in += len(body)
                    if kind == "msearch":
                        # NDJSON: header line + body line per sub-search.
                        lines = [ln for ln in body.split(b"\n") if ln.strip()]
                        proxy.msearch_subsearches += len(lines) // 2
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["Host"] = f"{proxy.upstream[0]}:{proxy.upstream[1]}"
                for attempt in (1, 2):
                    conn = self._upstream()
                    try:
                        conn.request(self.command, self.path, body=body if body or self.command in ("POST", "PUT") else None,
                                     headers=headers)
                        resp = conn.getresponse()
                        data = resp.read()
                        break
                    except (http.client.HTTPException, ConnectionError, OSError):
                        conn.close()
                        self.local.conn = None
                        if attempt == 2:
                            self.send_error(502, "upstream failed")
                            return
                with proxy._lock:
                    if proxy.trace:
                        proxy.trace.write(f"{self.command} {self.path} {len(body)} -> {resp.status} {len(data)} "
                                          f"{resp.getheaders()}\n")
                    proxy.bytes_out += len(data)
                    if resp.status >= 400:
                        proxy.errors[resp.status] += 1
                self.send_response(resp.status, resp.reason)
                for k, v in resp.getheaders():
                    if k.lower() not in HOP_BY_HOP:
                        self.send_header(k, v)
                self.send_header("Content-Length", str(len(data)))
                self.send_header("Connection", "keep-alive")
                # end_headers() without its flush, then headers + body in one write.
                self._headers_buffer.append(b"\r\n")
                if self.command != "HEAD":
                    self._headers_buffer.append(data)
                self.flush_headers()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="counting-proxy", daemon=True)

    def __enter__(self) -> "CountingProxy":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self.errors.clear()
            self.msearch_subsearches = self.bytes_in = self.bytes_out = 0

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            counts = dict(self.counts)
            return {
                "total": sum(counts.values()),
                "search_requests": sum(counts.get(k, 0) for k in SEARCH_KINDS),
                "by_kind": counts,
                "msearch_subsearches": self.msearch_subsearches,
                "bytes_in": self.bytes_in,
                "bytes_out": self.bytes_out,
                "http_errors": dict(self.errors),
            }
