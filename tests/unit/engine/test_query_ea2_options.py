"""query_timezone, timestamp_format_expr, include_fields and search_extra_index in the
search bodies and index expressions."""

from __future__ import annotations

from logalert.engine import query
from logalert.engine.results import Hit
from logalert.model import Window

from ..conftest import at

BASE = "name: r\ntype: any\nindex: logs-*\nalert: stdout\n"
WINDOW = Window(at(2024, 5, 1, 21, 30), at(2024, 5, 1, 22, 0))


def rng(rule):
    return query.hits_body(rule, WINDOW, 10)["query"]["bool"]["filter"][-1]["range"]["@timestamp"]


def test_query_timezone_writes_the_range_in_the_zone(make_rule):
    assert rng(make_rule(BASE))["gte"] == "2024-05-01T21:30:00.000Z"
    iso = make_rule(BASE + "query_timezone: Europe/Istanbul\n")
    assert rng(iso)["gte"] == "2024-05-02T00:30:00.000+03:00"  # the same instant, with its offset
    custom = make_rule(BASE + "query_timezone: Europe/Istanbul\ntimestamp_type: custom\n"
                              "timestamp_format: '%Y-%m-%d %H:%M:%S'\n")
    assert (rng(custom)["gte"], rng(custom)["lt"]) == ("2024-05-02 00:30:00", "2024-05-02 01:00:00")
    assert custom.doc_time("2024-05-02 00:30:00") == WINDOW.start  # read back in the same zone


def test_timestamp_format_expr_adjusts_custom_timestamps(make_rule):
    rule = make_rule(BASE + "timestamp_type: custom\ntimestamp_format: '%Y-%m-%dT%H:%M:%S.%fZ'\n"
                            "timestamp_format_expr: 'ts[:23] + ts[26:]'\n")
    assert rng(rule) == {"gte": "2024-05-01T21:30:00.000Z", "lt": "2024-05-01T22:00:00.000Z"}


def test_include_fields_asks_for_them_and_hits_carry_them_under_source(make_rule):
    rule = make_rule(BASE + "include: [message]\ninclude_fields: [day_of_week, tags]\n")
    body = query.hits_body(rule, WINDOW, 10)
    assert body["fields"] == ["day_of_week", "tags"]
    assert body["_source"] == {"includes": ["message", "@timestamp"]}
    hit = Hit.from_raw({"_index": "i", "_id": "1", "_source": {"message": "m", "tags": "from source"},
                        "fields": {"day_of_week": ["Wednesday"], "tags": ["a", "b"]}})
    assert hit.source == {"day_of_week": "Wednesday", "tags": "from source", "message": "m"}
    assert "fields" not in query.hits_body(make_rule(BASE), WINDOW, 10)


def test_search_extra_index_adds_the_period_before(make_rule):
    daily = BASE.replace("logs-*", "logs-%Y.%m.%d") + "use_strftime_index: true\n"
    assert query.indices(make_rule(daily), WINDOW) == "logs-2024.05.01"
    assert query.indices(make_rule(daily + "search_extra_index: true\n"), WINDOW) == "logs-2024.04.30,logs-2024.05.01"
    hourly = BASE.replace("logs-*", "logs-%Y.%m.%d.%H") + "use_strftime_index: true\nsearch_extra_index: true\n"
    assert query.indices(make_rule(hourly), WINDOW) == "logs-2024.05.01.20,logs-2024.05.01.21"
    monthly = BASE.replace("logs-*", "logs-%Y.%m") + "use_strftime_index: true\nsearch_extra_index: true\n"
    assert query.indices(make_rule(monthly), WINDOW) == "logs-2024.04,logs-2024.05"
