"""whitelist: compare_key not on the list is a match; ignore_null decides missing fields."""

from __future__ import annotations

import pytest

from logalert.errors import ConfigError
from logalert.model import Window

from .support import doc, minutes, rule_text

WINDOW = Window(minutes(0), minutes(10))
DOCS = [doc(minutes(1), id="1", user="alice"), doc(minutes(2), id="2", user="mallory"),
        doc(minutes(3), id="3"), doc(minutes(4), id="4", user=["alice", "trudy"])]


def test_values_off_the_list_match(make_type):
    rtype, engine = make_type("whitelist", DOCS, compare_key="user", whitelist=["alice", "bob"], ignore_null=True)
    matches = engine.run(rtype, WINDOW)
    assert [m.doc_id for m in matches] == ["2", "4"]
    assert rtype.describe(matches[0]) == "user is 'mallory', which is not on the whitelist."


def test_missing_values_match_unless_ignore_null(make_type):
    rtype, engine = make_type("whitelist", DOCS, compare_key="user", whitelist=["alice", "bob"], ignore_null=False)
    matches = engine.run(rtype, WINDOW)
    assert [m.doc_id for m in matches] == ["2", "3", "4"]
    assert rtype.describe(matches[1]) == "user is missing (ignore_null is false)."


def test_ignore_null_is_required(make_rule):
    with pytest.raises(ConfigError) as err:
        make_rule(rule_text("whitelist", compare_key="user", whitelist=["a"]))
    assert [(p.option, p.message) for p in err.value.problems] == [("ignore_null", "required option is missing")]
