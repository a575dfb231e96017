"""realert (per query_key, event time) and exponential_realert in alerting.select."""

from __future__ import annotations

import datetime as dt

from logalert.model import Match
from logalert.run.realert import key_text
from logalert.run.realert import select as _select_only
from logalert.state import MemoryState, Silence

from ..conftest import at


def select(rule, matches, state):
    """select() plus recording its silences, as the runner does after the outbox write."""
    out, silences = _select_only(rule, matches, state)
    for silence in silences:
        state.put_silence(silence)
    return out

BASE = "name: r\ntype: any\nindex: logs-*\nalert: stdout\n"
T0 = at(2024, 5, 1, 10, 0)
SEC = dt.timedelta(seconds=1)
MIN = dt.timedelta(minutes=1)


def m(offset: dt.timedelta, *key) -> Match:
    return Match(timestamp=T0 + offset, fields={"k": key[0] if key else None}, key=tuple(key))


def test_default_realert_one_minute_in_event_time(make_rule):
    rule = make_rule(BASE)
    state = MemoryState()
    matches = [m(0 * SEC), m(30 * SEC), m(59 * SEC), m(60 * SEC), m(90 * SEC), m(121 * SEC)]
    out = select(rule, matches, state)
    assert [x.timestamp for x in out] == [T0, T0 + 60 * SEC, T0 + 121 * SEC]
    assert state.get_silence("r", "").until == T0 + 121 * SEC + MIN


def test_realert_persists_across_runs(make_rule):
    rule = make_rule(BASE + "realert: {minutes: 10}\n")
    state = MemoryState()
    assert len(select(rule, [m(0 * MIN)], state)) == 1
    assert select(rule, [m(5 * MIN)], state) == []
    assert [x.timestamp for x in select(rule, [m(10 * MIN)], state)] == [T0 + 10 * MIN]


def test_realert_zero_alerts_every_match(make_rule):
    rule = make_rule(BASE + "realert: {minutes: 0}\n")
    state = MemoryState()
    assert len(select(rule, [m(0 * SEC), m(1 * SEC), m(2 * SEC)], state)) == 3
    assert state.list_silences() == []


def test_query_key_values_are_silenced_independently(make_rule):
    rule = make_rule(BASE + "query_key: host\nrealert: {minutes: 5}\n")
    state = MemoryState()
    matches = [m(0 * MIN, "web-1"), m(1 * MIN, "web-2"), m(2 * MIN, "web-1"), m(3 * MIN, "web-2"),
               m(6 * MIN, "web-1"), m(7 * MIN, "web-3")]
    out = select(rule, matches, state)
    assert [(x.key[0], x.timestamp - T0) for x in out] == [
        ("web-1", 0 * MIN), ("web-2", 1 * MIN), ("web-1", 6 * MIN), ("web-3", 7 * MIN)]
    assert {s.key: s.until - T0 for s in state.list_silences()} == {
        "web-1": 11 * MIN, "web-2": 6 * MIN, "web-3": 12 * MIN}


def test_key_text_joins_compound_keys():
    assert key_text(Match(timestamp=T0, fields={}, key=("a", None, 3))) == "a,,3"
    assert key_text(Match(timestamp=T0, fields={})) == ""


def test_manual_silence_suppresses_until_it_ends(make_rule):
    rule = make_rule(BASE + "query_key: host\n")
    state = MemoryState()
    state.put_silence(Silence("r", "web-1", T0 + 30 * MIN, 0, "manual"))
    out = select(rule, [m(10 * MIN, "web-1"), m(10 * MIN, "web-2"), m(31 * MIN, "web-1")], state)
    assert [(x.key[0], x.timestamp - T0) for x in out] == [("web-2", 10 * MIN), ("web-1", 31 * MIN)]


def _recurring(rule, state, times):
    """Feed one match right after each silence ends; return the silence lengths chosen."""
    spans = []
    moment = T0
    for _ in range(times):
        (alert,) = select(rule, [Match(timestamp=moment, fields={})], state)
        silence = state.get_silence("r", "")
        spans.append(silence.until - alert.timestamp)
        moment = silence.until + SEC
    return spans, moment


def test_exponential_realert_doubles_while_recurring_up_to_the_maximum(make_rule):
    rule = make_rule(BASE + "realert: {minutes: 1}\nexponential_realert: {minutes: 10}\n")
    spans, _ = _recurring(rule, MemoryState(), 6)
    assert spans == [1 * MIN, 2 * MIN, 4 * MIN, 8 * MIN, 10 * MIN, 10 * MIN]


def test_exponential_realert_resets_after_a_quiet_period(make_rule):
    rule = make_rule(BASE + "realert: {minutes: 1}\nexponential_realert: {hours: 1}\n")
    state = MemoryState()
    spans, moment = _recurring(rule, state, 3)
    assert spans == [1 * MIN, 2 * MIN, 4 * MIN]
    # quiet for longer than the last silence: back to plain realert
    select(rule, [Match(timestamp=moment + 30 * MIN, fields={})], state)
    silence = state.get_silence("r", "")
    assert (silence.until - (moment + 30 * MIN), silence.exponent) == (1 * MIN, 0)


def test_without_exponential_realert_the_span_stays_constant(make_rule):
    rule = make_rule(BASE + "realert: {minutes: 2}\n")
    spans, _ = _recurring(rule, MemoryState(), 4)
    assert spans == [2 * MIN] * 4


def test_exponential_realert_survives_a_long_flapping_problem(make_rule):
    rule = make_rule(BASE + "realert: {minutes: 1}\nexponential_realert: {minutes: 4}\n")
    spans, _ = _recurring(rule, MemoryState(), 60)
    assert spans[-1] == 4 * MIN


def test_exponential_realert_resets_after_quiet_period_once_capped(make_rule):
    rule = make_rule(BASE + "realert: {minutes: 1}\nexponential_realert: {minutes: 4}\n")
    state = MemoryState()
    _, moment = _recurring(rule, state, 8)  # silences are 4 minutes long now
    later = moment + dt.timedelta(hours=1)  # quiet for 15 times the silence
    select(rule, [Match(timestamp=later, fields={})], state)
    assert state.get_silence("r", "").until - later == 1 * MIN
