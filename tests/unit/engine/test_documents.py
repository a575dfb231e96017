"""Backend's document and index methods: what they send and how they read the answer
(shapes recorded from OpenSearch 2.19); the same methods run against both real engines
in tests/integration/engine/test_backend_contract.py."""

from __future__ import annotations

import json

import pytest

from logalert.engine.base import Refused
from logalert.engine.results import BulkItem, Hit
from logalert.errors import EngineError

from .canned import Canned

NO_SUCH_INDEX = {"error": {"root_cause": [{"type": "index_not_found_exception", "reason": "no such index [nope]"}],
                           "type": "index_not_found_exception", "reason": "no such index [nope]",
                           "index": "nope"}, "status": 404}
ALREADY_EXISTS = {"error": {"root_cause": [{"type": "resource_already_exists_exception",
                                            "reason": "index [state/zVb0] already exists"}],
                            "type": "resource_already_exists_exception",
                            "reason": "index [state/zVb0] already exists", "index": "state"}, "status": 400}


def refused(status, body, what="GET /x"):
    return Refused(f"{what} refused (HTTP {status})", status=status, body=body)


def test_refused_carries_the_status_the_error_type_and_the_reason():
    exc = refused(404, NO_SUCH_INDEX)
    assert (exc.status, exc.error_type, exc.not_found, exc.reason) == (
        404, "index_not_found_exception", True, "no such index [nope]")
    assert isinstance(exc, EngineError) and str(exc) == "GET /x refused (HTTP 404): no such index [nope]"


def test_get_a_document_or_none():
    backend = Canned({"_index": "state", "_id": "a/b", "found": True, "_source": {"n": 1}},
                     refused(404, {"_index": "state", "_id": "zz", "found": False}),
                     refused(404, NO_SUCH_INDEX))
    assert backend.get("state", "a/b") == Hit("state", "a/b", {"n": 1})
    assert backend.calls[0][:2] == ("GET", "/state/_doc/a%2Fb")
    assert backend.get("state", "zz") is None
    assert backend.get("nope", "zz") is None


def test_get_raises_other_refusals():
    backend = Canned(refused(403, {"error": {"type": "security_exception", "reason": "no permission"}}))
    with pytest.raises(EngineError, match="no permission"):
        backend.get("state", "a")


def test_mget_answers_in_the_order_of_the_ids():
    backend = Canned({"docs": [
        {"_index": "state", "_id": "a", "_version": 1, "found": True, "_source": {"n": 1}},
        {"_index": "state", "_id": "zz", "found": False}]})
    assert backend.mget("state", ["a", "zz"]) == [Hit("state", "a", {"n": 1}), None]
    assert backend.calls[0][:4] == ("POST", "/state/_mget", None, {"ids": ["a", "zz"]})


def test_mget_of_a_missing_index_finds_nothing_and_of_no_ids_sends_nothing():
    backend = Canned({"docs": [{"_index": "nope", "_id": "a", "error": NO_SUCH_INDEX["error"]}]})
    assert backend.mget("nope", ["a"]) == [None]
    assert backend.mget("nope", []) == [] and len(backend.calls) == 1


def test_mget_raises_a_per_document_failure():
    backend = Canned({"docs": [{"_index": "s", "_id": "a", "error": {"type": "shard_not_found", "reason": "gone"}}]})
    with pytest.raises(EngineError, match="multi-get from s refused: gone"):
        backend.mget("s", ["a"])


def test_bulk_sends_one_ndjson_request_and_reports_each_record():
    backend = Canned({"took": 5, "errors": True, "items": [
        {"index": {"_index": "s", "_id": "a", "result": "created", "status": 201}},
        {"index": {"_index": "s", "_id": "gen1", "result": "created", "status": 201}},
        {"index": {"_index": "s", "_id": "c", "status": 400,
                   "error": {"type": "mapper_parsing_exception", "reason": "failed to parse field [n]"}}}]})
    result = backend.bulk("s", [("a", {"n": 1}), (None, {"n": 2}), ("c", {"n": "x"})], refresh=True)
    assert result.items == (BulkItem("a", 201), BulkItem("gen1", 201), BulkItem("c", 400, "failed to parse field [n]"))
    method, path, params, body, ndjson = backend.calls[0]
    assert (method, path, params, ndjson) == ("POST", "/_bulk", {"refresh": "wait_for"}, True)
    assert [json.loads(line) for line in body.splitlines()] == [
        {"index": {"_index": "s", "_id": "a"}}, {"n": 1}, {"index": {"_index": "s"}}, {"n": 2},
        {"index": {"_index": "s", "_id": "c"}}, {"n": "x"}]
    assert body.endswith("\n")


