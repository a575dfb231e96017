"""cardinality: distinct values within timeframe, counted by the engine at checkpoints."""

from __future__ import annotations

import pytest

from logalert.errors import ConfigError
from logalert.model import Window

from .support import doc, minutes, rule_text

BASE = dict(cardinality_field="user", timeframe={"minutes": 10}, run_every={"minutes": 1}, realert={"minutes": 0})


def logins(start, users, host="a", every=1.0):
    return [doc(minutes(start + i * every), id=f"{host}{start}{i}", user=u, host=host) for i, u in enumerate(users)]


def test_max_cardinality_fires_where_it_is_crossed(make_type):
    docs = logins(1, ["u1", "u2", "u1", "u3", "u4", "u1"])  # the fourth distinct user at 12:05
    rtype, engine = make_type("cardinality", docs, max_cardinality=3, **BASE)
    matches = engine.run(rtype, Window(minutes(0), minutes(8)))
    assert [(m.timestamp, m.details["cardinality"], m.details["reason"]) for m in matches] == [(minutes(6), 4, "above")]
    # the newest document of the window comes along for the alert text
    assert matches[0].fields["cardinality"] == 4 and matches[0].fields["user"] == "u1"
    assert matches[0].fields["@timestamp"] == "2024-05-01T12:06:00.000Z"
    assert rtype.describe(matches[0]) == ("4 distinct values of user within 10 minutes (from 2024-05-01T11:56:00.000Z "
                                          "to 2024-05-01T12:06:00.000Z), above the maximum of 3.")
    # still above in the next run: once more, at its newest checkpoint
    assert [m.timestamp for m in engine.run(rtype, Window(minutes(2), minutes(9)))] == [minutes(9)]


def test_min_cardinality_and_query_key(make_type):
    docs = logins(-20, ["u1", "u2", "u3"] * 8, host="a") + logins(-20, ["u1"] * 24, host="b")
    rtype, engine = make_type("cardinality", docs, min_cardinality=2, query_key="host", **BASE)
    queries = rtype.queries(Window(minutes(0), minutes(5)))
    assert queries[0].option == "cardinality_field, query_key"
    matches = engine.run(rtype, Window(minutes(0), minutes(5)))
    assert [(m.key, m.timestamp, m.details["cardinality"], m.details["reason"]) for m in matches] == [
        (("b",), minutes(5), 1, "below")]


def test_min_cardinality_waits_until_a_value_has_a_full_timeframe(make_type):
    docs = logins(1, ["u1"] * 12, host="new")
    rtype, engine = make_type("cardinality", docs, min_cardinality=2, query_key="host", **BASE)
    # its first login is at 12:01: the window ending 12:11 is the first it fills
    assert [(m.timestamp, m.details["cardinality"]) for m in engine.run(rtype, Window(minutes(0), minutes(13)))] == [
        (minutes(11), 1)]


@pytest.mark.parametrize("options, option, message", [
    ({}, "max_cardinality", "set max_cardinality, min_cardinality or both"),
    ({"max_cardinality": 2, "min_cardinality": 5}, "min_cardinality", "must be below max_cardinality"),
    ({"max_cardinality": 2, "use_terms_query": True}, "use_terms_query", "cannot be used with type 'cardinality'"),
])
def test_contradicting_options(make_rule, options, option, message):
    with pytest.raises(ConfigError) as err:
        make_rule(rule_text("cardinality", cardinality_field="u", timeframe={"minutes": 1}, **options))
    [problem] = err.value.problems
    assert problem.option == option and message in problem.message
