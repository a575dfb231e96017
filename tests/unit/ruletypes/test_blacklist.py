"""blacklist: compare_key on the list is a match; !file entries; documents are needed."""

from __future__ import annotations

import pytest

from logalert.errors import ConfigError
from logalert.model import Window

from .support import doc, minutes, rule_text

WINDOW = Window(minutes(0), minutes(10))


def test_listed_values_match_and_others_do_not(make_type):
    docs = [doc(minutes(1), id="1", user="mallory"), doc(minutes(2), id="2", user="alice"),
            doc(minutes(3), id="3", status=500, user=None), doc(minutes(4), id="4", user=["bob", "eve"]),
            doc(minutes(5), id="5")]
    rtype, engine = make_type("blacklist", docs, compare_key="user", blacklist=["mallory", "eve", 500])
    matches = engine.run(rtype, WINDOW)
    assert [m.doc_id for m in matches] == ["1", "4"]
    assert matches[0].fields["user"] == "mallory"
    assert rtype.describe(matches[0]) == "user is 'mallory', which is on the blacklist."


def test_numbers_and_dotted_fields(make_type):
    docs = [doc(minutes(1), id="1", http__status=503), doc(minutes(2), id="2", http__status=200)]
    rtype, engine = make_type("blacklist", docs, compare_key="http.status", blacklist=[503, "504"],
                              query_key="http.status")
    matches = engine.run(rtype, WINDOW)
    assert [(m.doc_id, m.key) for m in matches] == [("1", (503,))]


def test_file_entries_are_read_relative_to_the_rule(make_type, tmp_path):
    (tmp_path / "bad_users.txt").write_text("mallory\n\n  trudy \n")
    docs = [doc(minutes(1), id="1", user="trudy"), doc(minutes(2), id="2", user="alice")]
    rtype, engine = make_type("blacklist", docs, compare_key="user", blacklist=["!file bad_users.txt"])
    assert [m.doc_id for m in engine.run(rtype, WINDOW)] == ["1"]


def test_a_missing_file_is_a_validation_error_naming_the_option(make_rule):
    with pytest.raises(ConfigError) as err:
        make_rule(rule_text("blacklist", compare_key="user", blacklist=["!file nowhere.txt"]))
    problem = err.value.problems[0]
    assert problem.option == "blacklist" and problem.line == 7
    assert "cannot read" in problem.message and "nowhere.txt" in problem.message


@pytest.mark.parametrize("option", ["use_count_query", "use_terms_query"])
def test_counting_options_contradict_a_type_that_needs_documents(make_rule, option):
    with pytest.raises(ConfigError) as err:
        make_rule(rule_text("blacklist", compare_key="user", blacklist=["x"], **{option: True}))
    [problem] = err.value.problems
    assert problem.option == option and problem.line == 9
    assert problem.message.startswith("cannot be used with type 'blacklist': it needs the documents")


def test_missing_required_options_are_named(make_rule):
    with pytest.raises(ConfigError) as err:
        make_rule(rule_text("blacklist", compare_key="user"))
    assert [(p.option, p.message) for p in err.value.problems] == [("blacklist", "required option is missing")]
