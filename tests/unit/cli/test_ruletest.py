"""``logalert test``: rule unit tests from YAML files, offline on the in-process engine."""

from __future__ import annotations

import glob
import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import yaml

from logalert.cli import main

ROOT = Path(__file__).resolve().parents[3]
RULE = {"name": "Errors", "index": "logs-*", "type": "any", "alert": ["stdout"], "realert": {"minutes": 0},
        "filter": [{"query": {"query_string": {"query": "level:ERROR"}}}],
        "alert_text": "{0} failed", "alert_text_args": ["service"]}


@pytest.fixture
def folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # no ./config.yaml: registry defaults (run_every 1 minute)
    (tmp_path / "rules").mkdir()
    (tmp_path / "rules" / "errors.yaml").write_text(yaml.safe_dump(RULE))
    return tmp_path


def write(folder: Path, tests: list, rules=("rules/errors.yaml",), name="t.test.yaml") -> str:
    path = folder / name
    path.write_text(yaml.safe_dump({"rules": list(rules), "tests": tests}, sort_keys=False))
    return str(path)


def two_errors(**extra) -> dict:
    return {"name": "two errors", "now": "2025-01-15T10:00:00Z", "documents": [
        {"@timestamp": "-5m", "level": "ERROR", "service": "pay"},
        {"@timestamp": "now-4m", "level": "error", "service": "cart"},
        {"@timestamp": "-3m", "level": "INFO", "service": "pay"}], **extra}


def test_a_passing_test(folder, capsys):
    path = write(folder, [two_errors(expect=[{"rule": "Errors", "alerts": 2, "matches": [{"service": "pay"}, {"level": "error"}],
                                              "text_contains": ["pay failed", "cart failed"]}])])
    assert main(["test", path]) == 0
    out = capsys.readouterr().out
    assert f"PASS  {path}:4: two errors (2 alerts)" in out
    assert "1 test(s): 1 passed, 0 failed, 0 error(s) — offline (in-process evaluator)" in out


def test_a_failing_test_shows_expected_and_actual(folder, capsys):
    path = write(folder, [two_errors(expect=[{"rule": "Errors", "alerts": 3, "matches": [{"service": "cart"}],
                                              "text_contains": "nowhere"}])])
    assert main(["test", path]) == 1
    out = capsys.readouterr().out
    assert f"FAIL  {path}:4: two errors" in out
    for line in ("-alerts: 3", "+alerts: 2", "-alert 1 match: {service: 'cart'}", "+alert 1 match: {service: 'pay'}",
                 "+text contains: (no alert has 'nowhere')", "actual alert 1: logalert: Errors"):
        assert line in out
    assert "0 passed, 1 failed" in out


def test_a_rule_the_test_does_not_name_must_not_alert(folder, capsys):
    assert main(["test", write(folder, [two_errors()])]) == 1
    assert "-alerts: 0\n  +alerts: 2" in capsys.readouterr().out


def test_what_the_evaluator_cannot_answer_is_an_error_naming_engine(folder, capsys):
    (folder / "rules" / "fuzzy.yaml").write_text(yaml.safe_dump(
        {**RULE, "name": "Fuzzy", "filter": [{"query": {"query_string": {"query": "level:EROR~"}}}]}))
    path = write(folder, [two_errors(expect=[{"rule": "Fuzzy", "alerts": 2}])], rules=["rules/fuzzy.yaml"])
    assert main(["test", path]) == 1
    out = capsys.readouterr().out
    assert f"ERROR {path}:4: two errors" in out
    assert "the offline evaluator does not support fuzzy query_string terms (term~); run on a real engine " \
           "instead (logalert test --engine)" in out


def test_an_invalid_file_is_one_line_per_problem(folder, capsys):
    path = folder / "bad.test.yaml"
    path.write_text("rules: [rules/errors.yaml, rules/nope.yaml]\n"
                    "tests:\n"
                    "  - name: x\n"
                    "    colour: red\n"
                    "    now: soon\n"
                    "    expect:\n"
                    "      - rule: Erors\n"
                    "        alerts: many\n")
    assert main(["test", str(path)]) == 1
    err = capsys.readouterr().err.splitlines()
    assert f"{path}:1: rules[1]: no such rule file: {folder / 'rules' / 'nope.yaml'}" in err
    assert f"{path}:4: tests[0].colour: unknown key (known: name, now, mappings, documents, documents_file, expect)" in err
    assert f"{path}:5: tests[0].now: not a time: 'soon' (use ISO 8601, e.g. 2025-01-15T10:00:00Z)" in err
    assert f"{path}:7: tests[0].expect[0].rule: no rule named 'Erors' in this file's rules; did you mean 'Errors'? " \
           "('Errors')" in err
    assert f"{path}:8: tests[0].expect[0].alerts: must be a whole number (0 or more)" in err


