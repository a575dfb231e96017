"""realert_key: the name realert silences are kept under, shared by rules that set the
same one (per query_key value); hand-made silences of the rule still count."""

from __future__ import annotations

import datetime as dt

from logalert.model import Match
from logalert.run.realert import select
from logalert.state import MemoryState, Silence

from ..conftest import at

T0 = at(2024, 5, 1, 10, 0)
RULE = "name: {name}\ntype: any\nindex: logs-*\nalert: stdout\nrealert: {{minutes: 10}}\n{extra}"


def run(rule, state, minute, key="web1"):
    out, silences = select(rule, [Match(T0 + dt.timedelta(minutes=minute), {}, key=(key,))], state)
    for s in silences:
        state.put_silence(s)
    return len(out)


def test_rules_sharing_a_realert_key_silence_each_other_per_key(make_rule):
    a = make_rule(RULE.format(name="a", extra="realert_key: disk\n"))
    b = make_rule(RULE.format(name="b", extra="realert_key: disk\n"))
    c = make_rule(RULE.format(name="c", extra=""))
    state = MemoryState()
    assert run(a, state, 0) == 1
    assert run(b, state, 1) == 0  # a's alert silences b for web1
    assert run(b, state, 2, key="web2") == 1
    assert run(c, state, 3) == 1  # its own name: not silenced
    assert state.get_silence("disk", "web1").until == T0 + dt.timedelta(minutes=10)
    assert run(b, state, 11) == 1


def test_a_hand_made_silence_of_the_rule_still_holds(make_rule):
    a = make_rule(RULE.format(name="a", extra="realert_key: disk\n"))
    state = MemoryState()
    state.put_silence(Silence("a", "web1", T0 + dt.timedelta(hours=1), 0, "manual"))
    state.put_silence(Silence("a", "*", T0 + dt.timedelta(minutes=30), 0, "manual"))
    assert run(a, state, 5) == 0
    assert run(a, state, 40, key="web2") == 1
    assert run(a, state, 45) == 0
