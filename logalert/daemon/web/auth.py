"""Who may use the console: one access token, compared in constant time.

- The API takes ``Authorization: Bearer TOKEN``. A browser never adds that header on
  its own, so Bearer requests need no CSRF token.
- The browser logs in with a form (POST /login) and gets a session cookie: HttpOnly
  (scripts cannot read it), SameSite=Strict (other sites' pages do not send it), signed
  with a key derived from the token (changing the token ends every session). Writes
  with the cookie also need ``X-CSRF-Token`` (from the page's ``<meta>``; a form field
  for /logout) and, when the browser sends ``Origin``, that origin must be this server.
- Without a configured token the console generates one per start, printed once — only
  on a loopback address; any other bind address without a token is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from dataclasses import dataclass
from http.cookies import CookieError, SimpleCookie
from urllib.parse import urlsplit

COOKIE = "logalert_session"
SESSION_SECONDS = 12 * 3600
MIN_TOKEN = 16


class TokenRequired(ValueError):
    """A non-loopback bind address without a token."""


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def resolve_token(configured: str | None, host: str) -> tuple[str, bool]:
    """(token, generated). A host other than loopback needs a configured token."""
    if configured and configured.strip():
        return configured.strip(), False
    if not is_loopback(host):
        raise TokenRequired(
            f"web_host {host!r} is not a loopback address: set web_token (or web_token_file, or "
            "LOGALERT_WEB_TOKEN) before the console listens there")
    return secrets.token_urlsafe(24), True


@dataclass(frozen=True)
class Caller:
    """An authenticated request: by Bearer token, or by a session cookie (``session``)."""

    via: str  # "bearer" | "cookie"
    session: str = ""


class Auth:
    def __init__(self, token: str, *, clock=time.time):
        self._token = token.encode("utf-8")
        self._key = hashlib.sha256(b"logalert-web-session\0" + self._token).digest()
        self._clock = clock
        self._ended: set[str] = set()  # sessions logged out before they expired
        self._lock = threading.Lock()

    # --- the token ---------------------------------------------------------------
    def token_ok(self, given: str | None) -> bool:
        if not given:
            return False
        return hmac.compare_digest(given.strip().encode("utf-8"), self._token)

    def bearer(self, header: str | None) -> bool | None:
        """None: no Authorization header; else whether it carries the token."""
        if not header:
            return None
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and self.token_ok(value)

    # --- sessions ----------------------------------------------------------------
    def _sign(self, payload: str) -> str:
        return hmac.new(self._key, payload.encode(), hashlib.sha256).hexdigest()

    def new_session(self) -> str:
        payload = f"{int(self._clock()) + SESSION_SECONDS}.{secrets.token_urlsafe(16)}"
        return f"{payload}.{self._sign(payload)}"

    def session(self, cookie_header: str | None) -> str | None:
        """The session id of a valid cookie, else None."""
        if not cookie_header:
            return None
        try:
            jar = SimpleCookie(cookie_header)
        except CookieError:
            return None
        morsel = jar.get(COOKIE)
        if morsel is None:
            return None
        expires, _, rest = morsel.value.partition(".")
        nonce, _, signature = rest.partition(".")
        if not (expires.isdigit() and nonce and signature):
            return None
        if not hmac.compare_digest(signature, self._sign(f"{expires}.{nonce}")):
            return None
        with self._lock:
            if int(expires) < self._clock() or nonce in self._ended:
                return None
        return nonce

    def end(self, session: str) -> None:
        with self._lock:
            self._ended.add(session)

    def csrf(self, session: str) -> str:
        return self._sign("csrf\0" + session)[:32]

    def csrf_ok(self, session: str, given: str | None) -> bool:
        return bool(given) and hmac.compare_digest(given.encode(), self.csrf(session).encode())

    @staticmethod
    def cookie(value: str, max_age: int = SESSION_SECONDS) -> str:
        return f"{COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}"

    # --- a request -----------------------------------------------------------------
    def caller(self, authorization: str | None, cookie: str | None) -> Caller | None:
        ok = self.bearer(authorization)
        if ok is not None:  # a wrong Bearer token is a wrong token, whatever the cookie says
            return Caller("bearer") if ok else None
        session = self.session(cookie)
        return Caller("cookie", session) if session else None


def same_origin(origin: str | None, host: str | None) -> bool:
    """A browser's ``Origin`` names this server (absent: not a browser, or same-origin GET)."""
    if not origin:
        return True
    if origin == "null" or not host:
        return False
    return urlsplit(origin).netloc.lower() == host.lower()
