"""new_term: values not seen within terms_window_size alert once; the history comes
from a terms aggregation."""

from __future__ import annotations

import pytest

from logalert.errors import ConfigError
from logalert.model import Window

from .support import doc, minutes, rule_text

OLD = [doc(minutes(-60 * 24 * 3), id="o1", user="alice"), doc(minutes(-60), id="o2", user="bob")]


def test_only_values_missing_from_the_history_alert(make_type):
    docs = OLD + [doc(minutes(1), id="1", user="alice"), doc(minutes(2), id="2", user="mallory"),
                  doc(minutes(3), id="3", user="mallory"), doc(minutes(4), id="4", user="bob")]
    rtype, engine = make_type("new_term", docs, fields=["user"], terms_window_size={"days": 7})
    queries = rtype.queries(Window(minutes(0), minutes(10)))
    assert [(q.kind, q.start) for q in queries] == [("hits", None), ("aggs", minutes(-60 * 24 * 7))]
    assert queries[1].aggs["t0"]["terms"] == {"field": "user.keyword", "size": 10000}
    matches = engine.run(rtype, Window(minutes(0), minutes(10)))
    assert [(m.doc_id, m.fields["new_field"], m.fields["new_value"]) for m in matches] == [("2", "user", "mallory")]
    assert rtype.describe(matches[0]) == "New value 'mallory' of user: not seen in the 7 days before."
    engine.add([doc(minutes(11), id="5", user="mallory"), doc(minutes(12), id="6", user="trudy")])
    assert [m.doc_id for m in engine.run(rtype, Window(minutes(5), minutes(15)))] == ["6"]
    assert [q.kind for q in rtype.queries(Window(minutes(15), minutes(16)))] == ["hits"]


def test_values_older_than_the_window_size_are_new_again(make_type):
    docs = OLD + [doc(minutes(1), id="1", user="alice")]
    rtype, engine = make_type("new_term", docs, fields=["user"], terms_window_size={"days": 1})
    assert [m.doc_id for m in engine.run(rtype, Window(minutes(0), minutes(10)))] == ["1"]


def test_compound_fields_and_multi_valued_fields(make_type):
    docs = [doc(minutes(-30), id="o", host="a", user="x", tags=["red"]),
            doc(minutes(1), id="1", host="a", user="y", tags=["red", "blue"]),
            doc(minutes(2), id="2", host="a", user="x", tags=["red"])]
    rtype, engine = make_type("new_term", docs, fields=[["host", "user"], "tags"], use_keyword_postfix=False)
    matches = engine.run(rtype, Window(minutes(0), minutes(10)))
    assert [(m.doc_id, m.fields["new_field"], m.fields["new_value"]) for m in matches] == [
        ("1", "host,user", "a,y"), ("1", "tags", "blue")]


def test_missing_fields_alert_only_when_asked(make_type):
    docs = [doc(minutes(1), id="1")]
    rtype, engine = make_type("new_term", docs, fields=["user"])
    assert engine.run(rtype, Window(minutes(0), minutes(10))) == []
    rtype, engine = make_type("new_term", docs, fields=["user"], alert_on_missing_field=True)
    [m] = engine.run(rtype, Window(minutes(0), minutes(10)))
    assert m.fields["missing_field"] == "user"
    assert rtype.describe(m) == "The document has no user (alert_on_missing_field is set)."


def test_a_restart_skipping_seen_documents_still_knows_their_terms(make_type):
    docs = [doc(minutes(1), id="1", user="mallory"), doc(minutes(12), id="2", user="mallory")]
    rtype, engine = make_type("new_term", docs, fields=["user"])
    engine.seen = {"1"}  # alerted before the restart; the resumed window starts at 12:00:30
    assert engine.run(rtype, Window(minutes(0.5), minutes(13))) == []


def test_use_terms_query_reads_the_window_s_terms_from_the_engine(make_type):
    docs = OLD + [doc(minutes(2), id="1", user="mallory"), doc(minutes(1), id="2", user="mallory"),
                  doc(minutes(3), id="3", user="bob")]
    rtype, engine = make_type("new_term", docs, fields=["user"], use_terms_query=True, terms_size=20,
                              query_key="user")
    assert [q.kind for q in rtype.queries(Window(minutes(0), minutes(10)))] == ["aggs"]
    matches = engine.run(rtype, Window(minutes(0), minutes(10)))
    assert [(m.timestamp, m.key, m.fields["user"]) for m in matches] == [(minutes(1), ("mallory",), "mallory")]
    assert matches[0].doc_id is None
    engine.add([doc(minutes(11), id="4", user="trudy"), doc(minutes(12), id="5", user="mallory")])
    queries = rtype.queries(Window(minutes(5), minutes(15)))
    assert queries[0].aggs["t0"]["terms"]["size"] == 20
    assert [m.fields["user"] for m in engine.run(rtype, Window(minutes(5), minutes(15)))] == ["trudy"]


def test_fields_or_query_key_is_needed_and_use_count_query_is_refused(make_rule):
    with pytest.raises(ConfigError) as err:
        make_rule(rule_text("new_term", use_count_query=True))
    assert sorted(p.option for p in err.value.problems) == ["fields", "use_count_query"]
    rule = make_rule(rule_text("new_term", query_key=["host", "user"]))
    from logalert.ruletypes.new_term import NewTermRule
    assert NewTermRule(rule).specs == [("host", "user")]


def test_at_most_max_keys_terms_per_field_are_remembered(make_type, monkeypatch):
    from logalert.ruletypes import common

    monkeypatch.setattr(common, "MAX_KEYS", 10)
    docs = [doc(minutes(i), id=str(i), user=f"u{i}") for i in range(25)]
    rtype, engine = make_type("new_term", docs, fields=["user"], terms_window_size={"days": 1})
    assert len(engine.run(rtype, Window(minutes(0), minutes(30)))) == 25
    assert len(rtype.known[0]) <= 10 and ("u24",) in rtype.known[0] and ("u0",) not in rtype.known[0]
