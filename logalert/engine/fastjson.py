"""Engine answers parsed with orjson.

Parsing search answers was the largest single CPU cost of a daemon with many rules (the
1,000-rule soak receives ~100 MB of JSON a minute); orjson parses into the same Python
objects faster than the standard library (a 2.6 MB answer of 5,000 log lines: 12-15 ms
against 17-19 ms on this project's 2-core benchmark machine, no memory saved). It reads an
integer beyond 64 bits as a float (a numeric trace id would lose digits), so an answer with
a run of 20 digits anywhere is read by the standard library instead; finding one costs a
regex scan in C. Requests are still written by the clients' own serializers (they are small).
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

_LONG_BYTES = re.compile(rb"\d{20}")
_LONG_TEXT = re.compile(r"\d{20}")


def loads(data: str | bytes) -> Any:
    long_number = (_LONG_BYTES if isinstance(data, (bytes, bytearray)) else _LONG_TEXT).search(data)
    return json.loads(data) if long_number else orjson.loads(data)


def opensearch_serializer() -> Any:
    """opensearch-py's serializer, reading with orjson."""
    from opensearchpy.serializer import JSONSerializer

    class OpenSearchJson(JSONSerializer):
        def loads(self, s: str) -> Any:
            try:
                return loads(s)
            except (ValueError, TypeError):
                return super().loads(s)  # raises the client's own SerializationError

    return OpenSearchJson()


def elasticsearch_serializers() -> dict[str, Any]:
    """The Elasticsearch client's JSON serializers (plain and compatibility mode, which
    8.x answers in), reading with orjson."""
    from elasticsearch.serializer import JsonSerializer

    class ElasticsearchJson(JsonSerializer):
        def json_loads(self, data: bytes) -> Any:
            return loads(data)

    reader = ElasticsearchJson()
    return {"application/json": reader, "application/vnd.elasticsearch+json": reader}
