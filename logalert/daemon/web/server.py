"""The console's HTTP server: the standard library's ThreadingHTTPServer, one thread per
request. The console is a handful of JSON endpoints and three static files used by a
few people at a time; an ASGI stack would add two dependencies and an event loop to a
daemon whose work happens in threads anyway.

It listens apart from ``/healthz`` and ``/metrics`` (``health_port``): those must answer
a kubelet or Prometheus without a token on the pod's address, while the console answers
only with a token and binds 127.0.0.1 unless ``web_host`` says otherwise.
"""

from __future__ import annotations

import logging
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, Callable
from urllib.parse import parse_qs, quote, unquote, urlsplit

from logalert.daemon.web import api, history, pages
from logalert.daemon.web.auth import Auth, same_origin
from logalert.daemon.web.console import Console
from logalert.daemon.web.paths import BadPath
from logalert.daemon.web.wire import MAX_BODY, HTTPError, Request, Response
from logalert.errors import EngineError

log = logging.getLogger(__name__)

SECURITY_HEADERS = {
    "Content-Security-Policy": ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                                "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # "no-referrer" makes Chromium send "Origin: null" on form posts
}
STATIC_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                ".svg": "image/svg+xml", ".png": "image/png"}
STATIC_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
FAILED_LOGIN_DELAY = 0.5  # seconds; with a 32-character token this only slows down noise

Handler = Callable[[Console, Request], Response]
PathHandler = Callable[[Console, Request, Any], Response]

API: dict[tuple[str, str], Handler] = {
    ("GET", "/api/rules"): api.list_rules,
    ("POST", "/api/validate"): api.validate,
    ("POST", "/api/test"): api.test,
    ("GET", "/api/status"): history.status,
    ("GET", "/api/alerts"): history.alerts,
    ("GET", "/api/errors"): history.errors,
    ("GET", "/api/silences"): history.list_silences,
    ("POST", "/api/silences"): history.add_silence,
    ("DELETE", "/api/silences"): history.remove_silence,
}
RULE_API: dict[str, PathHandler] = {"GET": api.get_rule, "PUT": api.put_rule, "PATCH": api.patch_rule,
                                    "DELETE": api.delete_rule}
SIMPLE_PAGES = {"/": "rules", "/new": "new", "/alerts": "alerts", "/silences": "silences", "/errors": "errors"}


def static(name: str) -> Response:
    suffix = name[name.rfind("."):] if "." in name else ""
    if not STATIC_NAME.match(name) or suffix not in STATIC_TYPES:
        return Response.error(404, "no such file")
    try:
        data = (resources.files("logalert.daemon.web") / "static" / name).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return Response.error(404, "no such file")
    return Response(200, data, STATIC_TYPES[suffix], {"Cache-Control": "no-cache"})


