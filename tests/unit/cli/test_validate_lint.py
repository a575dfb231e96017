"""``logalert validate`` with the offline query checks, and ``--strict`` for CI."""

from __future__ import annotations

import os
import textwrap

import pytest

from logalert.cli import main

from ..conftest import FIXTURES

SEED_WARNING = (
    "warning: filter[0].query.query_string.query: col 16: 'i' after the regex /ERROR/ is not a flag (Lucene "
    "regexes have none): the query means the regex ERROR on message OR the term 'i' in every field; write "
    "message:/[Ee][Rr][Rr][Oo][Rr]/, or message:error (text fields are lower-cased by the analyzer, so a plain "
    "term matches any case)")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path, restore_root_logging):
    for key in list(os.environ):
        if key.startswith("LOGALERT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)  # no ./config.yaml unless a test writes one


def rule(tmp_path, name: str, query: str, extra: str = "") -> str:
    path = tmp_path / name
    path.write_text(textwrap.dedent(f"""\
        name: {name}
        type: any
        index: logs-*
        filter:
        - query:
            query_string:
              query: '{query}'
        alert: [stdout]
        """) + extra)
    return str(path)


def test_seed_rule_gives_exactly_one_warning_and_exits_0(capsys):
    path = FIXTURES / "seed_rule.yaml"
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:10: {SEED_WARNING}",
        "1 rule(s) valid, 0 file(s) invalid, 1 warning(s)",
    ]


def test_strict_makes_warnings_fail(capsys):
    assert main(["validate", "--strict", str(FIXTURES / "seed_rule.yaml")]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == \
        "1 rule(s) valid, 0 file(s) invalid, 1 warning(s) (--strict: warnings fail)"


def test_strict_passes_a_clean_rule(capsys, tmp_path):
    assert main(["validate", "--strict", rule(tmp_path, "clean.yaml", "level:ERROR OR message:error")]) == 0
    assert capsys.readouterr().out == "1 rule(s) valid, 0 file(s) invalid, 0 warning(s)\n"


def test_strict_counts_other_warnings_too(capsys):
    assert main(["validate", "--strict", str(FIXTURES / "typo_option.yaml")]) == 1


def test_syntax_error_is_one_line_and_makes_the_file_invalid(capsys, tmp_path):
    path = rule(tmp_path, "broken.yaml", "level:ERROR AND (message:timeout OR message:refused")
    assert main(["validate", path]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{path}:7: filter[0].query.query_string.query: col 17: unbalanced parenthesis",
        "0 rule(s) valid, 1 file(s) invalid, 0 warning(s)",
    ]


def test_an_imported_filter_is_reported_in_its_own_file_once(capsys, tmp_path):
    (tmp_path / "_base.yaml").write_text("index: logs-*\nfilter:\n- query_string: {query: 'level:ERROR AND'}\n")
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text(f"import: _base.yaml\nname: {name}\ntype: any\nalert: [stdout]\n")
    assert main(["validate", str(tmp_path)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{tmp_path / '_base.yaml'}:3: filter[0].query_string.query: col 13: dangling operator AND",
        "0 rule(s) valid, 1 file(s) invalid, 0 warning(s)",
    ]


def test_a_file_with_other_errors_still_gets_its_query_checked(capsys, tmp_path):
    path = rule(tmp_path, "two.yaml", "message:(a OR b", extra="realert: soon\n")
    assert main(["validate", path]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert f"{path}:7: filter[0].query.query_string.query: col 9: unbalanced parenthesis" in lines
    assert any(line.startswith(f"{path}:9: realert:") for line in lines)
    assert lines[-1] == "0 rule(s) valid, 1 file(s) invalid, 0 warning(s)"


def test_each_files_lines_stay_together(capsys, tmp_path):
    first = rule(tmp_path, "a.yaml", "level:ERROR and message:x", extra="alert_subjet: typo\n")
    second = rule(tmp_path, "b.yaml", "message:*timeout")
    assert main(["validate", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines[:-1]] == [first, first, second]
    assert lines[-1] == "2 rule(s) valid, 0 file(s) invalid, 3 warning(s)"
