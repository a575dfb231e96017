"""test-rule's table of documents and its sparkline (logalert.cli.testrule_output) on a
scripted backend; tests/integration/test_cli_test_rule.py runs them on the engine."""

from __future__ import annotations

import datetime as dt

from logalert.cli import testrule_output as extra
from logalert.engine import Hit, SearchResult
from logalert.model import Window

UTC = dt.timezone.utc


class FakeBackend:
    def __init__(self, result):
        self.result, self.bodies = result, []

    def search(self, index, body, **_):
        self.bodies.append((index, body))
        return self.result


def test_sparkline_shows_any_hit_and_scales_to_the_peak():
    assert extra.sparkline([0, 1, 2, 4, 8]) == "▁▂▃▅█"
    assert extra.sparkline([0, 0]) == "▁▁"
    assert extra.sparkline([1]) == "█"


def test_histogram_fills_empty_steps_and_aligns_on_the_epoch(make_rule):
    rule = make_rule("name: r\ntype: any\nindex: logs-*\nalert: [stdout]\n")
    window = Window(dt.datetime(2026, 5, 1, 10, 7, tzinfo=UTC), dt.datetime(2026, 5, 1, 12, 7, tzinfo=UTC))
    key = int(dt.datetime(2026, 5, 1, 11, 0, tzinfo=UTC).timestamp() * 1000)
    backend = FakeBackend(SearchResult(total=7, aggregations={"h": {"buckets": [{"key": key, "doc_count": 7}]}}))
    hist = extra.histogram(backend, rule, window)
    assert (hist["interval"], hist["start"], hist["total"]) == ("2m", "2026-05-01T10:06:00.000Z", 7)
    assert len(hist["counts"]) == 61 and hist["counts"][27] == 7 and sum(hist["counts"]) == 7
    (index, body), = backend.bodies
    assert body["aggs"]["h"]["date_histogram"]["fixed_interval"] == "120000ms" and body["size"] == 0


def test_documents_show_the_fields_the_rule_uses(make_rule):
    rule = make_rule("""\
        name: r
        type: any
        index: logs-*
        query_key: kubernetes.pod_name.keyword
        filter:
        - query: {query_string: {query: "level:ERROR AND status:500"}}
        alert: [stdout]
        """)
    assert extra.columns(rule) == ["@timestamp", "kubernetes.pod_name", "level", "status", "message"]
    hits = (Hit("i", "1", {"@timestamp": "2026-05-01T10:00:00Z", "level": "ERROR", "status": 500,
                           "kubernetes": {"pod_name": "checkout-1"}, "message": "payment failed\n" + "x" * 80}),)
    backend = FakeBackend(SearchResult(hits=hits, total=12))
    now = dt.datetime(2026, 5, 1, 12, tzinfo=UTC)
    docs = extra.documents(backend, rule, Window(now - dt.timedelta(hours=1), now), 1)
    assert backend.bodies[0][1]["_source"] == {"includes": extra.columns(rule)}
    report = {"documents": docs}
    assert extra.render(report) == [
        "",
        "documents: 12 selected by the filter in the window, the first 1:",
        "@timestamp            kubernetes.pod_name  level  status  message",
        "2026-05-01T10:00:00Z  checkout-1           ERROR  500     payment failed " + "x" * 44 + "…",
    ]
