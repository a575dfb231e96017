"""Search bodies: ElastAlert filter forms, time range per timestamp_type, index expansion."""

from __future__ import annotations

import datetime as dt

import pytest

from logalert.engine import query
from logalert.engine.query import expand_strftime
from logalert.fields import flatten, lookup
from logalert.model import Query, Window
from logalert.rules.filters import normalise_filter

from ..conftest import at

WINDOW = Window(at(2024, 5, 1, 10, 0), at(2024, 5, 1, 10, 15))

QS = {"query_string": {"query": "message:/ERROR/i"}}


@pytest.mark.parametrize("item, expected", [
    ({"query": QS}, QS),
    ({"query": {"match": {"message": "boom"}}}, {"match": {"message": "boom"}}),
    ({"query": {}}, {"match_all": {}}),
    (QS, QS),
    ({"term": {"level": "ERROR"}}, {"term": {"level": "ERROR"}}),
    ({"terms": {"level": ["ERROR", "FATAL"]}}, {"terms": {"level": ["ERROR", "FATAL"]}}),
    ({"range": {"status": {"gte": 500}}}, {"range": {"status": {"gte": 500}}}),
    ({"exists": {"field": "error.stack"}}, {"exists": {"field": "error.stack"}}),
    ({"wildcard": {"host": "web-*"}}, {"wildcard": {"host": "web-*"}}),
    ({"regexp": {"host": "web-[0-9]+"}}, {"regexp": {"host": "web-[0-9]+"}}),
    ({"match": {"message": "disk full"}}, {"match": {"message": "disk full"}}),
    ({"match_phrase": {"message": "disk full"}}, {"match_phrase": {"message": "disk full"}}),
    ({"bool": {"must_not": [{"term": {"env": "dev"}}]}}, {"bool": {"must_not": [{"term": {"env": "dev"}}]}}),
    ({"not": {"term": {"env": "dev"}}}, {"bool": {"must_not": [{"term": {"env": "dev"}}]}}),
    ({"and": [{"term": {"a": 1}}, {"query": QS}]}, {"bool": {"filter": [{"term": {"a": 1}}, QS]}}),
    ({"or": [{"term": {"a": 1}}, {"term": {"b": 2}}]},
     {"bool": {"should": [{"term": {"a": 1}}, {"term": {"b": 2}}], "minimum_should_match": 1}}),
    ({"not": {"or": [{"term": {"a": 1}}, {"exists": {"field": "b"}}]}},
     {"bool": {"must_not": [{"bool": {"should": [{"term": {"a": 1}}, {"exists": {"field": "b"}}],
                                      "minimum_should_match": 1}}]}}),
    ({"term": {"a": 1}, "exists": {"field": "b"}}, {"bool": {"filter": [{"term": {"a": 1}}, {"exists": {"field": "b"}}]}}),
], ids=lambda v: next(iter(v)) if isinstance(v, dict) and v else "x")
def test_normalise_filter_forms(item, expected):
    assert normalise_filter(item) == expected


def test_normalised_filter_is_a_copy():
    body = {"query": "a:b"}
    out = normalise_filter({"query_string": body})
    out["query_string"]["query"] = "changed"
    assert body == {"query": "a:b"}


def test_query_clause_for_the_seed_rule(make_rule):
    rule = make_rule("""\
        name: seed
        index: logstash-*
        timestamp_field: "@timestamp"
        type: any
        filter:
        - query:
            query_string:
              query: "message:/ERROR/i"
        alert: [stdout]
    """)
    assert query.query_clause(rule, WINDOW) == {"bool": {"filter": [
        {"query_string": {"query": "message:/ERROR/i"}},
        {"range": {"@timestamp": {"gte": "2024-05-01T10:00:00.000Z", "lt": "2024-05-01T10:15:00.000Z",
                                  "format": "strict_date_optional_time"}}},
    ]}}


