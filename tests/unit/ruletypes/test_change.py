"""change: compare_key differs from the previous document of the same query_key value."""

from __future__ import annotations

import pytest

from logalert.errors import ConfigError
from logalert.model import Window

from .support import doc, minutes, rule_text

BASE = dict(compare_key="country", query_key="user", ignore_null=True, buffer_time={"minutes": 10})


def test_a_change_per_query_key_value(make_type):
    docs = [doc(minutes(1), id="1", user="alice", country="NL"), doc(minutes(2), id="2", user="bob", country="DE"),
            doc(minutes(3), id="3", user="alice", country="NL"), doc(minutes(4), id="4", user="alice", country="FR"),
            doc(minutes(5), id="5", user="bob", country="DE"), doc(minutes(6), id="6", user="alice")]
    rtype, engine = make_type("change", docs, **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(10)))
    assert [(m.doc_id, m.key, m.fields["old_value"], m.fields["new_value"]) for m in matches] == [
        ("4", ("alice",), "NL", "FR")]
    assert rtype.describe(matches[0]) == ("country changed from 'NL' to 'FR' for user=alice "
                                          "(the previous value was seen at 2024-05-01T12:03:00.000Z).")


def test_without_ignore_null_a_missing_value_is_a_change(make_type):
    docs = [doc(minutes(1), id="1", user="alice", country="NL"), doc(minutes(2), id="2", user="alice")]
    rtype, engine = make_type("change", docs, **{**BASE, "ignore_null": False})
    assert [(m.doc_id, m.details["new_value"]) for m in engine.run(rtype, Window(minutes(0), minutes(10)))] == [("2", None)]


def test_timeframe_forgets_old_values(make_type):
    docs = [doc(minutes(1), id="1", user="alice", country="NL"), doc(minutes(20), id="2", user="alice", country="FR"),
            doc(minutes(22), id="3", user="alice", country="DE")]
    rtype, engine = make_type("change", docs, timeframe={"minutes": 10}, **BASE)
    assert [m.doc_id for m in engine.run(rtype, Window(minutes(0), minutes(30)))] == ["3"]


def test_a_compound_compare_key(make_type):
    docs = [doc(minutes(1), id="1", user="a", country="NL", city="Delft"),
            doc(minutes(2), id="2", user="a", country="NL", city="Leiden")]
    rtype, engine = make_type("change", docs, **{**BASE, "compare_key": ["country", "city"]})
    [m] = engine.run(rtype, Window(minutes(0), minutes(10)))
    assert (m.details["old_value"], m.details["new_value"]) == (["NL", "Delft"], ["NL", "Leiden"])


def test_overlapping_runs_and_a_fresh_instance_remember_the_last_value(make_type):
    docs = [doc(minutes(1), id="1", user="alice", country="NL"), doc(minutes(12), id="2", user="alice", country="FR")]
    rtype, engine = make_type("change", docs[:1], **BASE)
    assert engine.run(rtype, Window(minutes(0), minutes(10))) == []
    engine.add(docs[1:])
    assert [m.doc_id for m in engine.run(rtype, Window(minutes(5), minutes(15)))] == ["2"]
    # after a restart the window starts at 12:05; the value of 12:01 is read back, not alerted
    rtype, fresh = make_type("change", docs, **BASE)
    assert [m.doc_id for m in fresh.run(rtype, Window(minutes(5), minutes(15)))] == ["2"]
    assert rtype.queries(Window(minutes(15), minutes(16)))[0].start is None


def test_query_key_is_required_and_counts_are_refused(make_rule):
    with pytest.raises(ConfigError) as err:
        make_rule(rule_text("change", compare_key="x", ignore_null=True, use_count_query=True))
    assert sorted((p.option, p.message.split(":")[0]) for p in err.value.problems) == [
        ("query_key", "required option is missing"), ("use_count_query", "cannot be used with type 'change'")]


def test_without_timeframe_at_most_max_keys_values_are_remembered(make_type, monkeypatch):
    from logalert.ruletypes import common

    monkeypatch.setattr(common, "MAX_KEYS", 10)
    docs = [doc(minutes(i), id=str(i), user=f"u{i}", country="NL") for i in range(25)]
    rtype, engine = make_type("change", docs, **BASE)
    engine.run(rtype, Window(minutes(0), minutes(30)))
    assert len(rtype.last) <= 10
    assert ("u24",) in rtype.last and ("u0",) not in rtype.last  # the least recently seen went
