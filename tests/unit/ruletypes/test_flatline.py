"""flatline: fewer than threshold events within timeframe; fires when logs stop."""

from __future__ import annotations

from logalert.model import Window

from .support import doc, minutes

BASE = dict(threshold=3, timeframe={"minutes": 5}, run_every={"minutes": 1}, realert={"minutes": 0})


def steady(start, end, every=0.5, **fields):
    out, t = [], start
    while t < end:
        out.append(doc(minutes(t), id=f"{t}-{fields}", **fields))
        t += every
    return out


def test_no_match_while_logs_flow(make_type):
    rtype, engine = make_type("flatline", steady(-20, 30), **BASE)
    assert rtype.engine is True
    for start in range(0, 20, 1):
        assert engine.run(rtype, Window(minutes(start - 15), minutes(start + 0.5))) == []


def test_fires_where_logs_stop_and_once_per_run_while_they_stay_stopped(make_type):
    rtype, engine = make_type("flatline", steady(-20, 10), **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(16)))
    # last events at 12:09:30; at 12:14 the 5-minute window holds 2 (12:09, 12:09:30) < 3
    assert [(m.timestamp, m.details["count"]) for m in matches] == [(minutes(14), 2)]
    assert matches[0].fields == {"@timestamp": "2024-05-01T12:14:00.000Z", "count": 2}
    assert rtype.describe(matches[0]) == ("Only 2 matching events within 5 minutes (from 2024-05-01T12:09:00.000Z "
                                          "to 2024-05-01T12:14:00.000Z); fewer than 3 makes an alert.")
    again = engine.run(rtype, Window(minutes(1), minutes(17)))
    assert [(m.timestamp, m.details["count"]) for m in again] == [(minutes(17), 0)]


def test_fires_on_the_first_run_when_the_engine_has_nothing(make_type):
    rtype, engine = make_type("flatline", **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(2.7)))
    # checkpoints every 30 s (a tenth of the timeframe): the newest is 12:02:30
    assert [(m.timestamp, m.details["count"]) for m in matches] == [(minutes(2.5), 0)]


def test_query_key_values_go_flat_on_their_own(make_type):
    docs = steady(-20, 30, host="a") + steady(-20, 5, host="b")
    rtype, engine = make_type("flatline", docs, query_key="host", **BASE)
    assert rtype.engine is False  # a query_key without use_terms_query: documents are read
    matches = engine.run(rtype, Window(minutes(0), minutes(12)))
    assert [(m.key, m.timestamp) for m in matches] == [(("b",), minutes(9))]
    assert matches[0].fields == {"@timestamp": "2024-05-01T12:09:00.000Z", "host": "b", "count": 2, "key": "b"}


def test_use_terms_query_counts_per_value_in_the_engine_and_remembers_silent_values(make_type):
    docs = steady(-20, 30, host="a") + steady(-20, 5, host="b")
    rtype, engine = make_type("flatline", docs, query_key="host", use_terms_query=True, **BASE)
    assert rtype.engine is True
    assert [(m.key, m.timestamp) for m in engine.run(rtype, Window(minutes(0), minutes(12)))] == [(("b",), minutes(9))]
    # b's last events are now out of this run's span, but it is still watched
    later = engine.run(rtype, Window(minutes(20), minutes(31)))
    assert [(m.key, m.timestamp, m.details["count"]) for m in later] == [(("b",), minutes(31), 0)]


def test_forget_keys_stops_watching_a_value_until_it_returns(make_type):
    docs = steady(-20, 5, host="b")
    rtype, engine = make_type("flatline", docs, query_key="host", forget_keys=True, **BASE)
    assert [m.key for m in engine.run(rtype, Window(minutes(0), minutes(12)))] == [("b",)]
    assert engine.run(rtype, Window(minutes(5), minutes(20))) == []
    engine.add(steady(21, 22.5, every=0.25, host="b"))  # back for a while: watched again
    assert [(m.key, m.timestamp) for m in engine.run(rtype, Window(minutes(10), minutes(30)))] == [(("b",), minutes(27))]


def test_a_fresh_instance_knows_values_seen_in_the_timeframe_before_its_window(make_type):
    rtype, engine = make_type("flatline", steady(-9, -3, host="b"), query_key="host", **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(3)))
    # at 12:00:30 the window [11:55:30, 12:00:30) still holds 11:55:30, 11:56, 11:56:30
    assert [(m.key, m.timestamp, m.details["count"]) for m in matches] == [(("b",), minutes(1), 2)]


def test_at_most_max_keys_values_are_watched_those_silent_longest_go_first(make_type, monkeypatch):
    from logalert.ruletypes import common

    monkeypatch.setattr(common, "MAX_KEYS", 10)
    early = [d for i in range(8) for d in steady(i, i + 1, host=f"a{i}")]  # logs until 12:08
    late = [d for i in range(12) for d in steady(20 + i, 21 + i, host=f"b{i:02d}")]
    rtype, engine = make_type("flatline", early + late, query_key="host", **BASE)
    engine.run(rtype, Window(minutes(0), minutes(16)))
    assert len(rtype.known) == 8
    engine.run(rtype, Window(minutes(16), minutes(40)))
    assert 0 < len(rtype.known) <= 10 and all(k[0].startswith("b") for k in rtype.known)
