"""Smoke tests of the search engine through opensearch-py.

They check that the engine the integration suite runs against (the embedded
OpenSearch of tools/search-engine, or $LOGALERT_TEST_ES_URL) does what
logalert's rules rely on, with EFK-shaped docs in logstash-YYYY.MM.DD indices.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from tests.integration.conftest import ENGINE, ENGINE_VERSION
from tests.support.efk import bulk_load, daily_index, efk_doc

DAY1 = datetime(2024, 5, 1, tzinfo=timezone.utc)
DAY2 = datetime(2024, 5, 2, tzinfo=timezone.utc)


def _docs():
    def k8s(namespace, app):
        return {
            "kubernetes": {
                "namespace_name": namespace,
                "pod_name": f"{app}-5c8d7b9f4-q7wzp",
                "container_name": app,
                "host": "node-2",
                "labels": {"app": app},
            }
        }

    return [
        efk_doc("2024-05-01T10:00:00Z", "ERROR", "Connection refused by upstream payments",
                _id="e1", status=502, response_time=1.5, client_ip="10.0.0.1", **k8s("shop", "checkout")),
        efk_doc("2024-05-01T10:30:00Z", "INFO", "Request served",
                _id="i1", status=200, response_time=0.04, client_ip="10.0.0.2", **k8s("shop", "checkout")),
        efk_doc("2024-05-01T11:15:00Z", "error", "database error: timeout after 30s",
                _id="e2", status=500, response_time=30.0, client_ip="10.0.0.3", **k8s("billing", "invoices")),
        efk_doc("2024-05-01T23:59:59.999Z", "WARN", "Slow ERRORS handler",
                _id="w1", status=429, response_time=2.5, client_ip="10.0.0.1", **k8s("shop", "checkout")),
        efk_doc("2024-05-02T00:00:00Z", "INFO", "MyErrorHandler registered",
                _id="i2", status=200, response_time=0.01, client_ip="10.0.0.4", user=None,
                **k8s("billing", "invoices")),
        efk_doc("2024-05-02T01:00:00Z", "INFO", "connection pool refused to grow",
                _id="i3", status=200, response_time=0.2, client_ip="10.0.0.2", **k8s("shop", "checkout")),
    ]


@pytest.fixture
def logs(engine, fresh_index):
    """Six EFK docs over two days, bulk-loaded into {prefix}-2024.05.01 / .02."""
    written = bulk_load(engine, None, _docs(), prefix=fresh_index)
    assert len(written) == 6
    return fresh_index


def ids(response):
    return sorted(hit["_id"] for hit in response["hits"]["hits"])


def query_string(engine, prefix, query, **options):
    body = {"query": {"query_string": {"query": query, **options}}, "size": 100}
    return ids(engine.search(index=f"{prefix}-*", body=body))


def test_engine_is_the_single_node_engine_asked_for(engine):
    info = engine.info()
    assert info["version"].get("distribution", "elasticsearch") == ENGINE
    if not os.environ.get("LOGALERT_TEST_ES_URL", "").strip():
        assert info["version"]["number"].split(".")[0] == ENGINE_VERSION
    health = engine.cluster.health()
    assert health["number_of_nodes"] == 1
    assert health["status"] in ("green", "yellow")


def test_bulk_routes_docs_to_daily_indices_with_dynamic_mapping(engine, logs):
    day1, day2 = daily_index(logs, DAY1), daily_index(logs, DAY2)
    assert day1 == f"{logs}-2024.05.01"
    rows = engine.cat.indices(index=f"{logs}-*", params={"format": "json", "h": "index,docs.count"})
    assert sorted((r["index"], int(r["docs.count"])) for r in rows) == [(day1, 4), (day2, 2)]

    props = engine.indices.get_mapping(index=day1)[day1]["mappings"]["properties"]
    assert props["@timestamp"]["type"] == "date"
    assert props["message"]["type"] == "text"
    assert props["message"]["fields"]["keyword"]["type"] == "keyword"
    assert props["kubernetes"]["properties"]["namespace_name"]["fields"]["keyword"]["type"] == "keyword"
    assert props["kubernetes"]["properties"]["labels"]["properties"]["app"]["type"] == "text"
    assert props["status"]["type"] == "long"
    assert props["response_time"]["type"] == "float"

    doc = engine.get(index=day2, id="i2")["_source"]
    assert doc["@timestamp"] == "2024-05-02T00:00:00.000Z"
    assert doc["kubernetes"]["labels"]["app"] == "invoices"
    assert "user" not in doc


def test_query_string_regex(engine, logs):
    # On an analyzed text field the regex is matched against whole terms, and
    # query_string normalizes (lowercases) it first: /ERROR/ finds the term
    # "error" but not "errors" nor "myerrorhandler".
    assert query_string(engine, logs, "message:/ERROR/") == ["e2"]
    assert query_string(engine, logs, "message:/error/") == ["e2"]
    assert query_string(engine, logs, "message:/err.*/") == ["e2", "w1"]
    assert query_string(engine, logs, "message:/.*error.*/") == ["e2", "i2", "w1"]
    # On the keyword subfield the regex must match the whole value, case-sensitively.
    assert query_string(engine, logs, "message.keyword:/.*ERROR.*/") == ["w1"]
    assert query_string(engine, logs, "message.keyword:/.*[Ee]rror.*/") == ["e2", "i2"]
    # Lucene syntax has no /.../i flag: the "i" becomes a separate term that
    # matches nothing, so with AND nothing matches at all.
    assert query_string(engine, logs, "message:/ERROR/i") == ["e2"]
    assert query_string(engine, logs, "message:/ERROR/i", default_operator="AND") == []


def test_query_string_wildcard_phrase_and_boolean(engine, logs):
    assert query_string(engine, logs, 'message:"connection refused"') == ["e1"]
    assert query_string(engine, logs, "message:(connection AND refused)") == ["e1", "i3"]
    assert query_string(engine, logs, "kubernetes.pod_name.keyword:invoices-*") == ["e2", "i2"]
    assert query_string(engine, logs, "level:error AND NOT kubernetes.namespace_name:billing") == ["e1"]
    assert query_string(engine, logs, "status:[500 TO 599]") == ["e1", "e2"]
    assert query_string(engine, logs, "NOT _exists_:user") == ["i2"]


def test_range_term_terms_bool_exists(engine, logs):
    index = f"{logs}-*"
    window = {"range": {"@timestamp": {"gte": "2024-05-01T10:30:00Z", "lt": "2024-05-02T00:00:00Z"}}}
    assert ids(engine.search(index=index, body={"query": window})) == ["e2", "i1", "w1"]

    body = {
        "query": {
            "bool": {
                "must": [{"term": {"kubernetes.namespace_name.keyword": "shop"}}],
                "filter": [{"terms": {"status": [429, 500, 502]}}, {"exists": {"field": "user"}}],
                "must_not": [{"match_phrase": {"message": "request served"}}],
            }
        }
    }
    assert ids(engine.search(index=index, body=body)) == ["e1", "w1"]


def test_painless_script_query(engine, logs):
    body = {"query": {"bool": {"filter": {"script": {"script": {
        "lang": "painless", "source": "doc['status'].value >= params.min", "params": {"min": 500}}}}}}}
    assert ids(engine.search(index=f"{logs}-*", body=body)) == ["e1", "e2"]


def test_terms_and_date_histogram_aggregations(engine, logs):
    body = {
        "size": 0,
        "query": {"range": {"@timestamp": {"gte": "2024-05-01T00:00:00Z", "lt": "2024-05-03T00:00:00Z"}}},
        "aggs": {
            "by_namespace": {"terms": {"field": "kubernetes.namespace_name.keyword", "size": 10}},
            "per_day": {"date_histogram": {"field": "@timestamp", "calendar_interval": "day"}},
            "per_hour": {"date_histogram": {"field": "@timestamp", "fixed_interval": "1h", "min_doc_count": 1}},
        },
    }
    aggs = engine.search(index=f"{logs}-*", body=body)["aggregations"]
    assert [(b["key"], b["doc_count"]) for b in aggs["by_namespace"]["buckets"]] == [("shop", 4), ("billing", 2)]
    assert [(b["key_as_string"], b["doc_count"]) for b in aggs["per_day"]["buckets"]] == [
        ("2024-05-01T00:00:00.000Z", 4),
        ("2024-05-02T00:00:00.000Z", 2),
    ]
    assert [(b["key_as_string"][11:16], b["doc_count"]) for b in aggs["per_hour"]["buckets"]] == [
        ("10:00", 2), ("11:00", 1), ("23:00", 1), ("00:00", 1), ("01:00", 1),
    ]


def test_metric_aggregations(engine, logs):
    body = {
        "size": 0,
        "aggs": {
            "ips": {"cardinality": {"field": "client_ip.keyword"}},
            "avg_rt": {"avg": {"field": "response_time"}},
            "min_rt": {"min": {"field": "response_time"}},
            "max_rt": {"max": {"field": "response_time"}},
            "sum_status": {"sum": {"field": "status"}},
            "pct_rt": {"percentiles": {"field": "response_time", "percents": [0, 100]}},
        },
    }
    aggs = engine.search(index=f"{logs}-*", body=body)["aggregations"]
    assert aggs["ips"]["value"] == 4
    assert aggs["avg_rt"]["value"] == pytest.approx((1.5 + 0.04 + 30.0 + 2.5 + 0.01 + 0.2) / 6, rel=1e-5)
    assert aggs["min_rt"]["value"] == pytest.approx(0.01, rel=1e-5)
    assert aggs["max_rt"]["value"] == pytest.approx(30.0)
    assert aggs["sum_status"]["value"] == 502 + 200 + 500 + 429 + 200 + 200
    assert aggs["pct_rt"]["values"]["0.0"] == pytest.approx(0.01, rel=1e-5)
    assert aggs["pct_rt"]["values"]["100.0"] == pytest.approx(30.0)


def test_count_and_msearch(engine, logs):
    index = f"{logs}-*"
    assert engine.count(index=index)["count"] == 6
    assert engine.count(index=index, body={"query": {"term": {"level.keyword": "INFO"}}})["count"] == 3
    assert engine.count(index=index, q="level:error")["count"] == 2

    body = [
        {"index": index},
        {"query": {"query_string": {"query": "level:error"}}, "sort": [{"@timestamp": "asc"}]},
        {"index": daily_index(logs, DAY2)},
        {"query": {"match_all": {}}, "size": 0},
        {"index": f"{logs}-1999.01.01", "ignore_unavailable": True},
        {"query": {"match_all": {}}},
    ]
    responses = engine.msearch(body=body)["responses"]
    assert len(responses) == 3
    assert [hit["_id"] for hit in responses[0]["hits"]["hits"]] == ["e1", "e2"]
    assert responses[1]["hits"]["total"]["value"] == 2
    assert responses[2]["hits"]["total"]["value"] == 0


def _paging_docs():
    start = datetime(2024, 5, 3, 8, 0, tzinfo=timezone.utc)
    docs = []
    for n in range(25):
        # Pairs of docs share a timestamp so the tie-breaker matters.
        ts = start + timedelta(minutes=n // 2)
        docs.append(efk_doc(ts, "INFO", f"request {n:02d} served", _id=f"p{n:02d}", seq=n))
    return docs


@pytest.mark.parametrize("use_pit", [False, True], ids=["search_after", "pit+search_after"])
def test_search_after_paging_sees_every_doc_once(engine, fresh_index, use_pit):
    bulk_load(engine, None, _paging_docs(), prefix=fresh_index)
    index = f"{fresh_index}-*"
    sort = [{"@timestamp": "asc"}, {"seq": "asc"}]
    pit_id = None
    if use_pit:
        pit_id = engine.create_pit(index=index, params={"keep_alive": "1m"})["pit_id"]
    seen, pages, search_after = [], 0, None
    try:
        while True:
            body = {"size": 10, "sort": sort, "query": {"match_all": {}}}
            if search_after is not None:
                body["search_after"] = search_after
            if pit_id:
                body["pit"] = {"id": pit_id, "keep_alive": "1m"}
                response = engine.search(body=body)
            else:
                response = engine.search(index=index, body=body)
            hits = response["hits"]["hits"]
            if not hits:
                break
            pages += 1
            seen.extend(hit["_id"] for hit in hits)
            search_after = hits[-1]["sort"]
            assert pages <= 5, "paging does not terminate"
    finally:
        if pit_id:
            engine.delete_pit(body={"pit_id": [pit_id]})
    assert pages == 3
    assert seen == [f"p{n:02d}" for n in range(25)]
    assert len(set(seen)) == 25


def test_index_template_applies_to_new_daily_index(engine, fresh_index):
    engine.indices.put_index_template(
        name=f"{fresh_index}-tpl",
        body={
            "index_patterns": [f"{fresh_index}-*"],
            "priority": 500,
            "template": {
                "settings": {"number_of_shards": 1, "number_of_replicas": 0},
                "mappings": {
                    "properties": {
                        "level": {"type": "keyword"},
                        "client_ip": {"type": "ip"},
                        "@timestamp": {"type": "date"},
                    }
                },
            },
        },
    )
    written = bulk_load(engine, None, _docs(), prefix=fresh_index)
    day1 = daily_index(fresh_index, DAY1)
    assert (day1, "e1") in written

    mapping = engine.indices.get_mapping(index=day1)[day1]["mappings"]["properties"]
    assert mapping["level"] == {"type": "keyword"}
    assert mapping["client_ip"] == {"type": "ip"}
    settings = engine.indices.get_settings(index=day1)[day1]["settings"]["index"]
    assert settings["number_of_replicas"] == "0"
    # An ip field answers CIDR terms; a keyword level is exact-match only.
    index = f"{fresh_index}-*"
    assert ids(engine.search(index=index, body={"query": {"term": {"client_ip": "10.0.0.0/31"}}})) == [
        "e1", "w1"]
    assert ids(engine.search(index=index, body={"query": {"term": {"level": "error"}}})) == ["e2"]
    assert engine.cluster.health(index=day1)["status"] == "green"


def test_delete_by_query(engine, logs):
    response = engine.delete_by_query(
        index=f"{logs}-*", body={"query": {"term": {"level.keyword": "INFO"}}}, params={"refresh": "true"}
    )
    assert response["deleted"] == 3
    assert engine.count(index=f"{logs}-*")["count"] == 3
