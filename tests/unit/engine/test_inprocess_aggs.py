"""The in-process engine's aggregations: the answers OpenSearch 2.19 gives for the same
documents (recorded from it), shapes and numbers alike."""

from __future__ import annotations

import pytest

from logalert.engine import EngineError
from logalert.engine.inprocess import InProcessBackend, Unsupported

DOCS = [{"t": "2024-01-15T10:00:00Z", "k": "a", "n": 5, "f": 0.1, "b": True, "x": "hello world"},
        {"t": "2024-01-15T10:03:00Z", "k": "b", "n": 7, "f": 0.2, "b": False},
        {"t": "2024-01-15T10:07:00Z", "k": "a", "n": [1, 2], "f": 0.3}]


@pytest.fixture(scope="module")
def backend():
    b = InProcessBackend()
    assert b.bulk("a", [(str(i), d) for i, d in enumerate(DOCS)], refresh=True).ok
    return b


def agg(backend, body):
    return dict(backend.search("a", {"size": 0, "aggs": {"x": body}}).aggregations)["x"]


@pytest.mark.parametrize("body, answer", [
    ({"terms": {"field": "k.keyword"}}, {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
        {"key": "a", "doc_count": 2}, {"key": "b", "doc_count": 1}]}),
    ({"terms": {"field": "k.keyword", "size": 1}}, {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 1,
                                                    "buckets": [{"key": "a", "doc_count": 2}]}),
    ({"terms": {"field": "f"}}, {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
        {"key": 0.10000000149011612, "doc_count": 1}, {"key": 0.20000000298023224, "doc_count": 1},
        {"key": 0.30000001192092896, "doc_count": 1}]}),
    ({"terms": {"field": "b"}}, {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": [
        {"key": 0, "key_as_string": "false", "doc_count": 1}, {"key": 1, "key_as_string": "true", "doc_count": 1}]}),
    ({"terms": {"field": "nope"}}, {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": []}),
    ({"date_histogram": {"field": "t", "fixed_interval": "2m"}}, {"buckets": [
        {"key_as_string": "2024-01-15T10:00:00.000Z", "key": 1705312800000, "doc_count": 1},
        {"key_as_string": "2024-01-15T10:02:00.000Z", "key": 1705312920000, "doc_count": 1},
        {"key_as_string": "2024-01-15T10:04:00.000Z", "key": 1705313040000, "doc_count": 0},
        {"key_as_string": "2024-01-15T10:06:00.000Z", "key": 1705313160000, "doc_count": 1}]}),
    ({"histogram": {"field": "n", "interval": 2.5, "min_doc_count": 1}},
     {"buckets": [{"key": 0.0, "doc_count": 1}, {"key": 5.0, "doc_count": 2}]}),
    ({"date_range": {"field": "t", "keyed": True, "ranges": [{"key": "0", "from": 1705312800000, "to": 1705313100000}]}},
     {"buckets": {"0": {"from": 1705312800000.0, "from_as_string": "2024-01-15T10:00:00.000Z", "to": 1705313100000.0,
                        "to_as_string": "2024-01-15T10:05:00.000Z", "doc_count": 2}}}),
    ({"range": {"field": "n", "ranges": [{"from": 1, "to": 6}, {"to": 3}]}}, {"buckets": [
        {"key": "*-3.0", "to": 3.0, "doc_count": 1}, {"key": "1.0-6.0", "from": 1.0, "to": 6.0, "doc_count": 2}]}),
    ({"min": {"field": "t"}}, {"value": 1705312800000.0, "value_as_string": "2024-01-15T10:00:00.000Z"}),
    ({"avg": {"field": "f"}}, {"value": 0.2000000054637591}), ({"sum": {"field": "f"}}, {"value": 0.6000000163912773}),
    ({"sum": {"field": "nope"}}, {"value": 0.0}), ({"avg": {"field": "nope"}}, {"value": None}),
    ({"value_count": {"field": "n"}}, {"value": 4}), ({"cardinality": {"field": "k.keyword"}}, {"value": 2}),
    ({"min": {"field": "b"}}, {"value": 0.0, "value_as_string": "false"}),
    ({"filters": {"filters": {"m": {"term": {"k.keyword": "a"}}}, "other_bucket_key": "_other_"}},
     {"buckets": {"m": {"doc_count": 2}, "_other_": {"doc_count": 1}}}),
    ({"top_hits": {"size": 1, "sort": [{"t": {"order": "desc", "unmapped_type": "date"}}], "_source": {"includes": ["k", "t"]}}},
     {"hits": {"total": {"value": 3, "relation": "eq"}, "max_score": None, "hits": [
         {"_index": "a", "_id": "2", "_score": None, "_source": {"t": "2024-01-15T10:07:00Z", "k": "a"},
          "sort": [1705313220000]}]}}),
    ({"percentiles": {"field": "n", "percents": [95.0]}}, {"values": {"95.0": 7.0}}),
])
def test_answers_like_the_engine(backend, body, answer):
    assert agg(backend, body) == answer


@pytest.mark.parametrize("body, reason", [
    ({"terms": {"field": "x"}}, "Text fields are not optimised"),
    ({"sum": {"field": "k.keyword"}}, "Field [k.keyword] of type [keyword] is not supported for aggregation [sum]"),
])
def test_refused_like_the_engine(backend, body, reason):
    with pytest.raises(EngineError) as info:
        agg(backend, body)
    assert reason in (info.value.reason or "")


@pytest.mark.parametrize("body", [{"sum": {"script": "doc['n'].value"}}, {"significant_terms": {"field": "k"}},
                                  {"date_histogram": {"field": "t", "calendar_interval": "month"}}])
def test_aggregations_without_an_exact_answer_are_refused(backend, body):
    with pytest.raises(Unsupported, match="--engine"):
        agg(backend, body)
