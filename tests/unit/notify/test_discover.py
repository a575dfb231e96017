"""Discover links: Rison encoding, the time range around the match, index pattern,
columns and filters per app and version, read back by decoding the link's state."""

from __future__ import annotations

import datetime as dt
import logging

import pytest

from logalert.model import Match
from logalert.notify import discover
from tests.support.rison import discover_state, loads

from ..conftest import at

BASE = """\
name: Checkout errors
type: any
index: logs-*
alert: stdout
filter:
- query: {query_string: {query: "level:ERROR"}}
"""
KIBANA = """\
generate_kibana_discover_url: true
kibana_discover_app_url: "http://kibana.example.com:5601/app/discover#/"
kibana_discover_index_pattern_id: "d3a5-logs"
kibana_discover_version: "8.11"
"""
OPENSEARCH = """\
generate_opensearch_discover_url: true
opensearch_discover_app_url: "http://dash.example.com:5601/app/data-explorer/discover#"
opensearch_discover_index_pattern_id: "os-logs"
opensearch_discover_version: "2.11"
"""
MATCH = Match(at(2024, 5, 1, 10, 0), {"@timestamp": "2024-05-01T10:00:00Z", "level": "ERROR",
                                      "kubernetes": {"pod_name": "web-1"}}, index="logs-1", doc_id="a")


# --- rison ------------------------------------------------------------------------------
@pytest.mark.parametrize("value, text", [
    (None, "!n"), (True, "!t"), (False, "!f"), (0, "0"), (-3, "-3"), (1.5, "1.5"), (2.0, "2"),
    ("", "''"), ("abc", "abc"), ("_source", "_source"), ("a b", "'a b'"), ("it's!", "'it!'s!!'"),
    ("1abc", "'1abc'"), ("-x", "'-x'"), ("@timestamp", "'@timestamp'"), ("a:b", "'a:b'"),
    ([], "!()"), ([1, "x"], "!(1,x)"), ({}, "()"), ({"b": 1, "a": [True]}, "(a:!(!t),b:1)"),
    ({"$state": {"store": "appState"}}, "('$state':(store:appState))"),
])
def test_rison_encodes_each_kind(value, text):
    assert discover.rison(value) == text
    assert loads(text) == value


@pytest.mark.parametrize("value, text", [(1e20, "1e20"), (-2.5e30, "-2.5e30"), (1e-7, "1e-07")])
def test_rison_exponents_have_no_plus_sign(value, text):
    """Rison's number grammar allows only '-' in an exponent: Kibana cannot read '1e+20'."""
    assert discover.rison(value) == text
    assert loads(text) == value


@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_rison_writes_non_finite_numbers_as_null_as_rison_js_does(value):
    assert discover.rison(value) == "!n"


def test_rison_round_trips_nested_state():
    state = {"filters": [{"meta": {"alias": None, "negate": False, "value": '{"bool":{"must":[]}}'},
                          "query": {"match_phrase": {"kubernetes.pod_name": "web-1 (canary)"}}}],
             "time": {"from": "2024-05-01T09:50:00.000Z", "to": "now"}}
    assert loads(discover.rison(state)) == state


# --- kibana -----------------------------------------------------------------------------
def test_kibana_link_holds_time_range_index_pattern_columns_and_rule_filter(make_rule):
    rule = make_rule(BASE + KIBANA + "kibana_discover_columns: [message, level]\n")
    link = discover.url(rule, MATCH, "kibana")
    assert link.startswith("http://kibana.example.com:5601/app/discover#/?_g=")
    state = discover_state(link)
    assert state["_g"]["time"] == {"from": "2024-05-01T09:50:00.000Z", "to": "2024-05-01T10:10:00.000Z"}
    assert state["_g"]["refreshInterval"] == {"pause": True, "value": 0}
    app = state["_a"]
    assert (app["index"], app["columns"], app["interval"]) == ("d3a5-logs", ["message", "level"], "auto")
    (custom,) = app["filters"]
    assert custom["meta"]["type"] == "custom" and custom["meta"]["index"] == "d3a5-logs"
    assert custom["query"] == {"bool": {"must": [{"query_string": {"query": "level:ERROR"}}]}}  # Kibana 8: nested