def test_bulk_of_nothing_sends_nothing():
    backend = Canned()
    assert backend.bulk("s", []).items == () and backend.calls == []


def test_index_with_and_without_id():
    backend = Canned({"_id": "x1", "result": "created"}, {"_id": "auto", "result": "created"})
    assert backend.index("s", {"n": 1}, id="x1", refresh=True, op_type="create") == "x1"
    assert backend.calls[0][:3] == ("PUT", "/s/_doc/x1", {"refresh": "wait_for", "op_type": "create"})
    assert backend.index("s", {"n": 2}) == "auto"
    assert backend.calls[1][:2] == ("POST", "/s/_doc")


def test_delete_says_whether_the_document_was_there():
    backend = Canned({"_id": "a", "result": "deleted"},
                     refused(404, {"_index": "s", "_id": "zz", "result": "not_found"}, "DELETE /s/_doc/zz"),
                     refused(404, NO_SUCH_INDEX, "DELETE /nope/_doc/a"))
    assert backend.delete("s", "a") is True
    assert backend.delete("s", "zz") is False
    assert backend.delete("nope", "a") is False


def test_delete_by_query_returns_the_number_deleted():
    backend = Canned({"took": 242, "timed_out": False, "total": 3, "deleted": 3, "batches": 2,
                      "version_conflicts": 0, "noops": 0, "failures": []})
    query = {"range": {"written": {"lt": "now-30d"}}}
    assert backend.delete_by_query("state", query, batch_size=2, max_docs=10) == 3
    method, path, params, body, _ = backend.calls[0]
    assert (method, path, body) == ("POST", "/state/_delete_by_query", {"query": query})
    assert params == {"conflicts": "proceed", "scroll_size": "2", "ignore_unavailable": "true",
                      "refresh": "true", "max_docs": "10"}


def test_delete_by_query_in_a_missing_index_deletes_nothing():
    assert Canned(refused(404, NO_SUCH_INDEX)).delete_by_query("nope", {"match_all": {}}) == 0


def test_delete_by_query_raises_on_failures():
    backend = Canned({"deleted": 1, "failures": [{"index": "state", "id": "b", "status": 500,
                                                   "cause": {"type": "es_rejected_execution_exception",
                                                             "reason": "rejected execution"}}]})
    with pytest.raises(EngineError) as info:
        backend.delete_by_query("state", {"match_all": {}})
    assert str(info.value) == "deleting by query in state: 1 failure(s) after 1 deleted: rejected execution"


def test_get_mappings_of_an_index_or_none():
    mappings = {"dynamic": "false", "properties": {"kind": {"type": "keyword"}}}
    backend = Canned({"state-000001": {"mappings": mappings}}, refused(404, NO_SUCH_INDEX))
    assert backend.get_mappings("state") == mappings
    assert backend.calls[0][:2] == ("GET", "/state/_mapping")
    assert backend.get_mappings("nope") is None


def test_create_index_twice_is_not_an_error():
    backend = Canned({"acknowledged": True, "index": "state"}, refused(400, ALREADY_EXISTS, "PUT /state"))
    settings, mappings = {"index": {"number_of_shards": 1}}, {"properties": {"kind": {"type": "keyword"}}}
    assert backend.create_index("state", settings=settings, mappings=mappings) is True
    assert backend.calls[0][:4] == ("PUT", "/state", None, {"settings": settings, "mappings": mappings})
    assert backend.create_index("state", settings=settings, mappings=mappings) is False


def test_create_index_raises_other_refusals():
    bad = {"error": {"type": "invalid_index_name_exception", "reason": "Invalid index name [A], must be lowercase"}}
    with pytest.raises(EngineError, match="must be lowercase"):
        Canned(refused(400, bad, "PUT /A")).create_index("A")


