"""spike: the current timeframe against the one before, up/down/both."""

from __future__ import annotations

import pytest

from logalert.model import Window
from logalert.ruletypes.spike import spike_direction

from .support import doc, minutes

BASE = dict(timeframe={"minutes": 10}, run_every={"minutes": 1}, realert={"minutes": 0})


def spread(start, end, n, **fields):
    step = (end - start) / n
    return [doc(minutes(start + i * step), id=f"{start}-{i}-{fields}", **fields) for i in range(n)]


def test_spike_up_fires_once_per_timeframe(make_type):
    docs = spread(-30, 0, 30) + spread(0, 10, 40)  # one a minute, then four a minute
    rtype, engine = make_type("spike", docs, spike_height=3, spike_type="up", **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(12)))
    first = matches[0]
    # at 12:07 the last ten minutes hold 3 + 28 = 31 events, the ten before 10
    assert (first.timestamp, first.details["spike_count"], first.details["reference_count"]) == (minutes(7), 31, 10)
    assert first.details["direction"] == "up"
    assert first.fields["spike_count"] == 31 and first.fields["reference_count"] == 10
    assert len(matches) == 1  # the next spike may come one timeframe later
    assert rtype.describe(first) == ("Spike up: matching events = 31 from 2024-05-01T11:57:00.000Z to "
                                     "2024-05-01T12:07:00.000Z, against 10 in the 10 minutes before (spike_height 3).")


def test_spike_down_when_logs_drop(make_type):
    docs = spread(-20, -10, 30) + spread(-10, 0, 30) + spread(0, 10, 5)
    rtype, engine = make_type("spike", docs, spike_height=4, spike_type="down", **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(12)))
    assert [(m.timestamp, m.details["spike_count"], m.details["reference_count"], m.details["direction"])
            for m in matches] == [(minutes(10), 5, 30, "down")]


def test_steady_traffic_is_no_spike(make_type):
    rtype, engine = make_type("spike", spread(-30, 20, 100), spike_height=2, spike_type="both", **BASE)
    assert engine.run(rtype, Window(minutes(0), minutes(15))) == []


def test_threshold_cur_holds_back_small_numbers(make_type):
    docs = spread(-10, 0, 1) + spread(0, 10, 5)
    rtype, engine = make_type("spike", docs, spike_height=2, spike_type="up", threshold_cur=10, **BASE)
    assert engine.run(rtype, Window(minutes(0), minutes(12))) == []


def test_query_key_values_with_no_baseline_need_alert_on_new_data(make_type):
    docs = spread(-10, 0, 3, host="a") + spread(0, 10, 12, host="a") + spread(0, 10, 12, host="new")
    rtype, engine = make_type("spike", docs, spike_height=3, spike_type="up", query_key="host", **BASE)
    assert rtype.engine is False
    assert sorted({m.key for m in engine.run(rtype, Window(minutes(0), minutes(10)))}) == [("a",)]
    rtype, engine = make_type("spike", docs, spike_height=3, spike_type="up", query_key="host",
                              alert_on_new_data=True, **BASE)
    assert sorted({m.key for m in engine.run(rtype, Window(minutes(0), minutes(10)))}) == [("a",), ("new",)]


def test_field_value_compares_sums(make_type):
    docs = [doc(minutes(-15), bytes=100), doc(minutes(-14), bytes=100), doc(minutes(3), bytes=900)]
    rtype, engine = make_type("spike", docs, spike_height=4, spike_type="up", field_value="bytes", **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(5)))
    assert [(m.timestamp, m.details["spike_count"], m.details["reference_count"]) for m in matches] == [
        (minutes(4), 900.0, 200.0)]
    assert "the sum of bytes = 900" in rtype.describe(matches[0])


@pytest.mark.parametrize("cur, ref, kind, expected", [
    (30, 10, "up", "up"), (29, 10, "up", None), (3, 10, "down", "down"), (4, 10, "down", None),
    (30, 10, "both", "up"), (3, 10, "both", "down"), (0, 0, "both", None), (5, 0, "up", "up"),
])
def test_spike_direction(make_rule, cur, ref, kind, expected):
    from .support import rule_text
    rule = make_rule(rule_text("spike", spike_height=3, spike_type=kind, timeframe={"minutes": 1}))
    assert spike_direction(rule, cur, ref, counts=True) == expected
    assert spike_direction(rule, 0, 10, counts=False) is None
