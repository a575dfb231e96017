"""frequency: num_events within timeframe, per query_key value, once per burst."""

from __future__ import annotations

import pytest

from logalert.model import Window

from .support import doc, minutes

BASE = dict(num_events=5, timeframe={"minutes": 10}, realert={"minutes": 0})


def burst(start, n, every=1.0, **fields):
    return [doc(minutes(start + i * every), id=f"{start}-{i}-{fields}", **fields) for i in range(n)]


def test_five_events_in_ten_minutes_fire_once_at_the_fifth(make_type):
    rtype, engine = make_type("frequency", burst(1, 7), **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(15)))
    assert len(matches) == 1
    m = matches[0]
    assert m.timestamp == minutes(5)
    assert m.doc_id == "1-4-{}"
    assert m.details["count"] == 5
    assert m.details["start"] == "2024-05-01T11:55:00.000Z" and m.details["end"] == "2024-05-01T12:05:00.000Z"
    assert rtype.describe(m) == ("5 matching events within 10 minutes (from 2024-05-01T11:55:00.000Z to "
                                 "2024-05-01T12:05:00.000Z); the rule alerts at 5.")


def test_four_events_do_not_fire_and_spread_out_events_do_not_either(make_type):
    rtype, engine = make_type("frequency", burst(1, 4) + burst(20, 5, every=3), **BASE)
    assert engine.run(rtype, Window(minutes(0), minutes(40))) == []


def test_after_a_match_counting_starts_afresh(make_type):
    rtype, engine = make_type("frequency", burst(1, 10, every=0.5) + burst(6, 4, every=0.2), **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(15)))
    assert [m.timestamp for m in matches] == [minutes(3), minutes(5.5)]
    assert [m.details["count"] for m in matches] == [5, 5]


def test_a_burst_straddling_two_overlapping_runs_fires_exactly_once(make_type):
    rtype, engine = make_type("frequency", **BASE)
    engine.add(burst(8, 3))  # 12:08, 12:09, 12:10
    assert engine.run(rtype, Window(minutes(0), minutes(10.5))) == []
    engine.add(burst(11, 2))  # 12:11, 12:12 arrive for the next run
    matches = engine.run(rtype, Window(minutes(5), minutes(13)))
    assert [m.timestamp for m in matches] == [minutes(12)]
    assert engine.run(rtype, Window(minutes(8), minutes(14))) == []


def test_a_fresh_instance_rebuilds_its_windows_from_before_its_window(make_type):
    # A restart between 12:10 and 12:11: three events before the window, two in it.
    docs = burst(8, 3) + burst(11, 2)
    rtype, engine = make_type("frequency", docs, **BASE)
    matches = engine.run(rtype, Window(minutes(10.5), minutes(20)))
    assert [m.timestamp for m in matches] == [minutes(12)]
    assert matches[0].details["count"] == 5


def test_a_burst_cut_by_a_restart_is_completed_when_the_state_remembers_seen_documents(make_type):
    # Before the restart the daemon evaluated 12:08-12:10 (its last window ended 12:10:30);
    # the persisted state resumes at 12:00:30 and skips those as seen.
    docs = burst(8, 3) + burst(11, 2)
    rtype, engine = make_type("frequency", docs, **BASE)
    engine.seen = {d["_id"] for d in docs[:3]}
    queries = rtype.queries(Window(minutes(0.5), minutes(12.5)))
    assert [(q.kind, q.seen_too, q.start) for q in queries] == [("hits", False, None), ("hits", True, minutes(-19))]
    matches = engine.run(rtype, Window(minutes(0.5), minutes(12.5)))
    assert [(m.timestamp, m.details["count"]) for m in matches] == [(minutes(12), 5)]
    assert [q.seen_too for q in rtype.queries(Window(minutes(2), minutes(13)))] == [False]


def test_documents_evaluated_before_a_restart_do_not_alert_again(make_type):
    docs = burst(2, 5)
    rtype, engine = make_type("frequency", docs, **BASE)
    engine.seen = {d["_id"] for d in docs}
    assert engine.run(rtype, Window(minutes(0.5), minutes(12.5))) == []
    engine.add([doc(minutes(12), id="next")])
    assert engine.run(rtype, Window(minutes(2), minutes(13))) == []


