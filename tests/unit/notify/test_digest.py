"""aggregation: buckets per aggregation_key, span or cron send times, digests."""

from __future__ import annotations

import datetime as dt

from logalert.model import Match
from logalert.notify import digest
from logalert.state import MemoryState

from ..conftest import at

BASE = "name: agg\ntype: any\nindex: logstash-*\nalert: stdout\n"


def m(moment, pod, msg="boom"):
    return Match(timestamp=moment, fields={"kubernetes": {"pod_name": pod}, "message": msg},
                 index="i", doc_id=f"{pod}-{moment.isoformat()}-{msg}")


def test_matches_collect_per_key_until_the_span_ends(make_rule):
    rule = make_rule(BASE + "aggregation: {minutes: 10}\naggregation_key: kubernetes.pod_name\n")
    state = MemoryState()
    now = at(2024, 5, 1, 12, 0)
    digest.collect(rule, [m(now, "a"), m(now, "b"), m(now + dt.timedelta(minutes=1), "a")], state, now)
    a, b = state.get_aggregation("agg", "a"), state.get_aggregation("agg", "b")
    assert (len(a.matches), len(b.matches)) == (2, 1)
    assert a.send_at == now + dt.timedelta(minutes=10)
    assert state.due_aggregations("agg", now + dt.timedelta(minutes=9)) == []
    assert sorted(x.key for x in state.due_aggregations("agg", now + dt.timedelta(minutes=10))) == ["a", "b"]


def test_the_same_match_twice_is_kept_once(make_rule):
    rule = make_rule(BASE + "aggregation: {minutes: 5}\n")
    state = MemoryState()
    now = at(2024, 5, 1, 12, 0)
    digest.collect(rule, [m(now, "a")], state, now)
    digest.collect(rule, [m(now, "a")], state, now)  # re-evaluated after a crash
    assert len(state.get_aggregation("agg", "").matches) == 1


def test_aggregate_by_match_time_and_cron_schedule(make_rule):
    by_match = make_rule(BASE + "aggregation: {minutes: 10}\naggregate_by_match_time: true\n")
    state = MemoryState()
    digest.collect(by_match, [m(at(2024, 5, 1, 11, 0), "a")], state, at(2024, 5, 1, 12, 0))
    assert state.get_aggregation("agg", "").send_at == at(2024, 5, 1, 11, 10)
    cron = make_rule(BASE + 'aggregation: {schedule: "*/15 * * * *"}\n')
    state = MemoryState()
    digest.collect(cron, [m(at(2024, 5, 1, 12, 3), "a")], state, at(2024, 5, 1, 12, 3))
    assert state.get_aggregation("agg", "").send_at == at(2024, 5, 1, 12, 15)


def test_cron_schedule_counts_weekdays_as_crontab_does(make_rule):
    # 1 is Monday in crontab; 2024-05-03 is a Friday, so the digest goes out Monday 09:00.
    rule = make_rule(BASE + 'aggregation: {schedule: "0 9 * * 1"}\n')
    state = MemoryState()
    digest.collect(rule, [m(at(2024, 5, 3, 12, 0), "a")], state, at(2024, 5, 3, 12, 0))
    assert state.get_aggregation("agg", "").send_at == at(2024, 5, 6, 9, 0)


def test_digest_with_summary_table_and_bodies(make_rule):
    rule = make_rule(BASE + "aggregation: {minutes: 10}\nsummary_table_fields: [kubernetes.pod_name]\n"
                     "alert_text: 'pod {0}'\nalert_text_args: [kubernetes.pod_name]\nalert_text_type: exclude_fields\n")
    state = MemoryState()
    now = at(2024, 5, 1, 12, 0)
    digest.collect(rule, [m(now, "a", "1"), m(now, "b", "2"), m(now, "a", "3")], state, now)
    [bucket] = state.due_aggregations("agg", now + dt.timedelta(hours=1))
    subject, body, matches = digest.digest(rule, bucket, lambda match: "")
    assert subject == "logalert: agg"
    assert len(matches) == 3
    lines = body.splitlines()
    assert lines[:5] == ["Aggregation summary (3 matches):", "kubernetes.pod_name | count",
                         "---------------------------", "a | 2", "b | 1"]
    assert body.count("pod a") == 2 and body.count("pod b") == 1


def test_summary_only(make_rule):
    rule = make_rule(BASE + "aggregation: {minutes: 10}\nsummary_table_fields: [kubernetes.pod_name]\n"
                     "alert_text_type: aggregation_summary_only\n")
    state = MemoryState()
    now = at(2024, 5, 1, 12, 0)
    digest.collect(rule, [m(now, "a")], state, now)
    [bucket] = state.due_aggregations("agg", now + dt.timedelta(hours=1))
    _, body, _ = digest.digest(rule, bucket, lambda match: "")
    assert body == "Aggregation summary (1 matches):\nkubernetes.pod_name | count\n---------------------------\na | 1"
