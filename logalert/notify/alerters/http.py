"""One way for notifiers to make an HTTP request and classify its failure.

Every web-based notifier (Slack, PagerDuty, Opsgenie, Teams, …) has the same failure
modes, and the retry policy in ``logalert.notify.delivery`` only works if they are all
reported the same way: a timeout is retryable but may duplicate (the service may have
accepted the message), 429 carries Retry-After, 5xx and 408 are worth another try, any
other 4xx is the rule's fault and is not. Error text is masked here, once, because
``requests`` quotes URLs (webhook URLs are secrets) in its exceptions.

``requests`` is imported inside ``request``: rule loading imports every notifier
module, and ``validate`` should not pay for an HTTP client.
"""

from __future__ import annotations

import email.utils
import datetime as dt
import http.cookiejar
import threading
from dataclasses import dataclass
from typing import Any, Mapping
from urllib.parse import quote

from logalert.errors import DeliveryError
from logalert.options import ALERTER, BOOLEAN, STRING, Option
from logalert.secrets import mask, register

TIMEOUT = {"type": "number", "exclusiveMinimum": 0}
CA_CERTS = {"anyOf": [{"type": "string"}, {"type": "boolean"}]}


def transport_options(prefix: str, timeout: float | None = 10) -> tuple[Option, ...]:
    """``{prefix}_proxy``, ``_ca_certs``, ``_ignore_ssl_errors`` and ``_timeout``: the
    connection options ElastAlert2 gives most HTTP notifiers, under the notifier's prefix."""
    return (
        Option(f"{prefix}_proxy", STRING, scope=ALERTER, description="HTTP(S) proxy URL for this notifier"),
        Option(f"{prefix}_ca_certs", CA_CERTS, scope=ALERTER,
               description="CA bundle path to verify the service's certificate"),
        Option(f"{prefix}_ignore_ssl_errors", BOOLEAN, False, ALERTER),
        Option(f"{prefix}_timeout", TIMEOUT, timeout, ALERTER, description="seconds per request"),
    )


@dataclass(frozen=True)
class Transport:
    """Proxy, TLS verification and timeout of one notifier's requests."""

    proxy: str | None = None
    verify: bool | str = True
    timeout: float = 10.0
    cert: str | tuple[str, str] | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any], prefix: str) -> "Transport":
        verify: bool | str = not options.get(f"{prefix}_ignore_ssl_errors", False)
        ca = options.get(f"{prefix}_ca_certs")
        if verify and isinstance(ca, str) and ca:
            verify = ca
        timeout = options.get(f"{prefix}_timeout")
        return cls(proxy=options.get(f"{prefix}_proxy") or None, verify=verify,
                   timeout=float(timeout) if timeout else 10.0)


def retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header: delta-seconds or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return max(0.0, (when - dt.datetime.now(dt.timezone.utc)).total_seconds())


def request(service: str, method: str, url: str, *, transport: Transport = Transport(),
            json: Any = None, data: Any = None, headers: Mapping[str, str] | None = None,
            auth: Any = None, params: Mapping[str, Any] | None = None, ok: tuple[int, ...] = ()) -> Any:
    """Make the request; return the response when it succeeded (2xx, or a status in
    ``ok``), else raise DeliveryError saying whether a retry can help. ``service``
    names the notifier in messages ("PagerDuty"), never the URL."""
    import requests

    proxies = {"http": transport.proxy, "https": transport.proxy} if transport.proxy else None
    try:
        response = _session().request(method, url, json=json, data=data, headers=dict(headers or {}), auth=auth,
                                      params=params, timeout=transport.timeout, verify=transport.verify,
                                      proxies=proxies, cert=transport.cert)
    except requests.Timeout:
        # The service may have accepted the request before the timeout: a retry can duplicate it.
        raise DeliveryError(f"{service} did not answer within {transport.timeout:g} s (delivery unknown)",
                            retryable=True) from None
    except requests.exceptions.SSLError as exc:
        raise DeliveryError(mask(f"{service}: TLS error: {_reason(exc)}"), retryable=False) from None
    except requests.RequestException as exc:
        raise DeliveryError(mask(f"{service} unreachable: {_reason(exc)}"), retryable=True) from None
    status = response.status_code
    if 200 <= status < 300 or status in ok:
        return response
    text = " ".join(response.text.split())[:200]
    if status == 429:
        raise DeliveryError(mask(f"{service} rate limit (HTTP 429){': ' + text if text else ''}"), retryable=True,
                            retry_after=retry_after(response.headers.get("Retry-After")))
    retryable = status >= 500 or status == 408
    raise DeliveryError(mask(f"{service} answered HTTP {status}{': ' + text if text else ''}"), retryable=retryable)


_local = threading.local()


def _session() -> Any:
    """This thread's ``requests.Session``. ``requests.request`` opens and closes a session per
    call, so every alert paid a new TCP (and TLS) handshake; a soak with thousands of alerts
    to one webhook spent about 5 % of the daemon's CPU there. One session per thread because
    a Session is not documented as thread-safe and delivery runs on worker threads. Cookies
    are refused: one rule's notifier must never carry state (a login, a tracking id) that a
    service set for another rule's request."""
    session = getattr(_local, "session", None)
    if session is None:
        import requests

        session = requests.Session()
        session.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        _local.session = session
    return session


def _reason(exc: Exception) -> str:
    """The innermost useful words of a requests/urllib3 exception, on one line."""
    text = str(exc)
    for marker in ("Caused by ", "Failed to establish a new connection: "):
        if marker in text:
            text = text.split(marker, 1)[1]
    return " ".join(text.split()).rstrip(")")[:300]


def proxy_with_login(proxy: str | None, login: str | None, password: str | None) -> str | None:
    """The proxy URL carrying ``login``/``password``: requests takes proxy credentials only
    from there (an auth header would not reach the proxy of an https CONNECT tunnel)."""
    if not proxy or not login:
        return proxy
    scheme, sep, rest = proxy.partition("://")
    if not sep:
        scheme, rest = "http", proxy
    if "@" in rest:  # credentials already in the URL win
        return proxy
    user, secret = quote(login, safe=""), quote(password or "", safe="")
    register([password or "", secret])
    return f"{scheme}://{user}:{secret}@{rest}"


def rate_limited(service: str, response: Any, seconds: Any) -> DeliveryError:
    """A retryable 429 error; ``seconds`` from the service's JSON body, else Retry-After."""
    wait = float(seconds) if isinstance(seconds, (int, float)) and seconds >= 0 else None
    if wait is None:
        wait = retry_after(response.headers.get("Retry-After"))
    text = " ".join(response.text.split())[:200]
    return DeliveryError(mask(f"{service} rate limit (HTTP 429){': ' + text if text else ''}"),
                         retryable=True, retry_after=wait)


def json_body(response: Any) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}