def test_a_burst_complete_before_the_window_is_not_alerted_by_a_fresh_instance(make_type):
    rtype, engine = make_type("frequency", burst(1, 6) + burst(9, 1), **BASE)
    assert engine.run(rtype, Window(minutes(8), minutes(20))) == []


def test_query_key_values_count_on_their_own(make_type):
    docs = burst(1, 5, host="a") + burst(1, 4, host="b") + burst(1.5, 5, **{"kubernetes__pod_name": "p"})
    rtype, engine = make_type("frequency", docs, query_key="host", **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(15)))
    assert [(m.key, m.timestamp) for m in matches] == [(("a",), minutes(5)), ((None,), minutes(5.5))]


def test_compound_and_dotted_query_keys(make_type):
    docs = (burst(1, 5, host="a", kubernetes__pod_name="x") + burst(1, 5, host="a", kubernetes__pod_name="y")
            + burst(1, 4, host="b", kubernetes__pod_name="x"))
    rtype, engine = make_type("frequency", docs, query_key=["host", "kubernetes.pod_name"], **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(15)))
    assert sorted(m.key for m in matches) == [("a", "x"), ("a", "y")]
    assert rtype.describe(matches[0]).startswith("5 matching events for host=a, kubernetes.pod_name=")


def test_a_late_document_completes_an_earlier_window(make_type):
    rtype, engine = make_type("frequency", burst(2, 4), **BASE)
    assert engine.run(rtype, Window(minutes(0), minutes(10))) == []
    engine.add([doc(minutes(1.5), id="late")])  # indexed late, inside the buffer_time overlap
    matches = engine.run(rtype, Window(minutes(0), minutes(11)))
    assert [m.timestamp for m in matches] == [minutes(5)]
    assert matches[0].details["count"] == 5


@pytest.mark.parametrize("option", ["use_count_query", "use_terms_query"])
def test_engine_counts_give_the_same_burst_once(make_type, option):
    docs = burst(1, 5, host="a") + burst(1, 3, host="b")
    rtype, engine = make_type("frequency", docs, query_key="host", run_every={"minutes": 1}, **{option: True}, **BASE)
    queries = rtype.queries(Window(minutes(0), minutes(15)))
    assert [q.kind for q in queries] == ["aggs"]
    assert queries[0].option == "query_key"
    matches = engine.run(rtype, Window(minutes(0), minutes(15)))
    # the first one-minute checkpoint after the fifth event (12:05) is 12:06
    assert [(m.key, m.timestamp, m.details["count"]) for m in matches] == [(("a",), minutes(6), 5)]
    assert matches[0].doc_id is None and matches[0].fields["count"] == 5
    # the newest document of that value comes along for the alert text; the alert's
    # timestamp is the checkpoint's, where the count reached the threshold
    assert matches[0].fields["host"] == "a" and matches[0].fields["@timestamp"] == "2024-05-01T12:06:00.000Z"
    assert engine.run(rtype, Window(minutes(5), minutes(16))) == []


def test_use_count_query_without_query_key_counts_everything(make_type):
    rtype, engine = make_type("frequency", burst(1, 5), use_count_query=True, run_every={"minutes": 1}, **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(15)))
    assert [(m.key, m.timestamp) for m in matches] == [((), minutes(6))]
    assert rtype.queries(Window(minutes(0), minutes(15)))[0].aggs["t"]["date_histogram"]["fixed_interval"] == "60000ms"


def test_unix_timestamps_use_a_numeric_histogram(make_type):
    docs = [{"ts": int(minutes(1 + i).timestamp()), "_id": str(i)} for i in range(5)]
    rtype, engine = make_type("frequency", docs, timestamp_field="ts", timestamp_type="unix",
                              use_count_query=True, run_every={"minutes": 1}, **BASE)
    aggs = rtype.queries(Window(minutes(0), minutes(15)))[0].aggs
    assert aggs["t"]["histogram"] == {"field": "ts", "interval": 60.0, "min_doc_count": 1}
    assert [m.timestamp for m in engine.run(rtype, Window(minutes(0), minutes(15)))] == [minutes(6)]
