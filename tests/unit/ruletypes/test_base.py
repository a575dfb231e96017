"""What every rule type shares: top_count_keys, refusals naming the option, the
options a type cannot honour."""

from __future__ import annotations

import pytest

from logalert.errors import ConfigError, EngineError
from logalert.model import Query, Window
from logalert.ruletypes.base import refusal

from .support import doc, minutes, rule_text


def test_top_count_keys_are_attached_per_query_key_value(make_type):
    docs = ([doc(minutes(1 + i * 0.1), id=f"a{i}", host="a", path=p) for i, p in enumerate(["/x", "/x", "/y", "/x", "/z"])]
            + [doc(minutes(1 + i * 0.1), id=f"b{i}", host="b", path="/b") for i in range(5)])
    rtype, engine = make_type("frequency", docs, num_events=5, timeframe={"minutes": 10}, query_key="host",
                              top_count_keys=["path"], top_count_number=2)
    queries = rtype.queries(Window(minutes(0), minutes(5)))
    assert [q.kind for q in queries] == ["hits", "hits", "aggs"]
    top = queries[-1]
    assert (top.start, top.option) == (minutes(-5), "top_count_keys")
    assert top.aggs == {"by_key": {"terms": {"field": "host.keyword", "size": 100},
                                   "aggs": {"top0": {"terms": {"field": "path.keyword", "size": 2}}}}}
    matches = engine.run(rtype, Window(minutes(0), minutes(5)))
    assert {m.key: m.fields["top_events_path"] for m in matches} == {("a",): {"/x": 3, "/y": 1}, ("b",): {"/b": 5}}


def test_raw_count_keys_false_aggregates_the_field_as_written(make_type):
    rtype, _ = make_type("any", top_count_keys=["status"], raw_count_keys=False)
    [_, top] = rtype.queries(Window(minutes(0), minutes(5)))
    assert top.aggs == {"top0": {"terms": {"field": "status", "size": 5}}}
    assert top.start == minutes(-10)  # buffer_time (15 minutes by default) back from the end


def test_a_refused_aggregation_names_the_rule_file_line_and_option(make_rule):
    rule = make_rule(rule_text("metric_aggregation", metric_agg_key="message", metric_agg_type="cardinality",
                               max_threshold=3))
    error = EngineError("search refused", reason="Text fields are not optimised for operations …")
    wrapped = refusal(rule, Query("aggs", aggs={}, option="metric_agg_key, query_key"), error)
    assert str(wrapped) == (f"{rule.file}:6: metric_agg_key, query_key: the engine refuses this aggregation "
                            "(aggregations need keyword, numeric or date fields, e.g. NAME.keyword): "
                            "Text fields are not optimised for operations …")
    assert refusal(rule, Query("hits"), error) is error


def test_any_reads_documents_so_counting_options_contradict_it(make_rule):
    with pytest.raises(ConfigError) as err:
        make_rule(rule_text("any", use_count_query=True))
    [problem] = err.value.problems
    assert (problem.option, problem.line) == ("use_count_query", 6)
    assert "cannot be used with type 'any'" in problem.message
