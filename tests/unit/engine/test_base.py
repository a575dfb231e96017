"""Engine error bodies as Elasticsearch/OpenSearch send them -> one readable reason."""

from __future__ import annotations

import json

import pytest

from logalert.engine.base import check_shards, engine_reason
from logalert.engine.results import Hit, SearchResult
from logalert.errors import EngineError

from .canned import Canned

LEXICAL = 'Lexical error at line 1, column 15.  Encountered: <EOF> after : "/ERROR"'

# POST /logs/_search with query_string "message:/ERROR" (unterminated regex), HTTP 400.
QUERY_STRING_400 = {
    "error": {
        "root_cause": [{"type": "query_shard_exception", "reason": "Failed to parse query [message:/ERROR]",
                        "index_uuid": "Xb3k", "index": "logs"}],
        "type": "search_phase_execution_exception",
        "reason": "all shards failed",
        "phase": "query",
        "grouped": True,
        "failed_shards": [{
            "shard": 0, "index": "logs", "node": "n1",
            "reason": {
                "type": "query_shard_exception", "reason": "Failed to parse query [message:/ERROR]",
                "index_uuid": "Xb3k", "index": "logs",
                "caused_by": {"type": "parse_exception", "reason": f"Cannot parse 'message:/ERROR': {LEXICAL}",
                              "caused_by": {"type": "token_mgr_error", "reason": LEXICAL}},
            },
        }],
    },
    "status": 400,
}

INDEX_NOT_FOUND_404 = {
    "error": {
        "root_cause": [{"type": "index_not_found_exception", "reason": "no such index [nope]",
                        "index": "nope", "resource.id": "nope", "resource.type": "index_or_alias"}],
        "type": "index_not_found_exception", "reason": "no such index [nope]",
        "index": "nope", "resource.id": "nope", "resource.type": "index_or_alias",
    },
    "status": 404,
}

PARSING_400 = {
    "error": {
        "root_cause": [{"type": "parsing_exception", "reason": "unknown query [querystring]",
                        "line": 1, "col": 24}],
        "type": "parsing_exception", "reason": "unknown query [querystring]", "line": 1, "col": 24,
        "caused_by": {"type": "named_object_not_found_exception",
                      "reason": "[1:24] unknown field [querystring]"},
    },
    "status": 400,
}

# HTTP 200 where one of two indices could not run the query (a text value on a long field).
PARTIAL_200 = {
    "took": 4, "timed_out": False,
    "_shards": {"total": 2, "successful": 1, "skipped": 0, "failed": 1, "failures": [{
        "shard": 0, "index": "logs-b", "node": "n1",
        "reason": {"type": "query_shard_exception", "reason": 'failed to create query: For input string: "abc"',
                   "index_uuid": "u2", "index": "logs-b",
                   "caused_by": {"type": "number_format_exception", "reason": 'For input string: "abc"'}},
    }]},
    "hits": {"total": {"value": 3, "relation": "eq"}, "max_score": None, "hits": []},
}


def test_query_string_error_names_the_query_and_the_lexical_problem():
    assert engine_reason(QUERY_STRING_400) == f"Failed to parse query [message:/ERROR]: {LEXICAL}"


def test_index_not_found():
    assert engine_reason(INDEX_NOT_FOUND_404) == "no such index [nope]"


def test_unknown_query_kind_gives_the_field():
    assert engine_reason(PARSING_400) == "unknown query [querystring]: [1:24] unknown field [querystring]"


@pytest.mark.parametrize("body, reason", [
    ({"error": "Incorrect HTTP method for uri [/_search] and method [PUT]", "status": 405},
     "Incorrect HTTP method for uri [/_search] and method [PUT]"),
    ("502 Bad Gateway", "502 Bad Gateway"),
    (None, None),
    ("", None),
    ({"error": {"type": "security_exception"}}, "security_exception"),
    ({"error": ["odd"]}, None),
])
def test_other_shapes(body, reason):
    assert engine_reason(body) == reason


def test_check_shards_accepts_a_clean_answer():
    check_shards({"_shards": {"total": 3, "successful": 3, "skipped": 1, "failed": 0}})
    check_shards({})


def test_check_shards_raises_with_the_shard_reason():
    with pytest.raises(EngineError) as info:
        check_shards(PARTIAL_200)
    assert info.value.reason == 'For input string: "abc"'
    assert str(info.value) == '1 of 2 shards failed: For input string: "abc"'
    assert info.value.unreachable is False


def test_check_shards_without_failure_details():
    with pytest.raises(EngineError) as info:
        check_shards({"_shards": {"total": 5, "successful": 3, "failed": 2}})
    assert (str(info.value), info.value.reason) == ("2 of 5 shards failed", None)


