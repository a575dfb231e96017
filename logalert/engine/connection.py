"""What an engine connection is made of — the nodes to try, the credentials, TLS — and
the one-line messages for when one of them is wrong.

Users meet these messages first, usually in a pod's log: each names the node
(``https://host:port``) and the option to change, and never a credential. The probe
(``GET /``) runs through ``requests`` rather than a client library, because its
exceptions tell TLS problems apart (no trusted CA, a client certificate demanded,
plain HTTP on a TLS port) where the clients fold them into one ConnectionError.
"""

from __future__ import annotations

import logging
import re
import warnings
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import requests

from logalert import secrets
from logalert.engine.base import Refused
from logalert.errors import EngineError

log = logging.getLogger(__name__)

# ElastAlert2's precedence: an API key wins over a bearer token, which wins over basic auth.
BASIC, BEARER, API_KEY = "es_username/es_password", "es_bearer", "es_api_key"


@dataclass(frozen=True)
class Credentials:
    """The one credential a connection sends. ``option`` names what to check when the
    engine refuses it; ``header`` is the whole ``Authorization`` value (api key, bearer);
    ``basic`` the (user, password) pair."""

    option: str = ""
    header: str | None = None
    basic: tuple[str, str] | None = None


def credentials(options: Mapping[str, Any]) -> Credentials:
    """The credential the options ask for, with secrets read from their files again
    (``es_password_file`` and co.): a fixed or rotated secret is used on the next connect."""
    api_key = secrets.fresh(options.get("es_api_key"))
    if api_key:
        return Credentials(API_KEY, header=f"ApiKey {api_key}")
    bearer = secrets.fresh(options.get("es_bearer"))
    if bearer:
        return Credentials(BEARER, header=f"Bearer {bearer}")
    if options.get("es_username"):
        return Credentials(BASIC, basic=(str(options["es_username"]), secrets.fresh(options.get("es_password")) or ""))
    return Credentials()


def nodes(options: Mapping[str, Any]) -> list[tuple[str, int]]:
    """``es_host:es_port`` first, then each ``es_hosts`` entry not already listed (ElastAlert2
    names the primary in es_host and the cluster's nodes in es_hosts; a port left out is
    es_port's). A list, or one comma-separated string as LOGALERT_ES_HOSTS gives it."""
    port = int(options["es_port"])
    found = [(str(options["es_host"]), port)]
    raw = options.get("es_hosts") or []
    entries = raw.split(",") if isinstance(raw, str) else list(raw)
    for entry in entries:
        node = _node(str(entry).strip(), port)
        if node is not None and node not in found:
            found.append(node)
    return found


_NODE = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^\s,:/\[\]]+))(?::(?P<port>[0-9]{1,5}))?$")


def _node(text: str, default_port: int) -> tuple[str, int] | None:
    found = _NODE.match(text)
    if not found:
        return None  # the schema refused it already; a config built in code gets no node
    return found.group("v6") or found.group("host"), int(found.group("port") or default_port)


def scheme(options: Mapping[str, Any]) -> str:
    return "https" if options.get("use_ssl") else "http"


def prefix(options: Mapping[str, Any]) -> str:
    text = (options.get("es_url_prefix") or "").strip("/")
    return f"/{text}" if text else ""


def node_url(options: Mapping[str, Any], node: tuple[str, int]) -> str:
    """``https://host:port/prefix`` of one node, without credentials, for messages."""
    host = f"[{node[0]}]" if ":" in node[0] else node[0]
    return f"{scheme(options)}://{host}:{node[1]}{prefix(options)}"


def tls_kwargs(options: Mapping[str, Any]) -> dict[str, Any]:
    """verify_certs / ca_certs / client_cert / client_key as both clients take them."""
    out: dict[str, Any] = {"verify_certs": bool(options.get("verify_certs", True))}
    for name in ("ca_certs", "client_cert", "client_key"):
        if options.get(name):
            out[name] = options[name]
    return out


