"""OpenSearch (any version) and Elasticsearch 7, through opensearch-py."""

from __future__ import annotations

from typing import Any, Mapping

import opensearchpy
from opensearchpy import exceptions as os_exc

from logalert.engine.base import Backend, Refused
from logalert.engine.connection import Unauthorized, tls_problem
from logalert.errors import EngineError


class OpenSearchBackend(Backend):
    flavor = "opensearch"
    pit_open_path = "_search/point_in_time"
    pit_id_key = "pit_id"
    tiebreaker = {"_id": "asc"}

    def __init__(self, client: opensearchpy.OpenSearch, info: Mapping[str, Any], label: str, *,
                 credentials: str = ""):
        super().__init__(info)
        self._client = client
        self._label = label
        # The option to check when the engine answers 401 (es_username/es_password, …).
        self.credentials = credentials
        # Set on a 401: the pool connects afresh (a rotated secret is read again).
        self.stale = False
        if info.get("version", {}).get("distribution") != "opensearch":
            self.flavor = "elasticsearch"
            # Elasticsearch 7.10+ pages with its own point-in-time API.
            self.pit_open_path, self.pit_id_key = "_pit", "id"
            self.tiebreaker = {"_shard_doc": "asc"}

    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              body: Any = None, ndjson: bool = False) -> Any:
        headers = {"content-type": "application/x-ndjson"} if ndjson else None
        try:
            return self._client.transport.perform_request(method, path, params=params, body=body, headers=headers)
        except os_exc.SSLError as exc:
            raise EngineError(tls_problem(self._label, {}, exc), unreachable=True) from None
        except os_exc.ConnectionError as exc:
            raise EngineError(f"cannot reach the search engine at {self._label}", reason=_short(exc), unreachable=True) from None
        except os_exc.TransportError as exc:
            status = exc.status_code if isinstance(exc.status_code, int) else 0
            if status == 401:
                self.stale = True
                raise Unauthorized(self._label, _bare(path), self.credentials) from None
            raise Refused(f"{method} {path} refused (HTTP {exc.status_code})", status=status, body=exc.info,
                          fallback=str(exc.error)) from None

    def _close_pit(self, pit_id: str) -> None:
        if self.flavor == "opensearch":
            self._call("DELETE", "/_search/point_in_time", body={"pit_id": [pit_id]})
        else:
            self._call("DELETE", "/_pit", body={"id": pit_id})

    def close(self) -> None:
        self._client.close()


def _short(exc: Exception) -> str:
    info = getattr(exc, "info", None)
    text = str(info or exc)
    return text.splitlines()[0][:300]


def _bare(path: str) -> str:
    """The request path for a message: no query string (it may hold a scroll or PIT id)."""
    return path.split("?", 1)[0]
