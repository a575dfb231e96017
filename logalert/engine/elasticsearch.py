"""Elasticsearch 8 and 9 through the official client, speaking the server's major
version: the client would otherwise ask for ``compatible-with=<its own major>``."""

from __future__ import annotations

from typing import Any, Mapping

import elastic_transport
import elasticsearch

from logalert.engine.base import Backend, Refused
from logalert.engine.connection import Unauthorized
from logalert.errors import EngineError


class ElasticsearchBackend(Backend):
    flavor = "elasticsearch"
    pit_open_path = "_pit"
    pit_id_key = "id"
    credentials = ""  # the option to check on a 401 (set by connect)
    stale = False  # set on a 401: the pool connects afresh

    def __init__(self, client: elasticsearch.Elasticsearch, info: Mapping[str, Any], label: str):
        super().__init__(info)
        self._client = client
        self._label = label
        major = self.major or 8
        self._json = f"application/vnd.elasticsearch+json; compatible-with={major}"
        self._ndjson = f"application/vnd.elasticsearch+x-ndjson; compatible-with={major}"

    def _call(self, method: str, path: str, *, params: Mapping[str, Any] | None = None,
              body: Any = None, ndjson: bool = False) -> Any:
        headers = {"accept": self._json}
        if body is not None:
            headers["content-type"] = self._ndjson if ndjson else self._json
        try:
            return self._client.perform_request(method, path, params=params, headers=headers, body=body).body
        except elasticsearch.ApiError as exc:
            if exc.meta.status == 401:
                self.stale = True
                raise Unauthorized(self._label, path.split("?", 1)[0], self.credentials) from None
            raise Refused(f"{method} {path} refused (HTTP {exc.meta.status})", status=int(exc.meta.status),
                          body=exc.body) from None
        except elastic_transport.ConnectionError as exc:
            raise EngineError(f"cannot reach the search engine at {self._label}", reason=str(exc)[:300], unreachable=True) from None
        except elastic_transport.TransportError as exc:
            raise EngineError(f"{method} {path} failed", reason=str(exc)[:300], unreachable=True) from None

    def _close_pit(self, pit_id: str) -> None:
        self._call("DELETE", "/_pit", body={"id": pit_id})

    def close(self) -> None:
        self._client.close()