def test_kibana_7_keeps_the_filter_dsl_at_the_top_level(make_rule):
    rule = make_rule(BASE + KIBANA.replace('"8.11"', '"7.17"'))
    (custom,) = discover_state(discover.url(rule, MATCH, "kibana"))["_a"]["filters"]
    assert "query" not in custom
    assert custom["bool"] == {"must": [{"query_string": {"query": "level:ERROR"}}]}


def test_time_range_from_the_timedeltas_else_timeframe_else_ten_minutes(make_rule):
    spans = "kibana_discover_from_timedelta: {minutes: 2}\nkibana_discover_to_timedelta: {seconds: 30}\n"
    rule = make_rule(BASE + KIBANA + spans)
    assert discover.time_range(rule, MATCH, "kibana") == (at(2024, 5, 1, 9, 58), at(2024, 5, 1, 10, 0, 30))
    frequency = make_rule(BASE.replace("type: any", "type: frequency") + KIBANA
                          + "num_events: 3\ntimeframe: {hours: 1}\n")
    assert discover.time_range(frequency, MATCH, "kibana") == (at(2024, 5, 1, 9, 0), at(2024, 5, 1, 11, 0))
    plain = make_rule(BASE + KIBANA)
    assert discover.time_range(plain, MATCH, "kibana") == (at(2024, 5, 1, 9, 50), at(2024, 5, 1, 10, 10))


def test_query_key_values_become_phrase_filters_and_a_missing_one_a_negated_exists(make_rule):
    rule = make_rule(BASE + KIBANA + "query_key: [kubernetes.pod_name, user]\n")
    match = Match(MATCH.timestamp, MATCH.fields, key=("web-1", None))
    _custom, pod, user = discover_state(discover.url(rule, match, "kibana"))["_a"]["filters"]
    assert pod["query"] == {"match_phrase": {"kubernetes.pod_name": "web-1"}}
    assert (pod["meta"]["key"], pod["meta"]["negate"], pod["meta"]["params"]) == \
        ("kubernetes.pod_name", False, {"query": "web-1"})
    assert user["query"] == {"exists": {"field": "user"}}
    assert (user["meta"]["negate"], user["meta"]["type"]) == (True, "exists")


def test_query_key_value_read_from_the_document_when_the_match_has_no_key(make_rule):
    rule = make_rule(BASE + KIBANA + "query_key: kubernetes.pod_name\n")
    filters = discover_state(discover.url(rule, MATCH, "kibana"))["_a"]["filters"]
    assert filters[-1]["query"] == {"match_phrase": {"kubernetes.pod_name": "web-1"}}


def test_relative_app_url_joins_kibana_url_and_env_vars_expand(make_rule, monkeypatch):
    monkeypatch.setenv("KIBANA_HOST", "kb.internal")
    rule = make_rule(BASE + KIBANA.replace('"http://kibana.example.com:5601/app/discover#/"', '"app/discover#/"')
                     + 'kibana_url: "https://${KIBANA_HOST}/"\n')
    assert discover.url(rule, MATCH, "kibana").startswith("https://kb.internal/app/discover#/?_g=")
    default = make_rule(BASE + KIBANA.replace('"http://kibana.example.com:5601/app/discover#/"', '"app/discover#/"'))
    assert discover.url(default, MATCH, "kibana").startswith("http://localhost:9200/_plugin/kibana/app/discover#/?")


def test_security_tenant_goes_into_the_query_before_the_fragment(make_rule):
    rule = make_rule(BASE + KIBANA + "kibana_discover_security_tenant: global tenant\n")
    link = discover.url(rule, MATCH, "kibana")
    assert link.startswith("http://kibana.example.com:5601/app/discover?security_tenant=global%20tenant#/?_g=")
    assert discover_state(link)["security_tenant"] == "global tenant"