def _local_url(value: str | None) -> str:
    """Only a path on this server may follow a login (no open redirect)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login(console: Console, req: Request) -> Response:
    auth = console.auth
    next_url = _local_url(req.query.get("next"))
    if req.method == "GET":
        if auth.session(req.header("cookie")):
            return Response.redirect(next_url)
        return Response.html(pages.login(next_url=next_url, generated=console.token_generated))
    if not same_origin(req.header("origin"), req.header("host")):
        return Response.error(403, "cross-site login refused")
    form = parse_qs(req.body.decode("utf-8", "replace"))
    if not auth.token_ok((form.get("token") or [""])[0]):
        log.warning("web console: failed sign-in from %s", req.headers.get("x-peer", "?"))
        time.sleep(FAILED_LOGIN_DELAY)
        return Response.html(pages.login(next_url=next_url, error="That token is not right.",
                                         generated=console.token_generated), 401)
    return Response.redirect(next_url, **{"Set-Cookie": Auth.cookie(auth.new_session())})


def logout(console: Console, req: Request) -> Response:
    caller = req.caller
    form = parse_qs(req.body.decode("utf-8", "replace"))
    if caller is not None and caller.via == "cookie":
        if not console.auth.csrf_ok(caller.session, (form.get("csrf") or [""])[0]):
            return Response.error(403, "CSRF token missing or wrong")
        console.auth.end(caller.session)
    return Response.redirect("/login", **{"Set-Cookie": Auth.cookie("", max_age=0)})


def page(console: Console, req: Request) -> Response:
    path = req.path
    name, rel = SIMPLE_PAGES.get(path), ""
    if name is None and path.startswith("/rules/"):
        name, rel = "rule", console.folder.resolve(path[len("/rules/"):]).rel
    if name is None:
        return Response.html(pages.not_found(f"There is no page at {path}."), 404)
    if req.caller is None:
        return Response.redirect("/login?next=" + quote(req.raw_path, safe="/"))
    csrf = console.auth.csrf(req.caller.session) if req.caller.via == "cookie" else ""
    return Response.html(pages.shell(name, csrf=csrf, mode=console.mode, path=rel))


def api_call(console: Console, req: Request) -> Response:
    if req.caller is None:
        return Response.error(401, "authentication required: Authorization: Bearer TOKEN, or sign in at /login")
    if req.method not in ("GET", "HEAD") and req.caller.via == "cookie":
        if not same_origin(req.header("origin"), req.header("host")):
            return Response.error(403, "cross-site request refused")
        if not console.auth.csrf_ok(req.caller.session, req.header("x-csrf-token")):
            return Response.error(403, "CSRF token missing or wrong (X-CSRF-Token)")
    if req.path.startswith("/api/rules/"):
        handler = RULE_API.get(req.method)
        if handler is None:
            return Response.error(405, f"{req.method} is not allowed here", allowed=sorted(RULE_API))
        return handler(console, req, console.folder.resolve(req.path[len("/api/rules/"):]))
    found = API.get((req.method, req.path))
    if found is None:
        allowed = sorted(m for m, p in API if p == req.path)
        return Response.error(405 if allowed else 404, f"{req.method} {req.path}: no such endpoint", allowed=allowed)
    return found(console, req)


def route(console: Console, req: Request) -> Response:
    """The answer to one request; refusals raised by the handlers become their status."""
    try:
        return _route(console, req)
    except HTTPError as exc:
        return Response.error(exc.status, exc.message, **exc.extra)
    except BadPath as exc:
        return Response.error(400, str(exc))
    except EngineError as exc:
        return Response.error(503, f"the search engine: {exc}")


def _route(console: Console, req: Request) -> Response:
    path = req.path
    if path.startswith("/static/"):
        return static(path[len("/static/"):])
    if path == "/favicon.ico":
        return static("favicon.svg")
    req.caller = console.auth.caller(req.header("authorization"), req.header("cookie"))
    if path == "/login":
        return login(console, req)
    if path == "/logout" and req.method == "POST":
        return logout(console, req)
    if path.startswith("/api/"):
        response = api_call(console, req)
        if response.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="logalert"'
        return response
    if req.method != "GET":
        return Response.error(405, "pages are read with GET")
    return page(console, req)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_handler(console: Console) -> type[BaseHTTPRequestHandler]:
    class ConsoleHandler(BaseHTTPRequestHandler):
        server_version = "logalert"
        sys_version = ""

        def _request(self) -> Request:
            raw = self.path
            parts = urlsplit(raw)
            query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            headers["x-peer"] = self.client_address[0]
            body = b""
            if self.command in ("POST", "PUT", "PATCH", "DELETE"):
                if "transfer-encoding" in headers:
                    raise HTTPError(411, "send a Content-Length")
                try:
                    length = int(headers.get("content-length") or 0)
                except ValueError:
                    raise HTTPError(400, "Content-Length: not a number") from None
                if length > MAX_BODY:
                    raise HTTPError(413, f"the body is larger than {MAX_BODY // 1024} KiB")
                body = self.rfile.read(length) if length else b""
            return Request(self.command, unquote(parts.path), parts.path, query, headers, body)

        def _handle(self) -> None:
            try:
                response = route(console, self._request())
            except HTTPError as exc:  # reading the request: no body size, too large
                response = Response.error(exc.status, exc.message, **exc.extra)
            except Exception:  # noqa: BLE001 - one bad request must never stop the console
                log.exception("web console: %s %s failed", self.command, self.path)
                response = Response.error(500, "internal error (logged by the daemon)")
            self._send(response)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815 - http.server naming

        def _send(self, response: Response) -> None:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            if "Cache-Control" not in response.headers:
                self.send_header("Cache-Control", "no-store")
            for key, value in {**SECURITY_HEADERS, **response.headers}.items():
                self.send_header(key, value)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server naming
            log.debug("web console: %s - %s", self.address_string(), format % args)

    return ConsoleHandler


def serve(console: Console) -> ThreadingHTTPServer:
    """Listen on the console's host and port (0: any free port) and serve in a thread."""
    server_class = _Server
    if ":" in console.host:
        server_class = type("_Server6", (_Server,), {"address_family": socket.AF_INET6})
    server = server_class((console.host.strip("[]"), console.port), make_handler(console))
    console.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True, name="web-console").start()
    return server
