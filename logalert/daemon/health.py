"""``GET /healthz`` for container health checks: 200 while the scheduler runs, with
each rule's last run; 503 once it stopped. ``GET /metrics``: Prometheus metrics."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from logalert import metrics

if TYPE_CHECKING:
    from logalert.daemon.scheduler import Daemon


def serve(port: int, daemon: Daemon, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """All interfaces by default: the container's HEALTHCHECK and a kubelet probe reach it."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            if self.path == "/metrics":
                self._send(200, metrics.render().encode(), "text/plain; version=0.0.4")
                return
            if self.path not in ("/healthz", "/health", "/"):
                self.send_error(404)
                return
            running = daemon.running
            rules = daemon.rule_health()
            body = json.dumps({"status": "ok" if running else "stopped", "rules": rules}).encode()
            self._send(200 if running else 503, body, "application/json")

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("content-type", content_type)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer((host, port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True, name="health").start()
    return server
