"""The in-process engine through the Backend interface, as tests/integration/engine/
test_backend_contract.py checks the real engines: everything above the engine package
uses these methods alone, so they must answer the same way."""

from __future__ import annotations

import datetime as dt

import pytest

from logalert.engine import EngineError, Hit, SearchResult
from logalert.engine.inprocess import InProcessBackend, Unsupported

LONG_N = {"properties": {"n": {"type": "long"}, "tag": {"type": "keyword"}}}
NOW = dt.datetime(2025, 1, 15, 10, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def backend():
    return InProcessBackend(clock=lambda: NOW)


def fill(backend, index, count, **extra):
    result = backend.bulk(index, [(f"d{n:03d}", {"n": n, "tag": "even" if n % 2 == 0 else "odd", **extra})
                                  for n in range(count)], refresh=True)
    assert result.ok, result.failed


def test_it_describes_itself(backend):
    assert backend.flavor == "in-process"
    assert "in-process evaluator" in backend.describe()
    assert backend.info()["version"]["number"] == backend.version


def test_create_index_twice_and_read_its_mappings(backend):
    assert backend.get_mappings("idx") is None
    assert backend.create_index("idx", settings={"index": {"number_of_shards": 1}}, mappings=LONG_N) is True
    assert backend.create_index("idx", mappings=LONG_N) is False
    props = backend.get_mappings("idx")["properties"]
    assert (props["n"]["type"], props["tag"]["type"]) == ("long", "keyword")


def test_create_index_refused_names_the_reason(backend):
    with pytest.raises(EngineError) as info:
        backend.create_index("Not_Lowercase")
    assert "lowercase" in (info.value.reason or "")


def test_unsupported_mappings_are_refused_with_the_hint(backend):
    with pytest.raises(Unsupported, match=r"field type \[ip\] of \[client\].*--engine"):
        backend.create_index("idx", mappings={"properties": {"client": {"type": "ip"}}})
    with pytest.raises(Unsupported, match="analyzers"):
        backend.create_index("idx2", mappings={"properties": {"m": {"type": "text", "analyzer": "english"}}})


def test_index_get_mget_and_create_conflicts(backend):
    backend.create_index("idx", mappings=LONG_N)
    assert backend.index("idx", {"n": 1}, id="one/1") == "one/1"
    generated = backend.index("idx", {"n": 2})
    assert backend.get("idx", "one/1") == Hit("idx", "one/1", {"n": 1})
    assert backend.get("idx", "missing") is None and backend.get("nope", "one/1") is None
    assert backend.mget("idx", [generated, "missing"]) == [Hit("idx", generated, {"n": 2}), None]
    assert backend.mget("nope", ["x"]) == [None]
    with pytest.raises(EngineError) as info:
        backend.index("idx", {"n": 6}, id="one/1", op_type="create")
    assert "already exists" in (info.value.reason or "")


def test_bulk_reports_a_refused_record_and_stores_the_others(backend):
    backend.create_index("idx", mappings=LONG_N)
    result = backend.bulk("idx", [("a", {"n": 1}), ("b", {"n": "not a number"}), (None, {"n": 3})], refresh=True)
    assert [(i.id, i.ok) for i in result.items][:2] == [("a", True), ("b", False)]
    (refused,) = result.failed
    assert refused.status == 400 and "failed to parse field [n]" in (refused.error or "")
    assert backend.count("idx", {"query": {"match_all": {}}}) == 2


def test_delete_and_delete_index(backend):
    fill(backend, "idx", 2)
    assert backend.delete("idx", "d000", refresh=True) is True
    assert backend.delete("idx", "d000") is False and backend.delete("nope", "a") is False
    assert backend.delete_index("idx") is True and backend.delete_index("idx") is False
    assert backend.get_mappings("idx") is None


def test_refresh_interval_minus_one_hides_writes_until_a_refresh(backend):
    backend.create_index("idx", settings={"index": {"refresh_interval": "-1"}}, mappings=LONG_N)
    backend.bulk("idx", [(f"d{n}", {"n": n}) for n in range(3)])
    assert backend.search("idx", {"query": {"match_all": {}}, "track_total_hits": True}).total == 0
    backend.refresh("idx")
    assert backend.search("idx", {"query": {"match_all": {}}, "track_total_hits": True}).total == 3


def test_search_gives_hits_total_sort_values_and_aggregations(backend):
    backend.create_index("idx", mappings=LONG_N)
    fill(backend, "idx", 5)
    result = backend.search("idx", {
        "query": {"range": {"n": {"gte": 1}}}, "size": 2, "sort": [{"n": "desc"}], "track_total_hits": True,
        "aggs": {"top": {"max": {"field": "n"}}, "tags": {"terms": {"field": "tag"}}}})
    assert isinstance(result, SearchResult)
    assert [(h.id, dict(h.source), h.sort) for h in result.hits] == [
        ("d004", {"n": 4, "tag": "even"}, (4,)), ("d003", {"n": 3, "tag": "odd"}, (3,))]
    assert result.total == 4 and result.aggregations["top"]["value"] == 4.0
    assert {b["key"]: b["doc_count"] for b in result.aggregations["tags"]["buckets"]} == {"even": 2, "odd": 2}
    untracked = backend.search("idx", {"query": {"match_all": {}}, "size": 0, "track_total_hits": False})
    assert (untracked.hits, untracked.total, untracked.aggregations) == ((), None, {})


def test_missing_indices_and_refused_searches(backend):
    assert backend.search("nope", {"query": {"match_all": {}}}).hits == ()
    with pytest.raises(EngineError) as info:
        backend.search("nope", {"query": {"match_all": {}}}, ignore_unavailable=False)
    assert "no such index" in (info.value.reason or "")
    fill(backend, "idx", 1)
    with pytest.raises(EngineError) as info:
        backend.search("idx", {"query": {"query_string": {"query": "tag:(unbalanced"}}})
    assert "Failed to parse query" in (info.value.reason or "")


def test_msearch_keeps_a_bad_sub_search_to_itself(backend):
    backend.create_index("idx", mappings=LONG_N)
    fill(backend, "idx", 4)
    good = {"query": {"term": {"tag": "odd"}}, "sort": [{"n": "asc"}], "track_total_hits": True}
    bad = {"query": {"term": {"n": "abc"}}}
    counted = {"query": {"match_all": {}}, "size": 0, "track_total_hits": True, "aggs": {"s": {"sum": {"field": "n"}}}}
    first, refused, third, missing = backend.msearch([("idx", good), ("idx", bad), ("idx", counted), ("nope", counted)])
    assert [h.id for h in first.hits] == ["d001", "d003"] and first.total == 2
    assert isinstance(refused, EngineError) and 'For input string: "abc"' in (refused.reason or "")
    assert (third.total, third.aggregations["s"]["value"]) == (4, 6.0)
    assert missing.total == 0 and backend.msearch([]) == []


def test_unsupported_queries_leave_msearch_as_they_are(backend):
    fill(backend, "idx", 1)
    with pytest.raises(Unsupported, match="fuzzy.*--engine"):
        backend.msearch([("idx", {"query": {"query_string": {"query": "tag:evn~"}}})])


def test_search_all_pages_through_a_point_in_time(backend):
    backend.create_index("idx", mappings=LONG_N)
    fill(backend, "idx", 25)
    pages = backend.search_all("idx", {"query": {"match_all": {}}, "sort": [{"n": "asc"}]}, 10)
    first = next(pages)
    backend.index("idx", {"n": -1}, id="late", refresh=True)  # not in the snapshot
    assert [h.source["n"] for h in [first, *pages]] == list(range(25))


def test_delete_by_query_and_the_engine_checks(backend):
    backend.create_index("idx", mappings=LONG_N)
    fill(backend, "idx", 30)
    assert backend.delete_by_query("idx", {"range": {"n": {"lt": 20}}}, batch_size=5) == 20
    assert backend.delete_by_query("idx", {"match_all": {}}, max_docs=4) == 4
    assert backend.count("idx", {"query": {"match_all": {}}}) == 6
    assert backend.resolve_indices("id*") == ["idx"] and backend.resolve_indices("zzz*") == []
    assert backend.field_types("idx", ["n", "tag"]) == {"n": {"long": True}, "tag": {"keyword": True}}
    assert backend.validate_query("idx", {"term": {"n": 1}}) is None
    assert "For input string" in backend.validate_query("idx", {"term": {"n": "x"}})


def test_date_math_uses_the_clock(backend):
    backend.bulk("logs", [("old", {"@timestamp": "2025-01-15T08:00:00Z"}), ("new", {"@timestamp": "2025-01-15T09:30:00Z"})],
                 refresh=True)
    hits = backend.search("logs", {"query": {"range": {"@timestamp": {"gte": "now-1h"}}}}).hits
    assert [h.id for h in hits] == ["new"]
    day = backend.search("logs", {"query": {"query_string": {"query": "@timestamp:[now/d TO now]"}}}).hits
    assert [h.id for h in day] == ["old", "new"]


# --- the Backend contract suite itself, run on the in-process engine ----------------------
def _contract_cases():
    from tests.integration.engine import test_backend_contract as contract

    skip = {"test_the_backend_matches_the_engine_under_test"}  # which engine the suite runs on
    return [(name, getattr(contract, name)) for name in sorted(dir(contract))
            if name.startswith("test_") and name not in skip]


@pytest.mark.parametrize("case", _contract_cases(), ids=lambda case: case[0])
def test_the_backend_contract(case):
    """Every test of the engines' contract suite, on the in-process engine: it stays a
    Backend the runner cannot tell from a cluster as the contract grows."""
    import inspect

    name, test = case
    fixtures = {"backend": InProcessBackend(clock=lambda: NOW), "index": f"contract_{name[5:30]}"}
    wanted = list(inspect.signature(test).parameters)
    if set(wanted) - set(fixtures):
        pytest.skip(f"{name} needs {sorted(set(wanted) - set(fixtures))}")
    test(**{k: fixtures[k] for k in wanted})
