"""``GET /healthz`` for container health checks: 200 while the scheduler runs, with
each rule's last run; 503 once it stopped. ``GET /metrics``: Prometheus metrics."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from logalert import metrics
from logalert.timeutil import iso


def serve(port: int, daemon: Any, host: str = "0.0.0.0") -> ThreadingHTTPServer:
    """All interfaces by default: the container's HEALTHCHECK and a kubelet probe reach it."""
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server naming
            if self.path == "/metrics":
                self._send(200, metrics.render().encode(), "text/plain; version=0.0.4")
                return
            if self.path not in ("/healthz", "/health", "/"):
                self.send_error(404)
                return
            running = daemon.scheduler.running
            rules = {}
            for name in list(daemon.runners):
                try:
                    status = daemon.state.load_status(name)
                except Exception as exc:  # noqa: BLE001 - the state engine may be down; we are alive
                    rules[name] = {"error": f"state unavailable: {exc}"}
                    continue
                rules[name] = {
                    "last_run": iso(status.last_run) if status and status.last_run else None,
                    "last_end": iso(status.last_end) if status and status.last_end else None,
                    "error": status.error if status else None,
                }
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
