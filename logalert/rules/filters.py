"""A rule's ``filter:`` entries as query DSL clauses.

ElastAlert rule files wrap filters in several historic shapes
(``- query: {query_string: …}``, bare ``term``/``range``…, old ``not``/``and``/``or``);
they are normalised here into clauses the engine understands. Pure data, no engine:
the query builder and rule types that filter on their own (percentage_match) share it.
"""

from __future__ import annotations

from typing import Any, Mapping


def normalise_filter(item: Mapping[str, Any]) -> dict[str, Any]:
    """One rule filter entry as a query DSL clause."""
    if len(item) != 1:
        return {"bool": {"filter": [normalise_filter({k: v}) for k, v in item.items()]}}
    kind, body = next(iter(item.items()))
    if kind == "query":
        # ElastAlert's wrapper: {query: {query_string: …}} or {query: {match: …}}
        return normalise_filter(body) if isinstance(body, Mapping) and body else {"match_all": {}}
    if kind == "not":
        return {"bool": {"must_not": [normalise_filter(body)]}}
    if kind == "and":
        return {"bool": {"filter": [normalise_filter(f) for f in body]}}
    if kind == "or":
        return {"bool": {"should": [normalise_filter(f) for f in body], "minimum_should_match": 1}}
    if kind == "query_string" and isinstance(body, Mapping):
        body = dict(body)
        return {"query_string": body}
    return {kind: _plain(body)}


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