class Unauthorized(Refused):
    """The engine (or the proxy in front of it) refused our credentials: HTTP 401. It
    counts as unreachable (nothing of this connection can work until the credential
    is fixed), so commands stop at the first one instead of repeating it per rule."""

    def __init__(self, url: str, path: str, option: str, *, status: int = 401):
        hint = (f"check {option}" if option else
                "the cluster asks for credentials: set es_username/es_password, es_api_key or es_bearer")
        super().__init__(f"{status} from {url}{path}: {hint}", status=status, body=None)
        self.unreachable = True


def forbidden(url: str, path: str, option: str, reason: str | None) -> Refused:
    """HTTP 403: the credential is valid but not allowed this request."""
    who = f"the user of {option}" if option else "anonymous requests"
    return Refused(f"403 from {url}{path}: {who} may not do this", status=403, body=None, fallback=reason)


def probe(options: Mapping[str, Any], creds: Credentials) -> tuple[dict[str, Any], tuple[str, int]]:
    """``GET /`` on the nodes in order until one answers; its JSON and that node. A node
    that cannot be reached (refused, timed out) makes way for the next; any answer,
    and any TLS problem, is the cluster's verdict and is raised at once."""
    all_nodes = nodes(options)
    reasons: list[str] = []
    for node in all_nodes:
        try:
            return _get_root(options, creds, node), node
        except _NodeDown as down:
            reasons.append(down.reason if len(all_nodes) == 1 else f"{node_url(options, node)}: {down.reason}")
    where = node_url(options, all_nodes[0]) if len(all_nodes) == 1 else f"any of {len(all_nodes)} nodes"
    raise EngineError(f"cannot reach the search engine at {where}", reason="; ".join(reasons), unreachable=True)


class _NodeDown(Exception):
    def __init__(self, reason: str):
        self.reason = reason


def _get_root(options: Mapping[str, Any], creds: Credentials, node: tuple[str, int]) -> dict[str, Any]:
    url = node_url(options, node)
    headers = {"accept": "application/json"}
    if creds.header:
        headers["authorization"] = creds.header
    verify: Any = bool(options.get("verify_certs", True))
    if verify and options.get("ca_certs"):
        verify = options["ca_certs"]
    cert: Any = None
    if options.get("client_cert"):
        cert = (options["client_cert"], options["client_key"]) if options.get("client_key") else options["client_cert"]
    try:
        with warnings.catch_warnings():
            # verify_certs: false is said once, as our own warning (connect), not per request.
            warnings.simplefilter("ignore", _insecure_warning())
            response = requests.get(url + "/", headers=headers, auth=creds.basic, verify=verify, cert=cert,
                                    timeout=float(options.get("es_conn_timeout") or 20))
    except requests.exceptions.SSLError as exc:
        raise EngineError(tls_problem(url, options, exc), unreachable=True) from None
    except (requests.ConnectionError, requests.Timeout) as exc:
        text = str(exc)
        if _client_cert_demanded(text):
            raise EngineError(tls_problem(url, options, exc), unreachable=True) from None
        raise _NodeDown(_reason(exc) + _reset_hint(options, text)) from None
    except (OSError, ValueError) as exc:  # a missing client_cert or ca_certs file, a bad URL
        raise EngineError(f"cannot connect to {url}", reason=" ".join(str(exc).split())[:200], unreachable=True) from None
    if response.status_code == 401:
        raise Unauthorized(url, "/", creds.option)
    if response.status_code == 403:
        raise forbidden(url, "/", creds.option, _body_reason(response))
    if response.status_code >= 400:
        hint = " (check es_url_prefix)" if response.status_code == 404 else ""
        raise EngineError(f"GET / on {url} answered HTTP {response.status_code}{hint}", reason=_body_reason(response),
                          unreachable=True)
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "version" not in body:
        hint = " (check es_url_prefix)" if response.status_code < 300 else ""
        raise EngineError(f"{url} does not look like Elasticsearch or OpenSearch{hint}", unreachable=True)
    return body