def test_query_clause_without_filters_or_window(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: x\nalert: stdout\n")
    assert query.query_clause(rule, None) == {"match_all": {}}
    assert query.count_body(rule, WINDOW) == {"query": {"bool": {"filter": [query.time_range(rule, WINDOW.start, WINDOW.end)]}}}


@pytest.mark.parametrize("extra, expected", [
    ("timestamp_type: unix", {"gte": 1714557600, "lt": 1714558500}),
    ("timestamp_type: unix_ms", {"gte": 1714557600000, "lt": 1714558500000}),
    ("timestamp_type: custom\ntimestamp_format: '%Y-%m-%d %H:%M:%S'",
     {"gte": "2024-05-01 10:00:00", "lt": "2024-05-01 10:15:00"}),
    ("", {"gte": "2024-05-01T10:00:00.000Z", "lt": "2024-05-01T10:15:00.000Z", "format": "strict_date_optional_time"}),
])
def test_time_range_per_timestamp_type(make_rule, extra, expected):
    rule = make_rule(f"name: r\ntype: any\nindex: x\nalert: stdout\ntimestamp_field: ts\n{extra}\n")
    assert query.time_range(rule, WINDOW.start, WINDOW.end) == {"range": {"ts": expected}}


def test_hits_body_sorts_by_timestamp_and_limits_fields(make_rule):
    rule = make_rule("""\
        name: r
        type: any
        index: x
        alert: stdout
        timestamp_field: event.created
        query_key: kubernetes.pod_name
        include: [message, host, message]
    """)
    body = query.hits_body(rule, WINDOW, 500)
    assert body["size"] == 500
    assert body["sort"] == [{"event.created": {"order": "asc", "unmapped_type": "date"}}]
    assert body["track_total_hits"] is True
    assert body["_source"] == {"includes": ["message", "host", "event.created", "kubernetes.pod_name"]}
    assert body["query"]["bool"]["filter"][-1]["range"]["event.created"]["lt"] == "2024-05-01T10:15:00.000Z"


def test_hits_body_without_include_fetches_everything(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: x\nalert: stdout\n")
    assert "_source" not in query.hits_body(rule, WINDOW, 10)


def test_hits_body_sort_on_epoch_timestamps_is_numeric(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: x\nalert: stdout\ntimestamp_field: ts\ntimestamp_type: unix_ms\n")
    assert query.hits_body(rule, WINDOW, 10)["sort"] == [{"ts": {"order": "asc", "unmapped_type": "long"}}]


# --- index names --------------------------------------------------------------------------
def test_plain_index_and_comma_list_are_passed_through(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: 'app-*,audit-*'\nalert: stdout\n")
    assert query.indices(rule, WINDOW) == "app-*,audit-*"


def test_strftime_index_across_a_day_boundary(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: logstash-%Y.%m.%d\nuse_strftime_index: true\nalert: stdout\n")
    window = Window(at(2024, 12, 31, 23, 30), at(2025, 1, 1, 0, 30))
    assert query.indices(rule, window) == "logstash-2024.12.31,logstash-2025.01.01"


def test_strftime_index_within_one_day(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: logstash-%Y.%m.%d\nuse_strftime_index: true\nalert: stdout\n")
    assert query.indices(rule, WINDOW) == "logstash-2024.05.01"


def test_strftime_window_ending_exactly_at_midnight_does_not_touch_the_next_day():
    names = expand_strftime("logstash-%Y.%m.%d", at(2024, 5, 1, 23, 0), at(2024, 5, 2, 0, 0))
    assert names == ["logstash-2024.05.01"]


def test_strftime_hourly_pattern():
    names = expand_strftime("app-%Y.%m.%d.%H", at(2024, 5, 1, 22, 45), at(2024, 5, 2, 1, 10))
    assert names == ["app-2024.05.01.22", "app-2024.05.01.23", "app-2024.05.02.00", "app-2024.05.02.01"]


def test_strftime_comma_list_expands_each_part(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: 'web-%Y.%m.%d, db-%Y.%m'\nuse_strftime_index: true\nalert: stdout\n")
    window = Window(at(2024, 4, 30, 23, 0), at(2024, 5, 1, 1, 0))
    assert query.indices(rule, window) == "web-2024.04.30,db-2024.04,web-2024.05.01,db-2024.05"


def test_very_long_window_falls_back_to_wildcards():
    names = expand_strftime("logstash-%Y.%m.%d", at(2022, 1, 1), at(2024, 1, 1), limit=100)
    assert names == ["logstash-*.*.*"]


def test_strftime_index_names_are_utc_even_for_offset_windows(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: logstash-%Y.%m.%d\nuse_strftime_index: true\nalert: stdout\n")
    plus2 = dt.timezone(dt.timedelta(hours=2))
    window = Window(dt.datetime(2024, 1, 1, 1, 0, tzinfo=plus2), dt.datetime(2024, 1, 1, 1, 30, tzinfo=plus2))
    assert query.indices(rule, window) == "logstash-2023.12.31"


# --- field access -------------------------------------------------------------------------
def test_lookup_nested_flat_and_mixed():
    doc = {"kubernetes": {"pod_name": "web-1", "labels": {"app.kubernetes.io/name": "web"}},
           "host.name": "node-a", "n": 0}
    assert lookup(doc, "kubernetes.pod_name") == "web-1"
    assert lookup(doc, "host.name") == "node-a"
    assert lookup(doc, "kubernetes.labels.app.kubernetes.io/name") == "web"
    assert lookup(doc, "n") == 0
    assert lookup(doc, "kubernetes.missing", "dflt") == "dflt"
    assert lookup(doc, "n.deeper") is None


def test_flatten_dotted_keys():
    assert sorted(flatten({"a": {"b": 1, "c": {"d": [1, 2]}}, "e": {}, "f": "x"})) == [
        ("a.b", 1), ("a.c.d", [1, 2]), ("e", {}), ("f", "x")]


def test_lookup_of_a_keyword_subfield_reads_the_field_itself():
    from logalert.fields import lookup

    doc = {"user": "alice", "kubernetes": {"pod_name": "api-1"}, "code": {"raw": 7}}
    assert lookup(doc, "user.keyword") == "alice"
    assert lookup(doc, "kubernetes.pod_name.keyword") == "api-1"
    assert lookup(doc, "code.raw") == 7  # a real field named raw wins
    assert lookup(doc, "missing.keyword", "-") == "-"


def test_the_requests_of_a_run_check_the_query_first(make_rule):
    rule = make_rule("""\
        name: r
        index: logstash-*
        type: any
        filter: [{term: {level: ERROR}}]
        alert: stdout
        """)
    qs = [Query("count"), Query("aggs", aggs={"m": {"max": {"field": "n"}}}), Query("hits")]
    out = query.requests(rule, WINDOW, qs, check=True)
    clause = query.query_clause(rule, WINDOW)
    assert [(r.kind, r.index) for r in out] == [("check", "logstash-*"), ("count", "logstash-*"),
                                               ("aggs", "logstash-*"), ("hits", "logstash-*")]
    assert out[0].body == {"query": {"bool": {"filter": [{"term": {"level": "ERROR"}}]}}, "size": 0,
                           "terminate_after": 1, "track_total_hits": False}
    assert out[1].body == {"query": clause, "size": 0, "track_total_hits": True}
    assert out[2].body == {"query": clause, "size": 0, "aggs": {"m": {"max": {"field": "n"}}}}
    # a tick's first page; a rule with more hits sends the search again whole
    assert out[3].body == query.hits_body(rule, WINDOW, min(query.FIRST_PAGE, rule.max_query_size))
    assert out[3].size == query.FIRST_PAGE and out[3].resized(7).body == dict(out[3].body, size=7)
    assert [r.kind for r in query.requests(rule, WINDOW, qs, check=False)] == ["count", "aggs", "hits"]


def test_a_query_with_its_own_time_range_searches_that_range_and_its_indices(make_rule):
    rule = make_rule("""\
        name: r
        index: "logstash-%Y.%m.%d"
        use_strftime_index: true
        type: any
        alert: stdout
        """)
    earlier = Query("count", start=at(2024, 4, 30, 10, 0), end=WINDOW.end)
    request = query.request(rule, WINDOW, earlier, index="not used: the span differs")
    assert request.index == "logstash-2024.04.30,logstash-2024.05.01"
    assert request.body["query"] == query.query_clause(rule, Window(at(2024, 4, 30, 10, 0), WINDOW.end))
    assert query.request(rule, WINDOW, Query("hits"), index="given").index == "given"


def test_a_read_back_up_to_the_window_s_end_asks_only_for_the_time_before_the_window(make_rule):
    rule = make_rule("""\
        name: r
        index: logstash-*
        type: any
        alert: stdout
        """)
    history = WINDOW.start - dt.timedelta(minutes=30)
    live, before = query.requests(rule, WINDOW, [Query("hits"), Query("hits", start=history, seen_too=True)], check=False)
    assert not live.plus_window and live.body == query.request(rule, WINDOW, Query("hits")).body
    # the window's documents come from the first search: the read-back covers [history, window start)
    assert before.plus_window
    assert before.body == query.request(rule, WINDOW, Query("hits", start=history, end=WINDOW.start)).body
    # alone (no search of the window before it), a read-back is sent whole
    [alone] = query.requests(rule, WINDOW, [Query("hits", start=history, seen_too=True)], check=False)
    assert not alone.plus_window and alone.body == query.request(rule, WINDOW, Query("hits", start=history)).body
