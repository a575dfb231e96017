"""Choosing and caching engine connections.

``GET /`` decides the client: OpenSearch (and Elasticsearch 7) through opensearch-py,
Elasticsearch 8/9 through the official client. The official 9.x client refuses servers
that do not answer ``X-Elastic-Product: Elasticsearch``, which OpenSearch never does.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable, Mapping

from logalert.engine import connection
from logalert.engine.base import Backend, Refused
from logalert.engine.results import BulkItem, BulkResult, Hit, SearchResult
from logalert.errors import EngineError

__all__ = ["CONNECTION_OPTIONS", "Backend", "BulkItem", "BulkResult", "EngineError", "Hit", "Pool", "Refused",
           "SearchResult", "connect", "describe_target"]

# The options that identify an engine connection (rules sharing them share a client).
from logalert.options import BY_NAME, CONNECTION_OPTIONS, defaults

# Connection options a caller left out (a test's two-key dict) take their registry defaults.
_DEFAULTS = defaults(BY_NAME[name] for name in CONNECTION_OPTIONS)


def describe_target(options: Mapping[str, Any]) -> str:
    """``https://host:9200/prefix`` without credentials, for messages (``es_host``; with
    ``es_hosts``, how many more nodes may answer)."""
    options = {**_DEFAULTS, **options}
    all_nodes = connection.nodes(options)
    more = f" (+{len(all_nodes) - 1} more in es_hosts)" if len(all_nodes) > 1 else ""
    return connection.node_url(options, all_nodes[0]) + more


def connect(options: Mapping[str, Any]) -> Backend:
    """Probe the engine and build the matching backend; raises EngineError.

    The probe asks the nodes in order (``es_host``, then ``es_hosts``) and the client
    gets them all, the one that answered first: a node that goes down later is skipped
    by the client's own failover (one retry per other node, on connection errors only;
    a timeout is not retried, as the request may have been done)."""
    options = {**_DEFAULTS, **options}
    creds = connection.credentials(options)
    info, first = connection.probe(options, creds)
    distribution = info.get("version", {}).get("distribution", "elasticsearch")
    major = int(str(info["version"].get("number", "0")).split(".")[0] or 0)
    timeout = float(options["es_conn_timeout"])
    label = describe_target(options)
    ordered = [first] + [node for node in connection.nodes(options) if node != first]
    connection.warn_unverified(options, [connection.node_url(options, node) for node in ordered])
    retries = len(ordered) - 1
    if distribution == "opensearch" or major < 8:
        import opensearchpy

        from logalert.engine.opensearch import OpenSearchBackend

        kwargs: dict[str, Any] = {"use_ssl": bool(options.get("use_ssl")), "timeout": timeout,
                                  "max_retries": retries, "retry_on_status": (), "ssl_show_warn": False,
                                  **connection.tls_kwargs(options)}
        if creds.basic:
            kwargs["http_auth"] = creds.basic
        if creds.header:  # opensearch-py has no api_key argument: the header is the same
            kwargs["headers"] = {"authorization": creds.header}
        from logalert.engine.fastjson import opensearch_serializer

        client = opensearchpy.OpenSearch(
            serializer=opensearch_serializer(),
            hosts=[{"host": host, "port": port, "url_prefix": connection.prefix(options)} for host, port in ordered],
            **kwargs)
        return OpenSearchBackend(client, info, label, credentials=creds.option)

    import elasticsearch

    from logalert.engine.elasticsearch import ElasticsearchBackend
    from logalert.engine.fastjson import elasticsearch_serializers

    es_kwargs: dict[str, Any] = {"serializers": elasticsearch_serializers(), "request_timeout": timeout,
                                 "max_retries": retries, "retry_on_status": ()}
    if creds.basic:
        es_kwargs["basic_auth"] = creds.basic
    elif creds.option == connection.API_KEY:
        es_kwargs["api_key"] = creds.header.removeprefix("ApiKey ") if creds.header else None
    elif creds.option == connection.BEARER:
        es_kwargs["bearer_auth"] = creds.header.removeprefix("Bearer ") if creds.header else None
    if options.get("use_ssl"):
        es_kwargs.update(connection.tls_kwargs(options), ssl_show_warn=False)
    client = elasticsearch.Elasticsearch([connection.node_url(options, node) for node in ordered], **es_kwargs)
    backend = ElasticsearchBackend(client, info, label)
    backend.credentials = creds.option
    return backend


class Pool:
    """Backends shared by rules that use the same engine settings. A failed probe is not
    cached: the next run tries again, so an engine that is down at start-up is picked up
    when it comes back; nor is a backend the engine answered 401 (``stale``): a rotated
    password is read again from its file. A replaced backend is closed only after
    ``RETIRE_AFTER`` seconds, as other rules' runs may still be in a request on it."""

    RETIRE_AFTER = 600.0  # longer than any request with its retries

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._backends: dict[tuple[Any, ...], Backend] = {}
        self._retired: list[tuple[float, Backend]] = []
        self._clock = clock

    def get(self, key: tuple[Any, ...], options: Mapping[str, Any]) -> Backend:
        key = tuple(tuple(v) if isinstance(v, list) else v for v in key)  # es_hosts may be a list
        now = self._clock()
        with self._lock:
            backend = self._backends.get(key)
            if backend is not None and getattr(backend, "stale", False):
                # It was refused its credentials: connect again, with the secret files read again.
                del self._backends[key]
                self._retired.append((now, backend))
                backend = None
            done = []
            while self._retired and now - self._retired[0][0] >= self.RETIRE_AFTER:  # oldest first
                done.append(self._retired.pop(0)[1])
        for old in done:
            old.close()
        if backend is not None:
            return backend
        backend = connect(options)
        with self._lock:
            kept = self._backends.setdefault(key, backend)
        if kept is not backend:
            backend.close()  # another thread connected first; this one was never handed out
        return kept

    def close(self) -> None:
        with self._lock:
            backends, self._backends = list(self._backends.values()), {}
            backends += [b for _, b in self._retired]
            self._retired = []
        for backend in backends:
            backend.close()