def test_junit_for_ci(folder, capsys):
    good = two_errors(expect=[{"rule": "Errors", "alerts": 2}])
    bad = {**two_errors(expect=[{"rule": "Errors", "alerts": 1}]), "name": "too few"}
    assert main(["test", "--format", "junit", write(folder, [good, bad])]) == 1
    root = ET.fromstring(capsys.readouterr().out)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("2", "1", "0")
    cases = root.findall("testsuite/testcase")
    assert [c.get("name") for c in cases] == ["two errors", "too few"]
    failure = cases[1].find("failure")
    assert failure is not None and "+alerts: 2" in failure.text


def test_documents_file_default_clock_and_ids(folder, capsys):
    lines = [{"_id": "first", "@timestamp": "2025-01-15T09:50:00Z", "level": "ERROR", "service": "a"},
             {"@timestamp": "2025-01-15T09:58:00.250Z", "level": "ERROR", "service": "b"}]
    (folder / "logs.ndjson").write_text("".join(json.dumps(line) + "\n" for line in lines))
    path = write(folder, [{"name": "from a file", "documents_file": "logs.ndjson",  # now: just after 09:58:00.250
                           "expect": [{"rule": "Errors", "alerts": 2, "matches": [{"service": "a"}, {"service": "b"}]}]}])
    assert main(["test", path]) == 0, capsys.readouterr().out


def test_relative_times_follow_the_timestamp_type(folder, capsys):
    (folder / "rules" / "unix.yaml").write_text(yaml.safe_dump(
        {**RULE, "name": "Unix", "timestamp_field": "ts", "timestamp_type": "unix"}))
    docs = [{"ts": "-2m", "level": "ERROR", "service": "x"}, {"ts": "-90s", "level": "ERROR", "service": "y"}]
    path = write(folder, [{"name": "unix", "now": "2025-01-15T10:00:00Z", "documents": docs,
                           "expect": [{"rule": "Unix", "alerts": 2, "matches": [{"ts": 1736935080}]}]}],
                 rules=["rules/unix.yaml"])
    assert main(["test", path]) == 0, capsys.readouterr().out


def test_realert_and_the_daemons_runs(folder, capsys):
    (folder / "rules" / "realert.yaml").write_text(yaml.safe_dump({**RULE, "name": "Realert", "realert": {"minutes": 10}}))
    docs = [{"@timestamp": f"-{m}m", "level": "ERROR", "service": "s"} for m in (40, 35, 25, 12, 11)]
    path = write(folder, [{"name": "one alert per ten minutes", "now": "2025-01-15T10:00:00Z", "documents": docs,
                           "expect": [{"rule": "Realert", "alerts": 3}]}], rules=["rules/realert.yaml"])
    assert main(["test", path]) == 0, capsys.readouterr().out


def test_engine_mode_needs_a_reachable_engine(folder, capsys):
    (folder / "config.yaml").write_text("es_host: 127.0.0.1\nes_port: 1\n")
    path = write(folder, [two_errors(expect=[{"rule": "Errors", "alerts": 2}])])
    assert main(["test", "--engine", "--config", str(folder / "config.yaml"), path]) == 2
    assert "cannot reach the search engine at http://127.0.0.1:1" in capsys.readouterr().err


def test_the_repository_rules_pass_their_tests(monkeypatch, capsys):
    """The tests under tests/rules (also run by `make test` through the CLI)."""
    monkeypatch.chdir(ROOT)
    files = sorted(glob.glob("tests/rules/*.yaml"))
    assert len(files) >= 6
    assert main(["test", *files]) == 0, capsys.readouterr().out
    out = capsys.readouterr().out
    covered = {yaml.safe_load(open(f))["rules"][0].split("/")[-1] for f in files}
    assert covered == {p.name for p in (ROOT / "rules").glob("*.yaml")}  # every rule of rules/ has tests
    assert " 0 failed, 0 error(s)" in out
