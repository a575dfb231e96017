"""The Backend contract: every public method against the real engine.

``make test`` runs this on OpenSearch, ``make test-es`` on Elasticsearch 9; both must
give the same answers, since every stage above the engine package relies on these
methods alone (typed results, EngineError with the engine's reason).
"""

from __future__ import annotations

import os
import uuid

import pytest

from logalert.engine import Backend, EngineError, Hit, SearchResult, connect
from tests.integration.helpers import engine_options

LONG_N = {"properties": {"n": {"type": "long"}, "tag": {"type": "keyword"}}}


@pytest.fixture(scope="module")
def backend(engine_url):
    backend = connect(engine_options(engine_url))
    yield backend
    backend.close()


@pytest.fixture
def index(engine):
    """A fresh index name (not created); deleted afterwards with everything it matches."""
    name = f"contract_{uuid.uuid4().hex[:10]}"
    yield name
    engine.indices.delete(index=f"{name}*", ignore_unavailable=True)


def fill(backend: Backend, index: str, count: int, **extra) -> None:
    result = backend.bulk(index, [(f"d{n:03d}", {"n": n, "tag": "even" if n % 2 == 0 else "odd", **extra})
                                  for n in range(count)], refresh=True)
    assert result.ok, result.failed


def test_the_backend_matches_the_engine_under_test(backend):
    expected = os.environ.get("LOGALERT_TEST_ENGINE", "opensearch").strip() or "opensearch"
    assert backend.flavor == expected
    assert backend.major >= 2 and backend.describe().startswith(expected)
    assert backend.info()["version"]["number"] == backend.version


def test_create_index_twice_and_read_its_mappings(backend, index):
    assert backend.get_mappings(index) is None
    assert backend.create_index(index, settings={"index": {"number_of_shards": 1}}, mappings=LONG_N) is True
    assert backend.create_index(index, settings={"index": {"number_of_shards": 1}}, mappings=LONG_N) is False
    props = backend.get_mappings(index)["properties"]
    assert (props["n"]["type"], props["tag"]["type"]) == ("long", "keyword")


def test_create_index_refused_names_the_reason(backend):
    with pytest.raises(EngineError) as info:
        backend.create_index("Not_Lowercase")
    assert "lowercase" in (info.value.reason or "")


def test_index_get_and_mget_are_real_time(backend, index):
    backend.create_index(index, settings={"index": {"refresh_interval": "-1"}}, mappings=LONG_N)
    assert backend.index(index, {"n": 1}, id="one/1") == "one/1"
    generated = backend.index(index, {"n": 2})
    assert generated and generated != "one/1"
    assert backend.get(index, "one/1") == Hit(index, "one/1", {"n": 1})  # never refreshed: GET is real-time
    assert backend.get(index, "missing") is None
    assert backend.get(f"{index}_nope", "one/1") is None
    assert backend.mget(index, [generated, "missing", "one/1"]) == [
        Hit(index, generated, {"n": 2}), None, Hit(index, "one/1", {"n": 1})]
    assert backend.mget(f"{index}_nope", ["one/1"]) == [None]
    assert backend.mget(index, []) == []


def test_index_replaces_and_create_refuses_an_existing_id(backend, index):
    backend.create_index(index, mappings=LONG_N)
    backend.index(index, {"n": 1}, id="a")
    backend.index(index, {"n": 5}, id="a", refresh=True)
    assert backend.get(index, "a").source == {"n": 5}
    with pytest.raises(EngineError) as info:
        backend.index(index, {"n": 6}, id="a", op_type="create")
    assert "already exists" in (info.value.reason or "")


def test_bulk_reports_a_refused_record_and_stores_the_others(backend, index):
    backend.create_index(index, mappings=LONG_N)
    result = backend.bulk(index, [("a", {"n": 1}), ("b", {"n": "not a number"}), (None, {"n": 3})], refresh=True)
    assert [(i.id, i.ok) for i in result.items][:2] == [("a", True), ("b", False)]
    assert result.items[2].ok and result.items[2].id
    (refused,) = result.failed
    assert refused.status == 400 and "failed to parse field [n]" in (refused.error or "")
    with pytest.raises(EngineError, match=r"1 of 3 record\(s\) refused: .*failed to parse field \[n\]"):
        result.raise_if_failed("writing")
    assert backend.get(index, "a").source == {"n": 1} and backend.get(index, "b") is None
    assert backend.count(index, {"query": {"match_all": {}}}) == 2
    assert backend.bulk(index, []).items == ()


def test_delete_says_whether_there_was_a_document(backend, index):
    backend.create_index(index, mappings=LONG_N)
    backend.index(index, {"n": 1}, id="a")
    assert backend.delete(index, "a", refresh=True) is True
    assert backend.get(index, "a") is None
    assert backend.delete(index, "a") is False
    assert backend.delete(f"{index}_nope", "a") is False


def test_refresh_makes_writes_searchable(backend, index):
    backend.create_index(index, settings={"index": {"refresh_interval": "-1"}}, mappings=LONG_N)
    backend.bulk(index, [(f"d{n}", {"n": n}) for n in range(3)])
    assert backend.search(index, {"query": {"match_all": {}}, "track_total_hits": True}).total == 0
    backend.refresh(index)
    assert backend.search(index, {"query": {"match_all": {}}, "track_total_hits": True}).total == 3


