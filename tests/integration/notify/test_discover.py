"""Discover links end to end: a rule with generate_kibana_discover_url (and the OpenSearch
twin) runs against the real engine, its alert reaches a real HTTP receiver through the
slack notifier, and the link in the delivered message opens the rule's index pattern,
columns and filters over a time range around the document the engine matched."""

from __future__ import annotations

import datetime as dt

from logalert.config import load_config
from logalert.engine import Pool
from logalert.model import Window
from logalert.rules import load_rule
from logalert.run.runner import RuleRunner
from logalert.state import MemoryState
from logalert.timeutil import iso, parse_iso
from tests.integration.helpers import engine_options, write_yaml
from tests.support.efk import bulk_load, efk_doc
from tests.support.receivers import WebhookReceiver
from tests.support.rison import discover_state

QUERY = {"query_string": {"query": "level:ERROR"}}
APPS = {
    "kibana": {"generate_kibana_discover_url": True,
               "kibana_discover_app_url": "http://kibana.example.com:5601/app/discover#/",
               "kibana_discover_version": "8.11",
               "kibana_discover_index_pattern_id": "5c1e-logs-pattern",
               "kibana_discover_columns": ["message", "kubernetes.pod_name"],
               "kibana_discover_from_timedelta": {"minutes": 3},
               "kibana_discover_to_timedelta": {"minutes": 1},
               "slack_attach_kibana_discover_url": True},
    "opensearch": {"generate_opensearch_discover_url": True,
                   "opensearch_discover_app_url": "http://dashboards.example.com:5601/app/data-explorer/discover#",
                   "opensearch_discover_version": "2.11",
                   "opensearch_discover_index_pattern_id": "os-logs-pattern",
                   "opensearch_discover_columns": ["message"],
                   "opensearch_discover_from_timedelta": {"minutes": 5},
                   "opensearch_discover_to_timedelta": {"minutes": 2},
                   "slack_attach_opensearch_discover_url": True},
}


def _run(engine, engine_url, fresh_index, tmp_path, hook_url: str, app: str):
    """Index one ERROR and one INFO document, run the rule once with sending on, and
    return the engine's copy of the matched document."""
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    docs = [efk_doc(now - dt.timedelta(minutes=4), "ERROR", "payment gateway timeout",
                    **{"kubernetes.pod_name": "checkout-7d9f8b6c5-x2kqz"}),
            efk_doc(now - dt.timedelta(minutes=3), "INFO", "request served")]
    bulk_load(engine, None, docs, prefix=fresh_index)
    rule_file = write_yaml(tmp_path / f"{app}.yaml", {
        "name": f"Checkout errors ({app})", "type": "any", "index": f"{fresh_index}-*",
        "filter": [{"query": QUERY}], "query_key": "kubernetes.pod_name", "realert": {"minutes": 0},
        "alert": ["slack"], "slack_webhook_url": f"{hook_url}/services/T0/B0/{app}-secret-hook",
        **engine_options(engine_url), **APPS[app]})
    rule, warnings = load_rule(str(rule_file), load_config(None, environ={}))
    assert warnings == []
    result = RuleRunner(rule, Pool(), MemoryState()).run(Window(now - dt.timedelta(hours=1), now), send=True)
    assert result.error is None
    (match,) = result.matches
    found = engine.search(index=f"{fresh_index}-*", body={"query": {"bool": {"filter": [QUERY]}}})["hits"]["hits"]
    (hit,) = found
    assert (match.index, match.doc_id) == (hit["_index"], hit["_id"])
    return rule, hit["_source"]


def _delivered_link(hook: WebhookReceiver, app: str) -> tuple[str, str]:
    (request,) = hook.delivered
    main, link = request.body["attachments"]
    title = {"kibana": "Discover in Kibana", "opensearch": "Discover in Opensearch"}[app]
    assert link["title"] == title
    return main["text"], link["title_link"]


def test_kibana_link_in_slack_opens_the_pattern_columns_filters_and_time_of_the_match(
        engine, engine_url, fresh_index, tmp_path):
    with WebhookReceiver() as hook:
        rule, source = _run(engine, engine_url, fresh_index, tmp_path, hook.url, "kibana")
        body, link = _delivered_link(hook, "kibana")
    settings = APPS["kibana"]
    assert f"kibana_discover_url: {link}" in body.splitlines()  # also in the alert text, as a field line
    assert link.startswith(settings["kibana_discover_app_url"] + "?_g=")
    state = discover_state(link)
    moment = parse_iso(source["@timestamp"])
    assert state["_g"]["time"] == {"from": iso(moment - dt.timedelta(minutes=3)),
                                   "to": iso(moment + dt.timedelta(minutes=1))}
    app_state = state["_a"]
    assert app_state["index"] == settings["kibana_discover_index_pattern_id"]
    assert app_state["columns"] == settings["kibana_discover_columns"]
    custom, pod = app_state["filters"]
    assert custom["query"] == {"bool": {"must": [QUERY]}}
    assert pod["query"] == {"match_phrase": {"kubernetes.pod_name": source["kubernetes"]["pod_name"]}}
    assert {f["meta"]["index"] for f in app_state["filters"]} == {settings["kibana_discover_index_pattern_id"]}


def test_opensearch_link_in_slack_opens_the_pattern_columns_filters_and_time_of_the_match(
        engine, engine_url, fresh_index, tmp_path):
    with WebhookReceiver() as hook:
        rule, source = _run(engine, engine_url, fresh_index, tmp_path, hook.url, "opensearch")
        body, link = _delivered_link(hook, "opensearch")
    settings = APPS["opensearch"]
    assert f"opensearch_discover_url: {link}" in body.splitlines()
    assert link.startswith(settings["opensearch_discover_app_url"] + "?_a=")
    state = discover_state(link)
    moment = parse_iso(source["@timestamp"])
    assert state["_g"]["time"] == {"from": iso(moment - dt.timedelta(minutes=5)),
                                   "to": iso(moment + dt.timedelta(minutes=2))}
    assert state["_a"]["metadata"] == {"indexPattern": settings["opensearch_discover_index_pattern_id"],
                                       "view": "discover"}
    assert state["_a"]["discover"]["columns"] == settings["opensearch_discover_columns"]
    custom, pod = state["_q"]["filters"]
    assert custom["bool"] == {"must": [QUERY]}
    assert pod["query"] == {"match_phrase": {"kubernetes.pod_name": source["kubernetes"]["pod_name"]}}


def test_the_secret_webhook_is_not_in_the_link(engine, engine_url, fresh_index, tmp_path):
    with WebhookReceiver() as hook:
        _run(engine, engine_url, fresh_index, tmp_path, hook.url, "kibana")
        _body, link = _delivered_link(hook, "kibana")
    assert "secret-hook" not in link and hook.url not in link
