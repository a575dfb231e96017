"""Helpers for tests that talk to a real OpenSearch/Elasticsearch engine.

They build log documents shaped like those an EFK stack (Fluentd/Fluent Bit
with the kubernetes metadata filter, shipping into ``logstash-YYYY.MM.DD``
daily indices) writes, and load them through ``_bulk``.

Only ``opensearch-py`` is needed; it is imported lazily by :func:`make_client`
so that this module can be imported without it.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, Iterable, Mapping

__all__ = [
    "DEFAULT_PREFIX",
    "bulk_load",
    "daily_index",
    "delete_index_templates",
    "delete_indices",
    "efk_doc",
    "format_ts",
    "make_client",
    "parse_ts",
]

DEFAULT_PREFIX = "logstash"


def make_client(url: str, **kwargs: Any):
    """An ``opensearchpy.OpenSearch`` client for ``url`` (e.g. ``http://127.0.0.1:9250``)."""
    from opensearchpy import OpenSearch

    options: dict[str, Any] = {"timeout": 30, "max_retries": 2, "retry_on_timeout": True}
    options.update(kwargs)
    return OpenSearch(hosts=[url], **options)


def parse_ts(value: datetime | date | str) -> datetime:
    """A timezone-aware UTC datetime from a datetime (naive = UTC), a date or an ISO 8601 string."""
    if isinstance(value, str):
        text = value.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        value = datetime.fromisoformat(text)
    elif isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if not isinstance(value, datetime):
        raise TypeError(f"expected datetime, date or ISO 8601 string, got {type(value).__name__}")
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def format_ts(value: datetime | date | str) -> str:
    """ISO 8601 UTC with milliseconds and a ``Z``: ``2024-05-01T12:00:00.000Z``."""
    ts = parse_ts(value)
    return ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"


def daily_index(prefix: str, dt: datetime | date | str) -> str:
    """The daily index for ``dt`` (UTC day): ``daily_index("logstash", dt) == "logstash-2024.05.01"``."""
    return f"{prefix}-{parse_ts(dt):%Y.%m.%d}"


_NGINX_STATUS_BY_LEVEL = {"ERROR": 500, "FATAL": 503, "CRITICAL": 503, "WARN": 429, "WARNING": 429}


def efk_doc(ts: datetime | date | str, level: str, message: str, **overrides: Any) -> dict[str, Any]:
    """A log document as Fluentd + the kubernetes metadata filter ship it.

    Fields: ``@timestamp`` (ISO 8601, ``Z``), ``log`` (the raw container line),
    ``message``, ``level``, ``stream``, ``kubernetes.{namespace_name, pod_name,
    container_name, host, labels.app}``, ``host``, the nginx-style
    ``status`` (int), ``response_time`` (float seconds), ``client_ip``,
    ``request`` and ``user``. Values are deterministic.

    ``overrides`` replace fields. A key with dots or double underscores names
    a nested field (``**{"kubernetes.namespace_name": "billing"}`` or
    ``kubernetes__labels__app="api"``); a value of ``None`` removes the field.
    A ``_id`` override is kept in the doc and used as the document id by
    :func:`bulk_load`.
    """
    stamp = format_ts(ts)
    level = str(level)
    app = "checkout"
    namespace = "shop"
    status = _NGINX_STATUS_BY_LEVEL.get(level.upper(), 200)
    doc: dict[str, Any] = {
        "@timestamp": stamp,
        "log": f"{stamp} {level.upper()} [{app}] {message}\n",
        "message": message,
        "level": level,
        "stream": "stderr" if level.upper() in ("ERROR", "FATAL", "CRITICAL") else "stdout",
        "kubernetes": {
            "namespace_name": namespace,
            "pod_name": f"{app}-7d9f8b6c5-x2kqz",
            "container_name": app,
            "host": "node-1",
            "labels": {"app": app},
        },
        "host": "node-1",
        "status": status,
        "response_time": 0.042,
        "client_ip": "10.0.0.17",
        "request": "GET /api/cart HTTP/1.1",
        "user": "alice",
    }
    for key, value in overrides.items():
        path = key.replace("__", ".").split(".") if key != "_id" else [key]
        _set_path(doc, path, value)
    return doc


def _set_path(doc: dict[str, Any], path: list[str], value: Any) -> None:
    node = doc
    for part in path[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            if value is None:
                return
            child = {}
            node[part] = child
        node = child
    if value is None:
        node.pop(path[-1], None)
    else:
        node[path[-1]] = value


def bulk_load(
    client,
    index: str | None,
    docs: Iterable[Mapping[str, Any]],
    refresh: bool = True,
    prefix: str = DEFAULT_PREFIX,
) -> list[tuple[str, str]]:
    """Index ``docs`` with one ``_bulk`` request and return ``[(index, _id), ...]`` in order.

    With ``index=None`` each doc goes to ``daily_index(prefix, doc["@timestamp"])``.
    A doc's ``_id`` key, if any, becomes its id (and is not stored in the source).
    Raises ``RuntimeError`` when any item fails. With ``refresh`` the touched
    indices are refreshed so the docs are searchable at once.
    """
    lines: list[str] = []
    for doc in docs:
        source = dict(doc)
        doc_id = source.pop("_id", None)
        target = index
        if target is None:
            if "@timestamp" not in source:
                raise ValueError("bulk_load(index=None) needs an @timestamp in every doc")
            target = daily_index(prefix, source["@timestamp"])
        action: dict[str, Any] = {"_index": target}
        if doc_id is not None:
            action["_id"] = str(doc_id)
        lines.append(json.dumps({"index": action}))
        lines.append(json.dumps(source))
    if not lines:
        return []
    response = client.bulk(body="\n".join(lines) + "\n")
    items = response.get("items", [])
    if response.get("errors"):
        failures = [item["index"] for item in items if item.get("index", {}).get("error")]
        raise RuntimeError(f"_bulk: {len(failures)} of {len(items)} items failed; first: {failures[0]}")
    written = [(item["index"]["_index"], item["index"]["_id"]) for item in items]
    if refresh:
        client.indices.refresh(index=",".join(sorted({name for name, _ in written})))
    return written


def _refuse_everything(pattern: str) -> None:
    if not pattern or pattern.strip() in ("*", "_all", "-*"):
        raise ValueError(f"refusing to delete everything (pattern {pattern!r}); name a prefix")


def delete_indices(client, pattern: str) -> None:
    """Delete the indices matching ``pattern`` (wildcards allowed); missing ones are fine."""
    _refuse_everything(pattern)
    client.indices.delete(
        index=pattern,
        params={"ignore_unavailable": "true", "allow_no_indices": "true", "expand_wildcards": "open,closed"},
    )


def delete_index_templates(client, pattern: str) -> None:
    """Delete the composable index templates whose name matches ``pattern``."""
    _refuse_everything(pattern)
    try:
        found = client.indices.get_index_template(name=pattern)
    except Exception as exc:  # 404 when none matches
        if getattr(exc, "status_code", None) == 404:
            return
        raise
    for template in found.get("index_templates", []):
        client.indices.delete_index_template(name=template["name"])