def tls_problem(url: str, options: Mapping[str, Any], exc: BaseException) -> str:
    """One line for a failed TLS handshake: what went wrong and the option that fixes it."""
    text = str(exc)
    lowered = text.lower()
    if "certificate_verify_failed" in lowered or "certificate verify failed" in lowered:
        why = _verify_reason(text)
        ca = options.get("ca_certs")
        if "hostname mismatch" in lowered or "ip address mismatch" in lowered:
            return (f"the TLS certificate of {url} is not valid for this host name ({why}): "
                    f"connect by a name the certificate lists, or set verify_certs: false")
        if ca:
            return (f"cannot verify the TLS certificate of {url}: {why}; ca_certs ({ca}) does not hold the CA "
                    "that signed it")
        return (f"cannot verify the TLS certificate of {url}: {why}; set ca_certs to the CA that signed it "
                "(or verify_certs: false)")
    if _client_cert_demanded(text):
        if options.get("client_cert"):
            return f"{url} refused our client certificate ({options['client_cert']}): {_ssl_words(text)}"
        return f"{url} asks for a client certificate: set client_cert and client_key"
    if ("eof occurred" in lowered or "unexpected eof" in lowered) and not options.get("client_cert"):
        # What a client sees when the server drops a handshake that brought no certificate.
        return (f"{url} closed the connection during the TLS handshake, as a server that requires a client "
                "certificate does: set client_cert and client_key")
    if "wrong_version_number" in lowered or "record layer failure" in lowered or "http_request" in lowered:
        return f"{url} does not speak TLS: set use_ssl: false, or check es_port"
    if "pem lib" in lowered or "key values mismatch" in lowered:
        return f"cannot use client_cert/client_key ({options.get('client_cert')}): {_ssl_words(text)}"
    return f"TLS handshake with {url} failed: {_ssl_words(text)}"


def _client_cert_demanded(text: str) -> bool:
    lowered = text.lower()
    return "certificate required" in lowered or "certificate_required" in lowered or \
        "handshake failure" in lowered and "alert" in lowered


def _reset_hint(options: Mapping[str, Any], text: str) -> str:
    if "reset by peer" not in text.lower() and "connection aborted" not in text.lower():
        return ""
    if not options.get("use_ssl"):
        return " (a TLS port resets plain HTTP: use_ssl: true?)"
    if not options.get("client_cert"):
        return " (a server requiring a client certificate resets without one: client_cert and client_key?)"
    return ""


def _verify_reason(text: str) -> str:
    found = re.search(r"certificate verify failed: ([^(')\"]+)", text)
    return found.group(1).strip() if found else "certificate verify failed"


def _ssl_words(text: str) -> str:
    found = re.search(r"\[SSL[^\]]*\] ([^(')\"]+)", text)
    return (found.group(1) if found else " ".join(text.split())).strip()[:200]


def _reason(exc: BaseException) -> str:
    """The innermost words of a requests/urllib3 error (``Connection refused``), one line."""
    text = str(exc)
    if "reset by peer" in text.lower():
        return "the server reset the connection"
    if "RemoteDisconnected" in text:
        return "the server closed the connection without answering"
    for marker in ("Failed to establish a new connection: ", "Caused by "):
        if marker in text:
            text = text.split(marker, 1)[1]
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", text.strip())
    return " ".join(text.split()).rstrip(")'\"")[:200]


def _body_reason(response: requests.Response) -> str | None:
    from logalert.engine.results import engine_reason

    try:
        return engine_reason(response.json()) or None
    except ValueError:
        return " ".join(response.text.split())[:200] or None


def _insecure_warning() -> type[Warning]:
    import urllib3

    return urllib3.exceptions.InsecureRequestWarning


def warn_unverified(options: Mapping[str, Any], targets: Sequence[str]) -> None:
    """verify_certs: false is allowed (a lab cluster with a self-made certificate), and
    said once per connection: anyone on the network path can read what is sent."""
    if options.get("use_ssl") and not options.get("verify_certs", True):
        log.warning("verify_certs is false: the TLS certificate of %s is not checked; set ca_certs to the CA that "
                    "signed it instead", ", ".join(targets))
