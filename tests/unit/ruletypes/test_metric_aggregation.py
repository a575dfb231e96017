"""metric_aggregation: a metric computed by the engine against thresholds."""

from __future__ import annotations

import pytest

from logalert.errors import ConfigError
from logalert.model import Window

from .support import doc, minutes, rule_text

BASE = dict(metric_agg_key="response_time", realert={"minutes": 0}, buffer_time={"minutes": 10})


def requests(start, times, host="a"):
    return [doc(minutes(start + i), id=f"{host}{start}{i}", response_time=t, host=host) for i, t in enumerate(times)]


def test_avg_over_the_window_above_the_maximum(make_type):
    rtype, engine = make_type("metric_aggregation", requests(1, [0.2, 0.4, 1.2]), metric_agg_type="avg",
                              max_threshold=0.5, **BASE)
    assert rtype.queries(Window(minutes(0), minutes(10)))[0].aggs == {
        "all": {"filter": {"match_all": {}}, "aggs": {"metric": {"avg": {"field": "response_time"}}}}}
    [m] = engine.run(rtype, Window(minutes(0), minutes(10)))
    assert m.timestamp == minutes(10)
    assert m.fields["metric_response_time_avg"] == pytest.approx(0.6)
    assert rtype.describe(m) == ("The avg of response_time was 0.6 from 2024-05-01T12:00:00.000Z to "
                                 "2024-05-01T12:10:00.000Z, above the maximum of 0.5.")


def test_min_threshold_per_query_key_and_format_string(make_type):
    docs = requests(1, [5, 6], host="a") + requests(1, [1, 1], host="b")
    rtype, engine = make_type("metric_aggregation", docs, metric_agg_type="sum", min_threshold=3, query_key="host",
                              metric_format_string="{:.2f}", **BASE)
    [m] = engine.run(rtype, Window(minutes(0), minutes(10)))
    assert (m.key, m.details["metric_response_time_sum"], m.details["reason"]) == (("b",), 2.0, "below")
    assert "was 2.00 from" in rtype.describe(m) and "below the minimum of 3" in rtype.describe(m)


def test_bucket_interval_judges_complete_buckets_once(make_type):
    docs = requests(0, [0.1, 0.1, 0.1, 0.1, 0.1, 3.0, 3.0, 0.1, 0.1, 0.1, 5.0, 5.0])
    rtype, engine = make_type("metric_aggregation", docs, metric_agg_type="max", max_threshold=1,
                              bucket_interval={"minutes": 5}, **BASE)
    first = engine.run(rtype, Window(minutes(1), minutes(12)))
    # buckets 12:00-12:05 (incomplete: the window starts 12:01, but the range starts at 12:00),
    # 12:05-12:10 (max 3.0); 12:10-12:15 is not complete yet
    assert [(m.timestamp, m.details["metric_response_time_max"]) for m in first] == [(minutes(5), 3.0)]
    second = engine.run(rtype, Window(minutes(4), minutes(16)))
    assert [(m.timestamp, m.details["metric_response_time_max"]) for m in second] == [(minutes(10), 5.0)]


def test_percentiles_and_value_count(make_type):
    docs = requests(0, [0.1] * 18 + [2.0, 3.0])
    rtype, engine = make_type("metric_aggregation", docs, metric_agg_type="percentiles", percentile_range=95,
                              max_threshold=1.5, **{**BASE, "buffer_time": {"minutes": 30}})
    [m] = engine.run(rtype, Window(minutes(0), minutes(30)))
    assert m.details["metric_response_time_percentiles"] == 2.0
    assert rtype.describe(m).startswith("The 95th percentile of response_time was 2 from")
    rtype, engine = make_type("metric_aggregation", docs, metric_agg_type="value_count", min_threshold=50,
                              **{**BASE, "buffer_time": {"minutes": 30}})
    assert [m.details["metric_response_time_value_count"] for m in engine.run(rtype, Window(minutes(0), minutes(30)))] == [20]


@pytest.mark.parametrize("options, option, message", [
    ({"metric_agg_type": "avg"}, "max_threshold", "set max_threshold, min_threshold or both"),
    ({"metric_agg_type": "percentiles", "max_threshold": 1}, "percentile_range", "required when metric_agg_type"),
    ({"metric_agg_type": "avg", "max_threshold": 1, "min_threshold": 2}, "min_threshold", "must be below"),
    ({"metric_agg_type": "avg", "max_threshold": 1, "use_count_query": True}, "use_count_query", "always aggregates"),
    ({"metric_agg_type": "median", "max_threshold": 1}, "metric_agg_type", "must be one of"),
])
def test_contradicting_options(make_rule, options, option, message):
    with pytest.raises(ConfigError) as err:
        make_rule(rule_text("metric_aggregation", metric_agg_key="x", **options))
    [problem] = err.value.problems
    assert problem.option == option and message in problem.message
