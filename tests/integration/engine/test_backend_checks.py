"""The Backend methods ``validate --engine`` and ``test-rule`` use to look at a cluster:
index names, field types and query validation, on both engines (``make test-es``)."""

from __future__ import annotations

import uuid

import pytest

from logalert.engine import connect
from tests.integration.helpers import engine_options

MAPPINGS = {"properties": {"@timestamp": {"type": "date"}, "n": {"type": "long"}, "tag": {"type": "keyword"},
                           "message": {"type": "text", "fields": {"keyword": {"type": "keyword"}}}}}


@pytest.fixture(scope="module")
def backend(engine_url):
    backend = connect(engine_options(engine_url))
    yield backend
    backend.close()


@pytest.fixture
def index(engine, backend):
    name = f"checks_{uuid.uuid4().hex[:10]}"
    backend.create_index(f"{name}-1", settings={"index": {"number_of_shards": 1, "number_of_replicas": 0}},
                         mappings=MAPPINGS)
    yield name
    engine.indices.delete(index=f"{name}*", ignore_unavailable=True)


def test_resolve_indices(backend, index):
    assert backend.resolve_indices(f"{index}-*") == [f"{index}-1"]
    assert backend.resolve_indices(f"{index}-1,{index}-nope") == [f"{index}-1"]
    assert backend.resolve_indices(f"{index}-nope") == []
    assert backend.resolve_indices(f"{index}x-*") == []
    assert f"{index}-1" in backend.resolve_indices("*")


def test_field_types(backend, index):
    found = backend.field_types(f"{index}-*")
    assert found["n"] == {"long": True} and found["tag"] == {"keyword": True}
    assert found["message"] == {"text": False} and found["message.keyword"] == {"keyword": True}
    assert found["@timestamp"] == {"date": True}
    assert backend.field_types(f"{index}-*", ["mess*"]).keys() == {"message", "message.keyword"}
    assert backend.field_types(f"{index}x-*") == {}


def test_validate_query(backend, index):
    assert backend.validate_query(f"{index}-*", {"query_string": {"query": "message:error AND n:[1 TO 5]"}}) is None
    reason = backend.validate_query(f"{index}-*", {"query_string": {"query": "message:(error"}})
    assert reason and "parse" in reason.lower()
    assert backend.validate_query(f"{index}-*", {"term": {"n": "abc"}})
    assert backend.validate_query(f"{index}x-*", {"match_all": {}}) is None
