"""Engine answers (recorded from OpenSearch 2.19 and Elasticsearch) -> typed results."""

from __future__ import annotations

import pytest

from logalert.engine.results import BulkItem, BulkResult, Hit, SearchResult, total_of
from logalert.errors import EngineError

# One sub-answer of POST /_msearch: a match_all with a max aggregation.
SEARCH_200 = {
    "took": 129, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
    "hits": {"total": {"value": 1, "relation": "eq"}, "max_score": 1.0,
             "hits": [{"_index": "shape_t2", "_id": "a", "_score": 1.0, "_source": {"n": 1, "t": "x"}}]},
    "aggregations": {"m": {"value": 1.0}}, "status": 200,
}

# size 0 with track_total_hits false: no total at all.
UNTRACKED_200 = {"took": 63, "timed_out": False, "_shards": {"total": 1, "successful": 1, "skipped": 0, "failed": 0},
                 "hits": {"max_score": None, "hits": []}, "status": 200}

# A sorted page: each hit carries its sort values (search_after needs them).
SORTED_PAGE = {"hits": {"total": {"value": 10000, "relation": "gte"}, "hits": [
    {"_index": "logs-1", "_id": "e1", "_score": None, "_source": {"message": "a"}, "sort": [1714557600000, "e1"]},
    {"_index": "logs-1", "_id": "e2", "_score": None, "sort": [1714557601000, "e2"]}]}}

# POST /_bulk, one record refused (a text value on a long field).
BULK_PARTLY_REFUSED = {"took": 706, "errors": True, "items": [
    {"index": {"_index": "shape_t1", "_id": "a", "_version": 1, "result": "created",
               "_shards": {"total": 2, "successful": 1, "failed": 0}, "_seq_no": 0, "_primary_term": 1, "status": 201}},
    {"index": {"_index": "shape_t1", "_id": "b", "status": 400, "error": {
        "type": "mapper_parsing_exception",
        "reason": "failed to parse field [n] of type [long] in document with id 'b'. Preview of field's value: 'abc'",
        "caused_by": {"type": "illegal_argument_exception", "reason": 'For input string: "abc"'}}}}]}


def test_a_search_answer_gives_hits_total_and_aggregations():
    result = SearchResult.from_raw(SEARCH_200)
    assert result == SearchResult(hits=(Hit("shape_t2", "a", {"n": 1, "t": "x"}),), total=1,
                                  aggregations={"m": {"value": 1.0}})


def test_an_untracked_total_is_none_and_missing_aggregations_are_empty():
    assert SearchResult.from_raw(UNTRACKED_200) == SearchResult(hits=(), total=None, aggregations={})


def test_hits_keep_their_sort_values_and_a_missing_source_is_empty():
    result = SearchResult.from_raw(SORTED_PAGE)
    assert [(h.id, h.sort, dict(h.source)) for h in result.hits] == [
        ("e1", (1714557600000, "e1"), {"message": "a"}), ("e2", (1714557601000, "e2"), {})]
    assert result.total == 10000  # a lower bound ("gte"): what the engine counted


@pytest.mark.parametrize("hits, total", [
    ({"total": {"value": 7, "relation": "eq"}}, 7),
    ({"total": 7}, 7),  # Elasticsearch 6 and rest_total_hits_as_int
    ({"hits": []}, None),
])
def test_total_of_every_shape(hits, total):
    assert total_of(hits) == total


def test_a_found_document_of_a_get_is_a_hit():
    doc = {"_index": "shape_t1", "_id": "a", "_version": 1, "_seq_no": 0, "_primary_term": 1, "found": True,
           "_source": {"n": 1, "t": "x"}}
    assert Hit.from_raw(doc) == Hit("shape_t1", "a", {"n": 1, "t": "x"})


def test_a_bulk_answer_names_the_refused_record_and_the_engine_reason():
    result = BulkResult.from_raw(BULK_PARTLY_REFUSED)
    assert result.items[0] == BulkItem("a", 201)
    refused = result.items[1]
    assert (refused.id, refused.status, refused.ok) == ("b", 400, False)
    assert refused.error == ("failed to parse field [n] of type [long] in document with id 'b'. "
                             "Preview of field's value: 'abc': For input string: \"abc\"")
    assert result.failed == (refused,) and not result.ok
    with pytest.raises(EngineError) as info:
        result.raise_if_failed("writing to shape_t1")
    assert str(info.value).startswith("writing to shape_t1: 1 of 2 record(s) refused: failed to parse field [n]")


def test_a_clean_bulk_answer_raises_nothing():
    result = BulkResult.from_raw({"took": 3, "errors": False, "items": [BULK_PARTLY_REFUSED["items"][0]]})
    assert result.ok and result.failed == ()
    result.raise_if_failed("writing")