def test_msearch_keeps_each_sub_search_separate():
    ok = {"_shards": {"total": 1, "successful": 1, "failed": 0}, "status": 200,
          "hits": {"total": {"value": 1, "relation": "eq"}, "hits": [{"_index": "logs-a", "_id": "e1", "_source": {"n": 1}}]},
          "aggregations": {"m": {"value": 1.0}}}
    backend = Canned({"responses": [ok, QUERY_STRING_400, PARTIAL_200]})
    out = backend.msearch([("logs-a", {"query": {"match_all": {}}}), ("logs", {"size": 0}), ("logs-*", {})])
    assert out[0] == SearchResult(hits=(Hit("logs-a", "e1", {"n": 1}),), total=1, aggregations={"m": {"value": 1.0}})
    assert isinstance(out[1], EngineError) and str(out[1]) == f"search refused: Failed to parse query [message:/ERROR]: {LEXICAL}"
    assert isinstance(out[2], EngineError) and out[2].reason == 'For input string: "abc"'
    method, path, params, body, ndjson = backend.calls[0]
    assert (method, path, ndjson) == ("POST", "/_msearch", True)
    # only what is read comes back: no _score, sort or took
    assert params == {"filter_path": "responses.status,responses.error,responses._shards,responses.hits.total,"
                                     "responses.hits.hits._index,responses.hits.hits._id,responses.hits.hits._source,"
                                     "responses.hits.hits.fields,responses.aggregations"}
    lines = body.split("\n")
    assert lines[-1] == ""
    assert [json.loads(line) for line in lines[:-1]] == [
        {"index": "logs-a", "ignore_unavailable": True}, {"query": {"match_all": {}}},
        {"index": "logs", "ignore_unavailable": True}, {"size": 0},
        {"index": "logs-*", "ignore_unavailable": True}, {}]


def test_search_raises_on_partial_shard_failure_and_quotes_the_index_path():
    backend = Canned(PARTIAL_200)
    with pytest.raises(EngineError):
        backend.search("logstash-2024.05.01,logs-*", {"query": {"match_all": {}}})
    assert backend.calls[0][:3] == ("POST", "/logstash-2024.05.01,logs-*/_search", {"ignore_unavailable": "true"})


def test_msearch_of_nothing_sends_nothing():
    backend = Canned()
    assert backend.msearch([]) == [] and backend.calls == []


def test_count_and_version():
    backend = Canned({"count": 17, "_shards": {"total": 1, "successful": 1, "failed": 0}})
    assert backend.count("logs-*", {"query": {"match_all": {}}}) == 17
    assert (backend.version, backend.major, backend.describe()) == ("2.19.6", 2, "canned 2.19.6")


def test_search_all_single_page_needs_no_point_in_time():
    page = {"_shards": {"failed": 0}, "hits": {"hits": [
        {"_index": "logs", "_id": "1", "_source": {"a": 1}, "sort": [1]},
        {"_index": "logs", "_id": "2", "_source": {"a": 2}, "sort": [2]}]}}
    backend = Canned(page)
    hits = list(backend.search_all("logs", {"query": {"match_all": {}}, "sort": [{"@timestamp": "asc"}]}, 10))
    assert [(h.index, h.id, dict(h.source), h.sort) for h in hits] == [("logs", "1", {"a": 1}, (1,)), ("logs", "2", {"a": 2}, (2,))]
    assert len(backend.calls) == 1
    assert backend.calls[0][3]["size"] == 10


def test_search_all_pages_with_point_in_time_and_closes_it():
    def hit(i):
        return {"_index": "logs", "_id": str(i), "_source": {}, "sort": [i, i]}

    backend = Canned(
        {"_shards": {"failed": 0}, "hits": {"hits": [hit(1), hit(2)]}},  # first page is full
        {"pit_id": "pit-1"},
        {"_shards": {"failed": 0}, "pit_id": "pit-2", "hits": {"hits": [hit(1), hit(2)]}},
        {"_shards": {"failed": 0}, "pit_id": "pit-3", "hits": {"hits": [hit(3)]}},
    )
    body = {"query": {"match_all": {}}, "sort": [{"@timestamp": {"order": "asc"}}], "track_total_hits": True}
    ids = [h.id for h in backend.search_all("logs", body, 2)]
    assert ids == ["1", "2", "3"]
    second_page = backend.calls[3][3]
    assert second_page["search_after"] == [2, 2]
    assert second_page["pit"] == {"id": "pit-2", "keep_alive": "2m"}
    assert second_page["sort"] == [{"@timestamp": {"order": "asc"}}, {"_shard_doc": "asc"}]
    assert "track_total_hits" not in second_page
    assert backend.calls[-1] == ("close", "pit-3")


def test_search_all_knowing_there_is_more_than_a_page_pages_straight_away():
    def hit(i):
        return {"_index": "logs", "_id": str(i), "_source": {}, "sort": [i, i]}

    backend = Canned({"pit_id": "pit-1"}, {"_shards": {"failed": 0}, "pit_id": "pit-1", "hits": {"hits": [hit(1)]}})
    assert [h.id for h in backend.search_all("logs", {"query": {"match_all": {}}}, 2, paged=True)] == ["1"]
    assert [c[1] for c in backend.calls] == ["/logs/_search/point_in_time", "/_search", "pit-1"]
