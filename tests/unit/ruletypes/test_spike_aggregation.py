"""spike_aggregation: a metric of the current timeframe against the one before."""

from __future__ import annotations

from logalert.model import Window

from .support import doc, minutes

BASE = dict(metric_agg_key="response_time", metric_agg_type="avg", timeframe={"minutes": 10},
            run_every={"minutes": 1}, realert={"minutes": 0})


def series(start, end, value, every=1.0, host="a"):
    out, t = [], start
    while t < end:
        out.append(doc(minutes(t), id=f"{host}{t}", response_time=value, host=host))
        t += every
    return out


def test_average_doubling_is_a_spike_up(make_type):
    docs = series(-20, 0, 0.1) + series(0, 10, 0.5)
    rtype, engine = make_type("spike_aggregation", docs, spike_height=2, spike_type="up", **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(10)))
    # at 12:03 the last ten minutes average (7 x 0.1 + 3 x 0.5) / 10 = 0.22 >= 2 x 0.1
    assert [(m.timestamp, round(m.details["spike_count"], 3), round(m.details["reference_count"], 3)) for m in matches] == [
        (minutes(3), 0.22, 0.1)]
    assert matches[0].fields["metric_response_time_avg"] == matches[0].details["spike_count"]
    assert rtype.describe(matches[0]).startswith("Spike up: the avg of response_time = 0.22 from")


def test_a_drop_with_query_key_and_an_empty_reference_is_no_spike(make_type):
    docs = series(-20, 0, 1.0, host="a") + series(0, 10, 0.1, host="a") + series(0, 10, 9.0, host="new")
    rtype, engine = make_type("spike_aggregation", docs, spike_height=4, spike_type="down", query_key="host", **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(10)))
    # at 12:09 the last ten minutes average (1 x 1.0 + 9 x 0.1) / 10 = 0.19 <= 1.0 / 4
    assert [(m.key, m.timestamp, m.details["direction"]) for m in matches] == [(("a",), minutes(9), "down")]


def test_timeframe_defaults_to_buffer_time_and_min_doc_count_holds_back(make_type):
    docs = series(-20, -10, 0.1) + [doc(minutes(5), id="x", response_time=9.0)]
    options = {k: v for k, v in BASE.items() if k != "timeframe"}
    rtype, engine = make_type("spike_aggregation", docs, spike_height=2, spike_type="up", min_doc_count=3,
                              buffer_time={"minutes": 10}, **options)
    assert rtype.timeframe.total_seconds() == 600
    assert engine.run(rtype, Window(minutes(0), minutes(10))) == []  # one document is not enough
    rtype, engine = make_type("spike_aggregation", docs, spike_height=2, spike_type="up",
                              buffer_time={"minutes": 10}, **options)
    assert [(m.timestamp, m.details["spike_count"]) for m in engine.run(rtype, Window(minutes(0), minutes(10)))] == [
        (minutes(6), 9.0)]
