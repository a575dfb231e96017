"""The CLI frictions of issue 12: silence of an unknown rule, no duplicate lines, engine
errors on one line, help for every option, malformed rule files as one FILE:LINE error
each while the other rules of the folder still load."""

from __future__ import annotations

import argparse
import os
import textwrap

import pytest

from logalert.cli import common, main, parser
from logalert.cli import state as state_cli
from logalert.config import load_config
from logalert.errors import EngineError, short_reason
from logalert.rules import load_folder
from logalert.state import MemoryState
from logalert.state.base import RuleStatus

GOOD = "name: good\ntype: any\nindex: logs-*\nalert: [stdout]\n"
VALID_LINE = "1 rule(s) valid, {bad} file(s) invalid, 0 warning(s)"


@pytest.fixture(autouse=True)
def clean_env(monkeypatch, tmp_path, restore_root_logging):
    for key in list(os.environ):
        if key.startswith("LOGALERT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)


# --- help ----------------------------------------------------------------------------
def test_every_option_of_every_command_has_a_help_text():
    missing = []
    for action in parser()._subparsers._group_actions:
        for name, sub in action.choices.items():
            missing += [f"{name} {a.option_strings or a.dest}" for a in sub._actions
                        if not isinstance(a, argparse._HelpAction) and not a.help]
    assert missing == []


# --- silence ---------------------------------------------------------------------------
@pytest.fixture
def memory_state(monkeypatch, tmp_path):
    """``silence`` on a MemoryState: the writeback index knows 'Old rule', rules/ has two."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "a.yaml").write_text(GOOD.replace("name: good", "name: Any error in the logs"))
    (tmp_path / "rules" / "b.yaml").write_text(GOOD.replace("name: good", "name: nginx 5xx responses"))
    (tmp_path / "config.yaml").write_text("rules_folder: rules\n")
    store = MemoryState()
    store.save_status(RuleStatus("Old rule"))
    monkeypatch.setattr(state_cli, "_state", lambda args: (common.config(args.config), store))
    return store


def test_silence_of_an_unknown_rule_is_an_error_with_close_names_and_silences_nothing(capsys, memory_state, tmp_path):
    assert main(["silence", "any error in the logs"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == (f"silence: no rule named 'any error in the logs' in {tmp_path / 'rules'} or the writeback "
                            "index; did you mean 'Any error in the logs'?; nothing was silenced\n")
    assert memory_state.list_silences() == []


def test_silence_without_a_close_name_lists_the_known_ones(capsys, memory_state):
    assert main(["silence", "zzz"]) == 1
    assert capsys.readouterr().err.endswith(
        "; known: 'Any error in the logs', 'Old rule', 'nginx 5xx responses'; nothing was silenced\n")


def test_silence_of_a_known_rule_from_the_folder_or_the_writeback_index(capsys, memory_state):
    assert main(["silence", "nginx 5xx responses", "--duration", "5m"]) == 0
    assert main(["silence", "Old rule"]) == 0  # its file is gone or broken; the daemon may still run it
    assert sorted(s.rule for s in memory_state.list_silences()) == ["Old rule", "nginx 5xx responses"]
    assert capsys.readouterr().out.startswith("silenced 'nginx 5xx responses' until ")


def test_remove_of_a_misspelt_rule_is_an_error(capsys, memory_state):
    assert main(["silence", "nginx", "--remove"]) == 1
    assert capsys.readouterr().err.endswith("did you mean 'nginx 5xx responses'?; nothing was removed\n")


# --- malformed files ----------------------------------------------------------------------
MALFORMED = {
    "int_key.yaml": (GOOD + "1: x\n", "5: 1: an option name must be text; YAML reads this key as an integer "
                                      "(quote it if it is meant as a name)"),
    "null_key.yaml": (GOOD + "~: x\n", "5: ~: an option name must be text; YAML reads this key as null "
                                       "(quote it if it is meant as a name)"),
    "bool_key.yaml": (GOOD + "yes: x\n", "5: yes: an option name must be text; YAML reads this key as a boolean "
                                         "(quote it if it is meant as a name)"),
    "list_key.yaml": (GOOD + "[a, b]: x\n", "5: invalid YAML: a key must be text, not a list"),
    "map_key.yaml": (GOOD + "? {a: 1}\n: x\n", "5: invalid YAML: a key must be text, not a mapping"),
    "nul.yaml": (GOOD + "x: \"a\x00\"\n", "5: invalid YAML: control character #x0000 is not allowed"),
    "deep.yaml": (GOOD + "filter: " + "[" * 70 + "]" * 70 + "\n", "5: invalid YAML: nested more than 64 levels deep"),
    "bomb.yaml": (GOOD + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}' if i else 'x'] * 9)}]\n" for i in range(8)),
                  "10: invalid YAML: more than 100,000 values once aliases are expanded (an alias bomb?)"),
    "recursive.yaml": (GOOD + "a: &a [*a]\n", "5: invalid YAML: an alias refers to the value that contains it "
                                             "(a recursive structure)"),
    "bad_int.yaml": (GOOD + "max_query_size: !!int lots\n", "5: invalid YAML: !!int cannot hold 'lots'"),
    "map_tag.yaml": ("--- !!map\n- a\n", "1: invalid YAML: !!map on a value that is not a mapping"),
    "block_type.yaml": (GOOD.replace("type: any", "type: |\n  any\n  more"),
                        "2: type: unknown rule type 'any\\nmore\\n' (known: "),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_file_is_one_line_and_the_folder_keeps_the_other_rules(capsys, tmp_path, name):
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "good.yaml").write_text(GOOD)
    text, expected = MALFORMED[name]
    (folder / name).write_text(text)
    assert main(["validate", str(folder)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith(f"{folder / name}:{expected}")
    assert lines[1:] == [VALID_LINE.format(bad=1)]


def test_bytes_that_are_not_utf8_name_their_line_and_column(capsys, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes(GOOD.encode() + "alert_text: caf\u00e9\n".encode("latin-1"))
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().out.splitlines()[0] == \
        f"{path}:5: not UTF-8 text: byte 0xe9 at column 16; save the file as UTF-8"


def test_utf16_with_a_byte_order_mark_is_read(capsys, tmp_path):
    path = tmp_path / "utf16.yaml"
    path.write_bytes(GOOD.encode("utf-16"))
    assert main(["validate", str(path)]) == 0


def test_a_loader_bug_in_one_file_keeps_the_other_rules(monkeypatch, tmp_path, caplog):
    """The daemon loads through load_folder: an unexpected exception is one problem."""
    from logalert.rules import loader

    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD.replace("good", "other"))
    real = loader.load_rule

    def flaky(path, config):
        if path.endswith("b.yaml"):
            raise RuntimeError("boom")
        return real(path, config)

    monkeypatch.setattr(loader, "load_rule", flaky)
    result = load_folder([str(tmp_path)], load_config(None, environ={}))
    assert [r.name for r in result.rules] == ["good"]
    assert [str(p) for p in result.problems] == [
        f"{tmp_path / 'b.yaml'}: cannot load this file (RuntimeError: boom); please report it as a logalert bug"]


def test_a_missing_timeframe_indentation_prints_each_line_once(capsys, tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntype: frequency\nindex: logs-*\nnum_events: 3\ntimeframe:\nminutes: 5\nalert: [stdout]\n")
    expected = [f"{path}:5: timeframe: must be a time span such as {{minutes: 5}} (units: weeks, days, hours, "
                "minutes, seconds, milliseconds)",
                f"{path}:6: warning: minutes: unknown option, ignored"]
    assert main(["validate", str(path)]) == 1
    assert capsys.readouterr().out.splitlines() == expected + ["0 rule(s) valid, 1 file(s) invalid, 1 warning(s)"]
    assert main(["test-rule", str(path), "--schema-only"]) == 1
    assert capsys.readouterr().err.splitlines() == expected


# --- engine errors ------------------------------------------------------------------------
PARSE_ANSWER = ("r.yaml:9: filter: the engine rejects this query: Failed to parse query [level:ERROR)]: Encountered "
                "\" \")\" \") \"\" at line 1, column 11.\nWas expecting one of:\n    <EOF> \n    <AND> ...\n")
VALIDATE_ANSWER = ("[logs-1/ZYJ4dY6YT-yJTPeC5VqjIg] QueryShardException[Failed to parse query [level:ERROR)]]; nested: "
                   "ParseException[Cannot parse 'level:ERROR)': Encountered \" \")\" \") \"\" at line 1, column 11.\n"
                   "Was expecting one of:\n    <EOF> \n];; org.apache.lucene.queryparser.classic.ParseException: x")


def test_an_engine_error_is_one_line_unless_verbose():
    exc = EngineError(PARSE_ANSWER)
    assert common.engine_error(exc, verbose=False) == (
        "r.yaml:9: filter: the engine rejects this query: Failed to parse query [level:ERROR)]: Encountered \" \")\" "
        "\") \"\" at line 1, column 11. (-v: the engine's full answer)")
    assert common.engine_error(exc, verbose=True) == PARSE_ANSWER.strip()
    assert common.engine_error(EngineError("cannot reach it"), verbose=False) == "cannot reach it"


def test_short_reason_unwraps_the_engines_exceptions():
    assert short_reason(VALIDATE_ANSWER) == (
        "Failed to parse query [level:ERROR)]: Cannot parse 'level:ERROR)': Encountered \" \")\" \") \"\" at line 1, "
        "column 11.")
    assert short_reason("x" * 500).endswith("…") and len(short_reason("x" * 500)) == 240


def test_close_names():
    names = ["Any error in the logs", "ERROR burst per pod", "nginx 5xx responses", "Spike of 5xx answers"]
    assert common.close_names("any eror in the logs", names) == ["Any error in the logs"]
    assert common.close_names("nginx", names) == ["nginx 5xx responses"]
    assert common.close_names("zzz", names) == []


def test_schema_only_fails_on_a_query_that_does_not_parse(capsys, tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text(textwrap.dedent("""\
        name: r
        type: any
        index: logs-*
        filter:
        - query:
            query_string:
              query: "level:(ERROR"
        alert: [stdout]
        """))
    assert main(["test-rule", str(path), "--schema-only"]) == 1
    assert capsys.readouterr().out == f"{path}:7: filter[0].query.query_string.query: col 7: unbalanced parenthesis\n"


def test_status_prints_a_multi_line_engine_error_on_one_line(capsys, memory_state):
    memory_state.save_status(RuleStatus("Broken", error="r.yaml:9: filter: the engine rejects this query: "
                                                        "Encountered \")\" at line 1, column 11.\nWas expecting:\n  <EOF>"))
    assert main(["status"]) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("Broken")]
    assert row.endswith("r.yaml:9: filter: the engine rejects this query: Encountered \")\" at line 1, col…")


def test_daemon_start_up_keeps_the_other_rules_with_every_malformed_file(tmp_path, caplog):
    from logalert.daemon.scheduler import Daemon

    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "good.yaml").write_text(GOOD)
    for name, (text, _expected) in MALFORMED.items():
        (folder / name).write_text(text)
    (folder / "latin1.yaml").write_bytes(GOOD.encode() + "alert_text: caf\u00e9\n".encode("latin-1"))
    daemon = Daemon(load_config(None, environ={}), [str(folder)], MemoryState())
    assert daemon.load() == len(MALFORMED) + 1
    assert sorted(daemon.runners) == ["good"]
    logged = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert len(logged) == len(MALFORMED) + 1 and all(len(m.splitlines()) == 1 for m in logged)
