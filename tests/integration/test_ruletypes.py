"""Every rule type on the real engine with crafted EFK documents: what the engine
counts and aggregates must give the same matches the type's unit tests expect.

Times are fixed (2024-05-01T12:00Z + minutes) and every run has an explicit window,
so checkpoints and buckets are known in advance. Runs overlap the way the daemon's
do (each window starts a buffer_time before the previous one ended)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from logalert.config import load_config
from logalert.engine import Pool
from logalert.fields import lookup
from logalert.model import Window
from logalert.rules import load_rule
from logalert.run.runner import RuleRunner
from logalert.state import MemoryState
from tests.integration.helpers import engine_options, write_yaml
from tests.support.efk import bulk_load, efk_doc

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def rule_for(tmp_path, engine_url, fresh_index):
    counter = iter(range(1000))

    def make(type_name: str, **options: Any):
        data = {**engine_options(engine_url), "name": f"{type_name} {next(counter)}", "type": type_name,
                "index": f"{fresh_index}-*", "alert": ["stdout"], "realert": {"minutes": 0},
                "run_every": {"minutes": 1}, "buffer_time": {"minutes": 10}, **options}
        path = write_yaml(tmp_path / f"{data['name'].replace(' ', '_')}.yaml", data)
        rule, warnings = load_rule(str(path), load_config(None, environ={}))
        assert warnings == []
        return rule

    return make


@pytest.fixture
def load(engine, fresh_index):
    def put(docs, index: str | None = None):
        return bulk_load(engine, f"{fresh_index}-{index}" if index else None, docs, prefix=fresh_index)

    return put


def runner(rule) -> RuleRunner:
    return RuleRunner(rule, Pool(), MemoryState())


def run(r: RuleRunner, start: float, end: float):
    result = r.run(Window(at(start), at(end)), send=False)
    assert result.error is None, result.error
    return result.matches


def log(minute: float, level: str = "ERROR", message: str = "boom", **fields: Any) -> dict[str, Any]:
    return efk_doc(at(minute), level, message, **fields)


# --- frequency -------------------------------------------------------------------------
def test_frequency_burst_straddling_two_runs_fires_exactly_once(rule_for, load):
    rule = rule_for("frequency", num_events=5, timeframe={"minutes": 10},
                    filter=[{"term": {"level.keyword": "ERROR"}}])
    load([log(8), log(9), log(10), log(9.5, "INFO")])
    r = runner(rule)
    assert run(r, 0, 10.5) == []
    load([log(11), log(12, message="the fifth")])
    matches = run(r, 0.5, 12.5)
    assert [(m.timestamp, m.fields["message"], m.details["count"]) for m in matches] == [(at(12), "the fifth", 5)]
    assert run(r, 2.5, 14) == []
    # After a restart (a fresh runner and fresh state) a burst before the window is read back,
    # not alerted again…
    assert run(runner(rule), 12.5, 20) == []
    # …and a burst cut by the restart is completed across it.
    load([log(20), log(21), log(22)])
    fresh = runner(rule)
    load([log(23), log(24)])
    assert [m.timestamp for m in run(fresh, 22.5, 25)] == [at(24)]


def test_frequency_query_key_buckets_fire_independently_in_the_engine(rule_for, load):
    rule = rule_for("frequency", num_events=3, timeframe={"minutes": 5}, use_terms_query=True,
                    query_key="kubernetes.pod_name.keyword")
    load([log(1 + i * 0.5, kubernetes__pod_name="api-1") for i in range(3)]
         + [log(1 + i * 0.5, kubernetes__pod_name="api-2") for i in range(2)]
         + [log(3 + i * 0.2, kubernetes__pod_name="web-1") for i in range(4)])
    matches = run(runner(rule), 0, 10)
    # 30-second checkpoints (a tenth of the timeframe): api-1's third event is at 12:02,
    # so the window ending at 12:02:30 is the first to hold three; web-1's (12:03:24) at 12:03:30.
    assert [(m.key, m.timestamp, m.details["count"]) for m in matches] == [
        (("api-1",), at(2.5), 3), (("web-1",), at(3.5), 3)]
    assert lookup(matches[0].fields, "kubernetes.pod_name.keyword") == "api-1"  # as alert args read it
    assert matches[0].fields["kubernetes"]["pod_name"] == "api-1"  # the newest document of that pod
    assert matches[0].doc_id is None


def test_frequency_with_offsets_and_unix_timestamps(rule_for, load, fresh_index):
    # The same instant written three ways: ISO with an offset, unix seconds, unix milliseconds.
    offset = [{**log(m), "@timestamp": (at(m).astimezone(dt.timezone(dt.timedelta(hours=2)))).isoformat()}
              for m in (1, 2, 3)]
    load(offset, index="offset")
    load([{"ts": int(at(m).timestamp()), "message": "x"} for m in (1, 2, 3)], index="unix")
    load([{"ts": int(at(m).timestamp() * 1000), "message": "x"} for m in (1, 2, 3)], index="unixms")
    assert offset[0]["@timestamp"] == "2024-05-01T14:01:00+02:00"
    cases = [
        dict(index=f"{fresh_index}-offset"),
        dict(index=f"{fresh_index}-unix", timestamp_field="ts", timestamp_type="unix"),
        dict(index=f"{fresh_index}-unixms", timestamp_field="ts", timestamp_type="unix_ms"),
    ]
    for case in cases:
        for counts in (False, True):
            rule = rule_for("frequency", num_events=3, timeframe={"minutes": 5}, use_count_query=counts, **case)
            matches = run(runner(rule), 0, 10)
            expected = at(3.5) if counts else at(3)  # engine: the next 30 s checkpoint
            assert [(m.timestamp, m.details["count"]) for m in matches] == [(expected, 3)], (case, counts)


# --- flatline --------------------------------------------------------------------------
def test_flatline_fires_when_logs_stop_and_not_while_they_flow(rule_for, load):
    rule = rule_for("flatline", threshold=2, timeframe={"minutes": 5},
                    filter=[{"term": {"message.keyword": "heartbeat"}}])
    load([log(m, "INFO", "heartbeat") for m in range(-10, 10)] + [log(m, "INFO", "other") for m in range(10, 20)])
    r = runner(rule)
    for end in range(1, 11):  # the heartbeat flows until 12:09
        assert run(r, end - 10, end) == [], end
    matches = run(r, 1, 15)
    # checkpoints every 30 s: at 12:13:30 the last five minutes hold one heartbeat (12:09)
    assert [(m.timestamp, m.details["count"]) for m in matches] == [(at(13.5), 1)]
    assert [(m.timestamp, m.details["count"]) for m in run(r, 5, 16)] == [(at(16), 0)]


def test_flatline_per_query_key_from_the_documents_and_from_terms(rule_for, load):
    load([log(m, "INFO", "tick", host="node-1") for m in range(-10, 20)]
         + [log(m, "INFO", "tick", host="node-2") for m in range(-10, 5)])
    for options in ({"query_key": "host"}, {"query_key": "host.keyword", "use_terms_query": True}):
        rule = rule_for("flatline", threshold=1, timeframe={"minutes": 3}, **options)
        matches = run(runner(rule), 0, 12)
        # node-2's last tick is 12:04; checkpoints every 18 s (a tenth of 3 minutes): the
        # window ending 12:07:12 is the first without one
        assert [(m.key, m.timestamp, m.details["count"]) for m in matches] == [(("node-2",), at(7.2), 0)], options


# --- spike -----------------------------------------------------------------------------
def test_spike_up_and_down_counted_by_the_engine(rule_for, load):
    load([log(m / 2, message="5xx", status=502) for m in range(-40, 0)]  # two a minute
         + [log(m / 10, message="5xx", status=502) for m in range(0, 100)]  # ten a minute
         + [log(10 + m, message="5xx", status=502) for m in range(0, 10, 5)])  # then two in ten minutes
    up = rule_for("spike", spike_height=3, spike_type="up", timeframe={"minutes": 10}, threshold_cur=10,
                  filter=[{"range": {"status": {"gte": 500}}}])
    matches = run(runner(up), 0, 12)
    # at 12:05 the last ten minutes hold 10 + 50 = 60, three times the 20 before
    assert [(m.timestamp, m.details["spike_count"], m.details["reference_count"], m.details["direction"])
            for m in matches] == [(at(5), 60, 20, "up")]
    down = rule_for("spike", spike_height=5, spike_type="down", timeframe={"minutes": 10})
    matches = run(runner(down), 12, 22)
    # at 12:19: 10 + 2 in the last ten minutes against 2 + 90 before (12 <= 92 / 5)
    assert [(m.timestamp, m.details["spike_count"], m.details["reference_count"], m.details["direction"])
            for m in matches] == [(at(19), 12, 92, "down")]


# --- blacklist, whitelist, change ------------------------------------------------------
def test_blacklist_whitelist_and_change_on_documents(rule_for, load):
    load([log(1, user="alice"), log(2, user="mallory"), log(3, user="alice", kubernetes__namespace_name="kube-system"),
          log(4, user="bob")])
    black = run(runner(rule_for("blacklist", compare_key="user", blacklist=["mallory", "trudy"])), 0, 10)
    assert [m.fields["user"] for m in black] == ["mallory"]
    white = run(runner(rule_for("whitelist", compare_key="user", whitelist=["alice"], ignore_null=True)), 0, 10)
    assert [m.fields["user"] for m in white] == ["mallory", "bob"]
    change = run(runner(rule_for("change", compare_key="kubernetes.namespace_name", query_key="user",
                                 ignore_null=True)), 0, 10)
    assert [(m.key, m.details["old_value"], m.details["new_value"]) for m in change] == [
        (("alice",), "shop", "kube-system")]


# --- new_term --------------------------------------------------------------------------
def test_keyword_subfields_in_compare_key_and_new_term_fields(rule_for, load):
    # Rules written for aggregations name FIELD.keyword; documents only have FIELD.
    load([log(-30, user="bob"), log(1, user="mallory"), log(2, user="bob")])
    black = run(runner(rule_for("blacklist", compare_key="user.keyword", blacklist=["mallory"])), 0, 10)
    assert [m.fields["user"] for m in black] == ["mallory"]
    fresh = run(runner(rule_for("new_term", fields=["user.keyword"], terms_window_size={"days": 1})), 0, 10)
    assert [m.fields["new_value"] for m in fresh] == ["mallory"]


def test_new_term_fires_for_a_new_value_only(rule_for, load):
    load([log(-60 * 24 * 2, user="alice"), log(-30, user="bob"), log(-5, user="carol", host="node-9")])
    load([log(1, user="alice"), log(2, user="mallory"), log(3, user="mallory"), log(4, user="bob")])
    rule = rule_for("new_term", fields=["user", ["user", "host"]], terms_window_size={"days": 7})
    r = runner(rule)
    matches = run(r, 0, 10)
    # mallory is new as a user and as a (user, host) pair; both on its first document only
    assert [(m.fields["new_field"], m.fields["new_value"], m.timestamp) for m in matches] == [
        ("user", "mallory", at(2)), ("user,host", "mallory,node-1", at(2))]
    load([log(11, user="mallory"), log(12, user="trudy")])
    assert [m.fields["new_value"] for m in run(r, 2, 13)] == ["trudy", "trudy,node-1"]
    by_terms = rule_for("new_term", fields=["user"], use_terms_query=True)
    assert [(m.fields["new_value"], m.timestamp) for m in run(runner(by_terms), 0, 13)] == [
        ("mallory", at(2)), ("trudy", at(12))]


# --- cardinality -----------------------------------------------------------------------
def test_cardinality_counts_distinct_values_in_the_engine(rule_for, load):
    load([log(m, user=f"user{m % 3}", host="node-1") for m in range(-20, 10)]
         + [log(5 + m * 0.1, user=f"scan{m}", host="node-2") for m in range(6)])
    rule = rule_for("cardinality", cardinality_field="user.keyword", max_cardinality=4, timeframe={"minutes": 5},
                    query_key="host.keyword")
    matches = run(runner(rule), 0, 10)
    # node-2's fifth distinct user arrives at 12:05:24; checkpoints are 30 s apart
    assert [(m.key, m.timestamp, m.details["cardinality"]) for m in matches] == [(("node-2",), at(5.5), 5)]
    assert (matches[0].fields["cardinality"], lookup(matches[0].fields, "host.keyword")) == (5, "node-2")


# --- metric_aggregation ----------------------------------------------------------------
def test_metric_aggregation_thresholds(rule_for, load):
    load([log(m, "INFO", "req", response_time=0.1, host="node-1") for m in range(0, 10)]
         + [log(m, "INFO", "req", response_time=t, host="node-2") for m, t in ((1, 0.2), (6, 2.5), (7, 3.5))])
    avg = rule_for("metric_aggregation", metric_agg_key="response_time", metric_agg_type="avg", max_threshold=1.0,
                   query_key="host.keyword")
    [m] = run(runner(avg), 0, 10)
    assert (m.key, round(m.fields["metric_response_time_avg"], 3)) == (("node-2",), 2.067)
    assert m.timestamp == at(10)
    buckets = rule_for("metric_aggregation", metric_agg_key="response_time", metric_agg_type="max", max_threshold=1.0,
                       min_threshold=0.05, bucket_interval={"minutes": 5})
    r = runner(buckets)
    assert [(m.timestamp, m.details["metric_response_time_max"], m.details["reason"]) for m in run(r, 0, 10)] == [
        (at(5), 3.5, "above")]
    assert run(r, 1, 10.5) == []  # the same bucket never alerts twice
    pct = rule_for("metric_aggregation", metric_agg_key="response_time", metric_agg_type="percentiles",
                   percentile_range=99, max_threshold=3)
    [m] = run(runner(pct), 0, 10)
    assert m.details["metric_response_time_percentiles"] == pytest.approx(3.5, abs=0.2)


# --- spike_aggregation -----------------------------------------------------------------
def test_spike_aggregation_on_an_average(rule_for, load):
    load([log(m, "INFO", "req", response_time=0.1) for m in range(-20, 0)]
         + [log(m, "INFO", "req", response_time=0.5) for m in range(0, 10)])
    rule = rule_for("spike_aggregation", metric_agg_key="response_time", metric_agg_type="avg", spike_height=2,
                    spike_type="up", timeframe={"minutes": 10})
    matches = run(runner(rule), 0, 10)
    assert [(m.timestamp, round(m.details["spike_count"], 3), round(m.details["reference_count"], 3))
            for m in matches] == [(at(3), 0.22, 0.1)]


# --- percentage_match ------------------------------------------------------------------
def test_percentage_match_share_of_5xx(rule_for, load):
    load([log(1 + i * 0.1, "INFO", "req", status=s, host="node-1") for i, s in enumerate([200] * 8 + [502, 503])]
         + [log(1 + i * 0.1, "INFO", "req", status=s, host="node-2") for i, s in enumerate([200] * 3 + [500] * 3)])
    rule = rule_for("percentage_match", match_bucket_filter=[{"range": {"status": {"gte": 500}}}],
                    max_percentage=25, query_key="host.keyword", min_denominator=5)
    [m] = run(runner(rule), 0, 10)
    assert (m.key, m.fields["percentage"], m.fields["denominator"]) == (("node-2",), 50.0, 6)


# --- shared: top_count_keys, engine refusals --------------------------------------------
def test_top_count_keys_on_a_frequency_match(rule_for, load):
    load([log(1 + i * 0.5, kubernetes__pod_name=p) for i, p in enumerate(["api-1", "api-1", "api-2", "api-1"])])
    rule = rule_for("frequency", num_events=4, timeframe={"minutes": 10}, top_count_keys=["kubernetes.pod_name"])
    [m] = run(runner(rule), 0, 10)
    assert m.fields["top_events_kubernetes.pod_name"] == {"api-1": 3, "api-2": 1}


def test_an_aggregation_on_a_text_field_is_a_run_error_naming_rule_and_option(rule_for, load, caplog):
    load([log(1, user="alice")])
    rule = rule_for("cardinality", cardinality_field="message", max_cardinality=1, timeframe={"minutes": 5})
    r = runner(rule)
    result = r.run(Window(at(0), at(10)), send=False)
    assert result.error is not None
    worded = str(result.error)
    assert rule.where("cardinality_field") == f"{rule.file}:14"
    assert worded.startswith(f"{rule.file}:14: cardinality_field: the engine refuses this aggregation")
    assert "Text fields are not optimised" in worded
    assert any(rec.levelname == "ERROR" and rec.getMessage().startswith(f"rule {rule.name!r}: {rule.file}:14: ")
               for rec in caplog.records)
    # the rule keeps running: a corrected rule on the same engine works
    fixed = rule_for("cardinality", cardinality_field="message.keyword", max_cardinality=5, timeframe={"minutes": 5})
    assert run(runner(fixed), 0, 10) == []
