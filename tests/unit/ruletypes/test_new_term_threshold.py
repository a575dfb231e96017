"""new_term threshold: a new term matches once seen threshold times within
threshold_window_size; fewer sightings leave it new."""

from __future__ import annotations

import pytest

from logalert.errors import ConfigError
from logalert.model import Window

from .support import doc, minutes

OLD = [doc(minutes(-60 * 24), id="o1", user="alice")]


def test_a_new_term_matches_at_its_threshold_th_sighting(make_type):
    docs = OLD + [doc(minutes(1), id="1", user="mallory"), doc(minutes(2), id="2", user="mallory"),
                  doc(minutes(3), id="3", user="alice"), doc(minutes(4), id="4", user="mallory")]
    rtype, engine = make_type("new_term", docs, fields=["user"], threshold=3,
                              threshold_window_size={"minutes": 30}, attach_related=True)
    matches = engine.run(rtype, Window(minutes(0), minutes(10)))
    assert [m.doc_id for m in matches] == ["4"]
    assert [e["@timestamp"] for e in matches[0].fields["related_events"]] == [docs[1]["@timestamp"],
                                                                                docs[2]["@timestamp"]]
    assert rtype.describe(matches[0]).endswith(f"Seen 3 times within 30 minutes since {docs[1]['@timestamp']} "
                                                "(threshold 3).")
    engine.add([doc(minutes(11), id="5", user="mallory")])
    assert engine.run(rtype, Window(minutes(10), minutes(20))) == []  # known now


def test_sightings_outside_the_window_do_not_add_up(make_type):
    rtype, engine = make_type("new_term", OLD, fields=["user"], threshold=2, threshold_window_size={"minutes": 5})
    assert engine.run(rtype, Window(minutes(0), minutes(1))) == []
    engine.add([doc(minutes(2), id="1", user="eve")])
    assert engine.run(rtype, Window(minutes(1), minutes(3))) == []
    engine.add([doc(minutes(9), id="2", user="eve")])  # 7 minutes later: the first one expired
    assert engine.run(rtype, Window(minutes(3), minutes(10))) == []
    engine.add([doc(minutes(12), id="3", user="eve")])
    assert [m.doc_id for m in engine.run(rtype, Window(minutes(10), minutes(13)))] == ["3"]


def test_without_threshold_the_first_sighting_matches(make_type):
    rtype, engine = make_type("new_term", OLD + [doc(minutes(1), id="1", user="eve")], fields=["user"])
    assert [m.doc_id for m in engine.run(rtype, Window(minutes(0), minutes(2)))] == ["1"]


def test_attach_related_needs_a_threshold(make_type):
    with pytest.raises(ConfigError, match="attach_related: needs threshold above 1"):
        make_type("new_term", [], fields=["user"], attach_related=True)
