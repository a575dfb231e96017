"""YAML with positions: every key and list item knows its file and line."""

from __future__ import annotations

import pytest

from logalert.config.yamlfile import LineList, LineMap, load_yaml_file, load_yaml_text, locate, plain
from logalert.errors import ConfigError

TEXT = """\
name: r
filter:
  - term:
      level: ERROR
  - query:
      query_string:
        query: "a:b"
alert:
  - slack
"""


def test_keys_and_items_remember_their_lines():
    doc = load_yaml_text(TEXT, "r.yaml")
    assert isinstance(doc, LineMap)
    assert doc.start == ("r.yaml", 1)
    assert doc.pos["name"] == ("r.yaml", 1)
    assert doc.pos["alert"] == ("r.yaml", 8)
    assert isinstance(doc["filter"], LineList)
    assert doc["filter"].pos == [("r.yaml", 3), ("r.yaml", 5)]
    assert doc["filter"][1]["query"].pos["query_string"] == ("r.yaml", 6)


def test_locate_finds_the_deepest_known_position():
    doc = load_yaml_text(TEXT, "r.yaml")
    assert locate(doc, ["filter", 1, "query", "query_string", "query"]) == ("r.yaml", 7)
    assert locate(doc, ["filter", 0]) == ("r.yaml", 3)
    # a path that leaves the document stops at the last element that exists
    assert locate(doc, ["filter", 5, "x"]) == ("r.yaml", 2)
    assert locate(doc, ["nope"]) == ("r.yaml", 1)
    assert locate({"plain": 1}, ["plain"], default=("d.yaml", 9)) == ("d.yaml", 9)


def test_plain_drops_bookkeeping():
    doc = load_yaml_text(TEXT, "r.yaml")
    out = plain(doc)
    assert type(out) is dict and type(out["filter"]) is list and type(out["filter"][0]) is dict
    assert out == {"name": "r", "filter": [{"term": {"level": "ERROR"}}, {"query": {"query_string": {"query": "a:b"}}}],
                   "alert": ["slack"]}


def test_merge_keys_and_anchors():
    doc = load_yaml_text("base: &b\n  minutes: 5\nrun_every:\n  <<: *b\n  seconds: 3\n", "m.yaml")
    assert plain(doc["run_every"]) == {"minutes": 5, "seconds": 3}


def test_syntax_error_names_the_line():
    with pytest.raises(ConfigError) as info:
        load_yaml_text("a: 1\nb: [1, 2\nc: 3\n", "bad.yaml")
    (problem,) = info.value.problems
    assert problem.file == "bad.yaml"
    assert problem.line == 3
    assert problem.message.startswith("invalid YAML: ")


def test_tab_indentation_names_the_line():
    with pytest.raises(ConfigError) as info:
        load_yaml_text("a: 1\nb:\n\t- x\n", "tab.yaml")
    assert info.value.problems[0].line == 3


def test_unhashable_key_is_a_yaml_error_with_line():
    with pytest.raises(ConfigError) as info:
        load_yaml_text("a: 1\n? [x, y]\n: 2\n", "k.yaml")
    (problem,) = info.value.problems
    assert problem.line == 2
    assert problem.message == "invalid YAML: a key must be text, not a list"


def test_unreadable_file(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_yaml_file(str(tmp_path / "absent.yaml"))
    assert str(info.value) == f"{tmp_path / 'absent.yaml'}: cannot read file: No such file or directory"


def test_safe_loading_refuses_python_tags():
    with pytest.raises(ConfigError) as info:
        load_yaml_text("x: !!python/object/apply:os.system ['true']\n", "evil.yaml")
    assert info.value.problems[0].line == 1
