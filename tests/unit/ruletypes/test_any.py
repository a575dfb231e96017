"""any: every new document of the window is a match, once; counting options are refused."""

from __future__ import annotations

import pytest

from logalert.errors import ConfigError
from logalert.model import Window

from .support import doc, minutes, rule_text

WINDOW = Window(minutes(0), minutes(10))


def test_every_document_is_a_match_with_its_query_key(make_type):
    docs = [doc(minutes(1), id="1", kubernetes__pod_name="web-1"), doc(minutes(2), id="2"),
            doc(minutes(12), id="late")]
    rtype, engine = make_type("any", docs, query_key="kubernetes.pod_name")
    matches = engine.run(rtype, WINDOW)
    assert [(m.doc_id, m.key) for m in matches] == [("1", ("web-1",)), ("2", (None,))]
    assert matches[0].fields["kubernetes"] == {"pod_name": "web-1"}


def test_a_document_seen_by_an_earlier_run_does_not_match_again(make_type):
    rtype, engine = make_type("any", [doc(minutes(1), id="1"), doc(minutes(6), id="2")])
    assert [m.doc_id for m in engine.run(rtype, Window(minutes(0), minutes(5)))] == ["1"]
    assert [m.doc_id for m in engine.run(rtype, Window(minutes(0), minutes(10)))] == ["2"]


def test_counting_in_the_engine_is_refused(make_rule):
    with pytest.raises(ConfigError) as info:
        make_rule(rule_text("any", use_count_query=True))
    (problem,) = info.value.problems
    assert problem.option == "use_count_query"
    assert "cannot be used with type 'any'" in problem.message