def test_refresh():
    backend = Canned({"_shards": {"total": 2, "successful": 1, "failed": 0}})
    backend.refresh("state")
    assert backend.calls[0][:2] == ("POST", "/state/_refresh")


NO_HANDLER = {"error": "no handler found for uri [/state/_delete_by_query?conflicts=proceed] and method [POST]",
              "status": 400}


def found(*ids):
    return {"_shards": {"total": 1, "successful": 1, "failed": 0}, "hits": {"hits": [
        {"_index": "state", "_id": i, "_score": None, "_seq_no": n, "_primary_term": 1, "sort": [n]}
        for n, i in enumerate(ids)]}}


def deleted(*items):
    return {"errors": any(s != 200 for _, s in items), "items": [
        {"delete": {"_index": "state", "_id": i, "status": s, "result": "deleted" if s == 200 else "not_found",
                    **({"error": {"type": "version_conflict_engine_exception", "reason": "version conflict"}}
                       if s == 409 else {})}} for i, s in items]}


REFRESHED = {"_shards": {"total": 1, "successful": 1, "failed": 0}}


def test_without_the_engines_handler_delete_by_query_finds_and_deletes_batches():
    backend = Canned(refused(400, NO_HANDLER, "POST /state/_delete_by_query"),
                     REFRESHED, found("a", "b"), deleted(("a", 200), ("b", 409)),  # b changed meanwhile
                     REFRESHED, found("c", "d"), deleted(("c", 200), ("d", 404)),  # d deleted by someone else
                     REFRESHED, found("e"), deleted(("e", 200)),
                     REFRESHED)
    assert backend.delete_by_query("state", {"term": {"kind": "error"}}, batch_size=2) == 3
    searches = [c for c in backend.calls if c[1] == "/state/_search"]
    assert searches[0][3] == {"query": {"bool": {"filter": [{"term": {"kind": "error"}}]}}, "size": 2,
                              "_source": False, "sort": ["_doc"], "seq_no_primary_term": True,
                              "track_total_hits": False}
    assert searches[1][3]["query"]["bool"]["must_not"] == [{"ids": {"values": ["b"]}}]  # left alone
    first_bulk = backend.calls[3]
    assert [json.loads(line) for line in first_bulk[3].splitlines()] == [
        {"delete": {"_index": "state", "_id": "a", "if_seq_no": 0, "if_primary_term": 1}},
        {"delete": {"_index": "state", "_id": "b", "if_seq_no": 1, "if_primary_term": 1}}]
    assert backend.calls[-1][:2] == ("POST", "/state/_refresh")
    # The engine said it has no handler: later calls go straight to the fallback.
    backend.calls.clear()
    backend.answers = [REFRESHED, found()]
    assert backend.delete_by_query("state", {"match_all": {}}) == 0
    assert [c[1] for c in backend.calls] == ["/state/_refresh", "/state/_search"]


def test_the_fallback_stops_at_max_docs_and_at_a_missing_index():
    backend = Canned(refused(400, NO_HANDLER), REFRESHED, found("a", "b"), deleted(("a", 200), ("b", 200)),
                     REFRESHED, found("c"), deleted(("c", 200)), REFRESHED)
    assert backend.delete_by_query("state", {"match_all": {}}, batch_size=2, max_docs=3) == 3
    assert [c[3]["size"] for c in backend.calls if c[1] == "/state/_search"] == [2, 1]
    backend = Canned(refused(400, NO_HANDLER), refused(404, NO_SUCH_INDEX, "POST /nope/_refresh"))
    assert backend.delete_by_query("nope", {"match_all": {}}) == 0


def test_the_fallback_raises_a_refused_delete():
    rejected = {"items": [{"delete": {"_index": "state", "_id": "a", "status": 429, "error": {
        "type": "es_rejected_execution_exception", "reason": "rejected execution of bulk"}}}]}
    backend = Canned(refused(400, NO_HANDLER), REFRESHED, found("a"), rejected)
    with pytest.raises(EngineError, match="1 failure\\(s\\) after 0 deleted: rejected execution of bulk"):
        backend.delete_by_query("state", {"match_all": {}})
