"""The Elasticsearch 7 code path (opensearch-py, ES's own point-in-time API) against answers
recorded from a real Elasticsearch 7.17.29 (the embedded node of tools/elasticsearch-engine,
LOGALERT_ENGINE_VERSION=7), replayed with ``responses``. ``make test`` runs no ES 7 engine,
so these keep the path covered; ``make test-matrix MATRIX_ENGINES=elasticsearch:7`` runs it
for real."""

from __future__ import annotations

import functools
import json
from pathlib import Path

import opensearchpy
import pytest
import responses

from logalert.engine import EngineError, connect

RECORDED = Path(__file__).resolve().parent / "es7_recorded"
URL = "http://es7.test:9200"


def recorded(name: str) -> dict:
    return json.loads((RECORDED / name).read_text())


@pytest.fixture
def es7(monkeypatch):
    # opensearch-py's default connection is urllib3; its requests-based one goes through the
    # same transport and lets ``responses`` answer.
    monkeypatch.setattr(opensearchpy, "OpenSearch", functools.partial(
        opensearchpy.OpenSearch, connection_class=opensearchpy.RequestsHttpConnection))
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.get(f"{URL}/", json=recorded("root.json"))
        yield mock


@pytest.fixture
def backend(es7):
    backend = connect({"es_host": "es7.test", "es_port": 9200})
    yield backend
    backend.close()


def test_get_root_of_7_17_picks_the_opensearch_client_with_elasticsearch_semantics(backend):
    assert type(backend).__name__ == "OpenSearchBackend"
    assert (backend.flavor, backend.major, backend.version) == ("elasticsearch", 7, "7.17.29")
    assert (backend.pit_open_path, backend.pit_id_key) == ("_pit", "id")


def test_search_reads_hits_sort_values_total_and_aggregations(backend, es7):
    es7.post(f"{URL}/logs-7/_search", json=recorded("search.json"))
    result = backend.search("logs-7", {"query": {"query_string": {"query": "level:ERROR"}}})
    assert [(h.index, h.id, h.source["level"]) for h in result.hits] == [("logs-7", "d1", "ERROR"),
                                                                          ("logs-7", "d3", "ERROR")]
    assert result.hits[0].sort == (1714557600000,)
    assert result.total == 2
    buckets = result.aggregations["by_level"]["buckets"]
    assert [(b["key"], b["doc_count"]) for b in buckets] == [("ERROR", 2)]
    assert es7.calls[-1].request.params == {"ignore_unavailable": "true"}


def test_count(backend, es7):
    es7.post(f"{URL}/logs-7/_count", json=recorded("count.json"))
    assert backend.count("logs-7", {"query": {"match_all": {}}}) == 2


def test_msearch_keeps_a_refused_search_apart_from_the_good_one(backend, es7):
    es7.post(f"{URL}/_msearch", json=recorded("msearch.json"))
    good, bad = backend.msearch([("logs-7", {"query": {"match": {"message": "payment"}}}),
                                 ("logs-7", {"query": {"range": {"@timestamp": {"gte": "not a date"}}}})])
    assert sorted(h.id for h in good.hits) == ["d1", "d2"] and good.total == 2
    assert isinstance(bad, EngineError) and "not a date" in (bad.reason or "")
    request = es7.calls[-1].request
    assert request.headers["content-type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in request.body.decode().splitlines()]
    assert lines[0] == {"index": "logs-7", "ignore_unavailable": True}


def test_paging_opens_es_point_in_time_pages_with_shard_doc_and_closes_it(backend, es7):
    pit_id = recorded("pit_open.json")["id"]
    es7.post(f"{URL}/logs-7/_pit", json=recorded("pit_open.json"))
    es7.post(f"{URL}/_search", json=recorded("pit_page1.json"))
    es7.post(f"{URL}/_search", json=recorded("pit_page2.json"))
    es7.delete(f"{URL}/_pit", json=recorded("pit_close.json"))
    hits = list(backend.search_all("logs-7", {"query": {"match_all": {}}, "sort": [{"@timestamp": "asc"}]},
                                   page_size=2, paged=True))
    assert [h.id for h in hits] == ["d1", "d2", "d3"]
    pages = [json.loads(c.request.body) for c in es7.calls if c.request.url.startswith(f"{URL}/_search")]
    assert [p["sort"][-1] for p in pages] == [{"_shard_doc": "asc"}] * 2
    assert pages[0]["pit"]["id"] == pit_id and "search_after" not in pages[0]
    assert pages[1]["search_after"] == list(hits[1].sort)
    close = es7.calls[-1].request
    assert (close.method, json.loads(close.body)) == ("DELETE", {"id": pit_id})


def test_a_refused_search_names_the_engines_reason(backend, es7):
    es7.post(f"{URL}/logs-7/_search", json=recorded("search_refused.json"), status=400)
    with pytest.raises(EngineError) as info:
        backend.search("logs-7", {"query": {"query_string": {"query": "level:("}}})
    assert "Failed to parse query [level:(]" in (info.value.reason or "")
