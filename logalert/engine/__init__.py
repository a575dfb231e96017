"""Choosing and caching engine connections.

``GET /`` decides the client: OpenSearch (and Elasticsearch 7) through opensearch-py,
Elasticsearch 8/9 through the official client. The official 9.x client refuses servers
that do not answer ``X-Elastic-Product: Elasticsearch``, which OpenSearch never does.
"""

from __future__ import annotations

import threading
from typing import Any, Mapping

import requests

from logalert.engine.base import Backend, Refused
from logalert.engine.results import BulkItem, BulkResult, Hit, SearchResult, engine_reason
from logalert.errors import EngineError

__all__ = ["CONNECTION_OPTIONS", "Backend", "BulkItem", "BulkResult", "EngineError", "Hit", "Pool", "Refused",
           "SearchResult", "connect", "describe_target"]

# The options that identify an engine connection (rules sharing them share a client).
from logalert.options import BY_NAME, CONNECTION_OPTIONS, defaults

# Connection options a caller left out (a test's two-key dict) take their registry defaults.
_DEFAULTS = defaults(BY_NAME[name] for name in CONNECTION_OPTIONS)


def describe_target(options: Mapping[str, Any]) -> str:
    """``https://host:9200/prefix`` without credentials, for messages."""
    options = {**_DEFAULTS, **options}
    scheme = "https" if options.get("use_ssl") else "http"
    prefix = (options.get("es_url_prefix") or "").strip("/")
    return f"{scheme}://{options['es_host']}:{options['es_port']}" + (f"/{prefix}" if prefix else "")


def _auth(options: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if options.get("es_username"):
        out["http_auth"] = (options["es_username"], options.get("es_password") or "")
    if options.get("es_api_key"):
        out["api_key"] = options["es_api_key"]
    return out


def _probe(options: Mapping[str, Any]) -> dict[str, Any]:
    options = {**_DEFAULTS, **options}
    url = describe_target(options) + "/"
    headers = {"accept": "application/json"}
    auth = None
    if options.get("es_api_key"):
        headers["authorization"] = f"ApiKey {options['es_api_key']}"
    elif options.get("es_username"):
        auth = (options["es_username"], options.get("es_password") or "")
    verify: Any = options["verify_certs"]
    if verify and options.get("ca_certs"):
        verify = options["ca_certs"]
    cert = (options["client_cert"], options["client_key"]) if options.get("client_cert") and options.get("client_key") else options.get("client_cert")
    try:
        response = requests.get(url, headers=headers, auth=auth, verify=verify, cert=cert,
                                timeout=float(options["es_conn_timeout"]))
    except requests.RequestException as exc:
        raise EngineError(f"cannot reach the search engine at {describe_target(options)}",
                          reason=type(exc).__name__ + ": " + str(exc).split("(Caused by")[-1].strip(" )")[:200],
                          unreachable=True) from None
    if response.status_code in (401, 403):
        raise EngineError(f"the search engine at {describe_target(options)} refused our credentials (HTTP {response.status_code})",
                          reason=engine_reason(_json(response)), unreachable=True)
    if response.status_code >= 400:
        raise EngineError(f"GET / on {describe_target(options)} answered HTTP {response.status_code}",
                          reason=engine_reason(_json(response)), unreachable=True)
    body = _json(response)
    if not isinstance(body, dict) or "version" not in body:
        raise EngineError(f"{describe_target(options)} does not look like Elasticsearch or OpenSearch", unreachable=True)
    return body


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return response.text[:300]


def connect(options: Mapping[str, Any]) -> Backend:
    """Probe the engine and build the matching backend; raises EngineError."""
    options = {**_DEFAULTS, **options}
    info = _probe(options)
    distribution = info.get("version", {}).get("distribution", "elasticsearch")
    major = int(str(info["version"].get("number", "0")).split(".")[0] or 0)
    timeout = float(options["es_conn_timeout"])
    label = describe_target(options)
    common = {
        "verify_certs": bool(options["verify_certs"]),
        "ca_certs": options.get("ca_certs"),
        "client_cert": options.get("client_cert"),
        "client_key": options.get("client_key"),
    }
    if distribution == "opensearch" or major < 8:
        import opensearchpy

        from logalert.engine.opensearch import OpenSearchBackend

        client = opensearchpy.OpenSearch(
            hosts=[{"host": options["es_host"], "port": int(options["es_port"]),
                    "url_prefix": options.get("es_url_prefix") or ""}],
            use_ssl=bool(options.get("use_ssl")), timeout=timeout, max_retries=0,
            ssl_show_warn=False, **{k: v for k, v in common.items() if v is not None}, **_auth(options),
        )
        return OpenSearchBackend(client, info, label)

    import elasticsearch

    from logalert.engine.elasticsearch import ElasticsearchBackend

    auth = _auth(options)
    es_kwargs: dict[str, Any] = {"request_timeout": timeout, "max_retries": 0}
    if "http_auth" in auth:
        es_kwargs["basic_auth"] = auth["http_auth"]
    if "api_key" in auth:
        es_kwargs["api_key"] = auth["api_key"]
    if options.get("use_ssl"):
        es_kwargs.update({k: v for k, v in common.items() if v is not None})
    client = elasticsearch.Elasticsearch(label, **es_kwargs)
    return ElasticsearchBackend(client, info, label)


class Pool:
    """Backends shared by rules that use the same engine settings. A failed probe is not
    cached: the next run tries again, so an engine that is down at start-up is picked up
    when it comes back."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._backends: dict[tuple[Any, ...], Backend] = {}

    def get(self, key: tuple[Any, ...], options: Mapping[str, Any]) -> Backend:
        with self._lock:
            backend = self._backends.get(key)
        if backend is not None:
            return backend
        backend = connect(options)
        with self._lock:
            return self._backends.setdefault(key, backend)

    def close(self) -> None:
        with self._lock:
            backends, self._backends = list(self._backends.values()), {}
        for backend in backends:
            backend.close()