def test_link_text_has_no_characters_that_end_links_in_chat_or_mail(make_rule):
    rule = make_rule(BASE + KIBANA + "query_key: kubernetes.pod_name\n")
    match = Match(MATCH.timestamp, {"kubernetes": {"pod_name": "web (1) it's"}})
    state = discover.url(rule, match, "kibana").split("#", 1)[1]
    assert not set(state) & set(" ()'\"<>")


# --- opensearch -------------------------------------------------------------------------
def test_opensearch_2_10_and_later_use_the_data_explorer_state(make_rule):
    rule = make_rule(BASE + OPENSEARCH + "query_key: kubernetes.pod_name\n")
    link = discover.url(rule, MATCH, "opensearch")
    assert link.startswith("http://dash.example.com:5601/app/data-explorer/discover#?_a=")
    state = discover_state(link)
    assert state["_a"] == {"discover": {"columns": ["_source"], "isDirty": False, "sort": []},
                           "metadata": {"indexPattern": "os-logs", "view": "discover"}}
    assert state["_g"]["time"] == {"from": "2024-05-01T09:50:00.000Z", "to": "2024-05-01T10:10:00.000Z"}
    custom, pod = state["_q"]["filters"]
    assert custom["bool"] == {"must": [{"query_string": {"query": "level:ERROR"}}]}
    assert pod["query"] == {"match_phrase": {"kubernetes.pod_name": "web-1"}}
    assert state["_q"]["query"] == {"language": "kuery", "query": ""}


def test_opensearch_before_2_10_is_kibana_7_discover(make_rule):
    rule = make_rule(BASE + OPENSEARCH.replace('"2.11"', '"1.3"').replace("data-explorer/discover#", "discover#/"))
    state = discover_state(discover.url(rule, MATCH, "opensearch"))
    assert state["_a"]["index"] == "os-logs" and state["_a"]["columns"] == ["_source"]
    assert "_q" not in state


def test_app_url_with_a_query_in_the_fragment_gets_an_ampersand(make_rule):
    rule = make_rule(BASE + OPENSEARCH.replace("discover#", "discover#?security_tenant=Admin"))
    assert "#?security_tenant=Admin&_a=" in discover.url(rule, MATCH, "opensearch")


# --- when there is no link --------------------------------------------------------------
def test_no_link_unless_asked_and_urls_names_them_as_elastalert2(make_rule):
    assert discover.urls(make_rule(BASE), MATCH) == {}
    both = make_rule(BASE + KIBANA + OPENSEARCH)
    assert set(discover.urls(both, MATCH)) == {"kibana_discover_url", "opensearch_discover_url"}
    assert discover.urls(both, None) == {}


def test_missing_settings_give_no_link_and_one_warning_naming_them(make_rule, caplog):
    rule = make_rule(BASE + "generate_kibana_discover_url: true\nkibana_discover_version: '8.0'\n")
    with caplog.at_level(logging.WARNING, logger="logalert.notify.discover"):
        assert discover.url(rule, MATCH, "kibana") is None
        assert discover.url(rule, MATCH, "kibana") is None
    (record,) = caplog.records
    assert "kibana_discover_app_url and kibana_discover_index_pattern_id" in record.getMessage()
    assert discover.problems(rule.options) == [
        ("generate_kibana_discover_url", "needs kibana_discover_app_url and kibana_discover_index_pattern_id")]


def test_discover_options_load_without_warnings(tmp_path, config):
    from logalert.rules import load_rule

    path = tmp_path / "r.yaml"
    path.write_text(BASE + KIBANA + OPENSEARCH + "kibana_discover_columns: [message]\n"
                    "kibana_discover_from_timedelta: {minutes: 1}\nkibana_url: http://kb/\n")
    _rule, warnings = load_rule(str(path), config)
    assert warnings == []


def test_version_given_as_a_yaml_number_is_read(make_rule):
    rule = make_rule(BASE + KIBANA.replace('"8.11"', "7.10"))
    (custom,) = discover_state(discover.url(rule, MATCH, "kibana"))["_a"]["filters"]
    assert "bool" in custom  # 7.x format
    assert dt.timedelta(0) < discover.time_range(rule, MATCH, "kibana")[1] - MATCH.timestamp