def test_search_gives_hits_total_sort_values_and_aggregations(backend, index):
    backend.create_index(index, mappings=LONG_N)
    fill(backend, index, 5)
    result = backend.search(index, {
        "query": {"range": {"n": {"gte": 1}}}, "size": 2, "sort": [{"n": "desc"}], "track_total_hits": True,
        "aggs": {"top": {"max": {"field": "n"}}, "tags": {"terms": {"field": "tag"}}}})
    assert isinstance(result, SearchResult)
    assert [(h.index, h.id, dict(h.source), h.sort) for h in result.hits] == [
        (index, "d004", {"n": 4, "tag": "even"}, (4,)), (index, "d003", {"n": 3, "tag": "odd"}, (3,))]
    assert result.total == 4
    assert result.aggregations["top"]["value"] == 4.0
    assert {b["key"]: b["doc_count"] for b in result.aggregations["tags"]["buckets"]} == {"even": 2, "odd": 2}
    untracked = backend.search(index, {"query": {"match_all": {}}, "size": 0, "track_total_hits": False})
    assert (untracked.hits, untracked.total, untracked.aggregations) == ((), None, {})


def test_search_of_a_missing_index(backend, index):
    assert backend.search(f"{index}_nope", {"query": {"match_all": {}}}).hits == ()
    with pytest.raises(EngineError) as info:
        backend.search(f"{index}_nope", {"query": {"match_all": {}}}, ignore_unavailable=False)
    assert "no such index" in (info.value.reason or "")


def test_a_refused_search_carries_the_engine_reason(backend, index):
    fill(backend, index, 1)
    with pytest.raises(EngineError) as info:
        backend.search(index, {"query": {"query_string": {"query": "tag:/unterminated"}}})
    assert "Failed to parse query" in (info.value.reason or "") or "Cannot parse" in (info.value.reason or "")


def test_count(backend, index):
    backend.create_index(index, mappings=LONG_N)
    fill(backend, index, 7)
    assert backend.count(index, {"query": {"term": {"tag": "even"}}}) == 4
    assert backend.count(f"{index}_nope", {"query": {"match_all": {}}}) == 0


def test_msearch_keeps_a_bad_sub_search_to_itself(backend, index):
    backend.create_index(index, mappings=LONG_N)
    fill(backend, index, 4)
    good = {"query": {"term": {"tag": "odd"}}, "sort": [{"n": "asc"}], "track_total_hits": True}
    bad = {"query": {"query_string": {"query": "tag:/unterminated"}}}
    counted = {"query": {"match_all": {}}, "size": 0, "track_total_hits": True, "aggs": {"s": {"sum": {"field": "n"}}}}
    first, refused, third, missing = backend.msearch([(index, good), (index, bad), (index, counted),
                                                      (f"{index}_nope", counted)])
    assert [h.id for h in first.hits] == ["d001", "d003"] and first.total == 2
    assert isinstance(refused, EngineError) and not refused.unreachable
    assert "Failed to parse query" in (refused.reason or "") or "Cannot parse" in (refused.reason or "")
    assert (third.total, third.aggregations["s"]["value"]) == (4, 6.0)
    assert missing.total == 0 and missing.hits == ()
    assert backend.msearch([]) == []


def test_search_all_pages_through_a_point_in_time(backend, index):
    backend.create_index(index, mappings=LONG_N)
    fill(backend, index, 25)
    body = {"query": {"match_all": {}}, "sort": [{"n": "asc"}], "track_total_hits": True}
    pages = backend.search_all(index, body, 10)
    first = next(pages)  # a full first page: the point in time is open now
    backend.index(index, {"n": -1}, id="late", refresh=True)  # not in the snapshot
    rest = list(pages)
    assert [h.source["n"] for h in [first, *rest]] == list(range(25))  # in order, none lost or repeated
    assert len({h.id for h in rest}) == 24


def test_search_all_of_a_single_page(backend, index):
    backend.create_index(index, mappings=LONG_N)
    fill(backend, index, 3)
    hits = list(backend.search_all(index, {"query": {"match_all": {}}, "sort": [{"n": "desc"}]}, 10))
    assert [h.id for h in hits] == ["d002", "d001", "d000"]


def test_delete_by_query_in_batches_returns_the_number_deleted(backend, index):
    backend.create_index(index, mappings=LONG_N)
    fill(backend, index, 30)
    assert backend.delete_by_query(index, {"range": {"n": {"lt": 20}}}, batch_size=5) == 20
    assert backend.count(index, {"query": {"match_all": {}}}) == 10  # refreshed: visible at once
    assert backend.delete_by_query(index, {"range": {"n": {"lt": 20}}}) == 0
    assert backend.delete_by_query(index, {"match_all": {}}, batch_size=3, max_docs=4) == 4
    assert backend.count(index, {"query": {"match_all": {}}}) == 6
    assert backend.delete_by_query(f"{index}_nope", {"match_all": {}}) == 0

