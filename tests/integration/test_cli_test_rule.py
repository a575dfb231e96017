"""``logalert test-rule`` against the real engine: output and exit codes."""

from __future__ import annotations

import datetime as dt
import json

from tests.integration.helpers import engine_options, logalert, write_yaml
from tests.support.efk import bulk_load, efk_doc

WEBHOOK = "http://127.0.0.1:9/services/T000/B000/SECRETSECRET"


def line_of(path, text: str) -> int:
    """The line of the first ``text:`` in a rule file (``text`` at the start of a line's
    content), or of the first line holding ``text`` when it has no colon."""
    lines = path.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1)
                if line.lstrip("- ").startswith(text + ":") or (":" in text and text in line))


def _rule(prefix: str, engine_url: str, query: str, **extra):
    return {
        **engine_options(engine_url),
        "name": "test-rule check",
        "index": f"{prefix}-*",
        "type": "any",
        "filter": [{"query": {"query_string": {"query": query}}}],
        "realert": {"minutes": 0},
        "alert_subject": "Problem on {0}",
        "alert_subject_args": ["kubernetes.pod_name"],
        "alert": ["slack"],
        "slack_webhook_url": WEBHOOK,
        **extra,
    }


def _load(engine, prefix):
    now = dt.datetime.now(dt.timezone.utc)
    docs = [efk_doc(now - dt.timedelta(minutes=5 + i), "ERROR" if i % 2 else "INFO", f"line {i}") for i in range(10)]
    bulk_load(engine, None, docs, prefix=prefix)


def test_test_rule_prints_hits_matches_and_alerts(engine, engine_url, fresh_index, tmp_path):
    _load(engine, fresh_index)
    rule = write_yaml(tmp_path / "r.yaml", _rule(fresh_index, engine_url, "level:ERROR"))
    proc = logalert("test-rule", str(rule), "--days", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "hits:    5" in proc.stdout
    assert "matches: 5" in proc.stdout
    assert "Problem on checkout-7d9f8b6c5-x2kqz" in proc.stdout
    assert "nothing was sent" in proc.stdout
    assert "SECRETSECRET" not in proc.stdout + proc.stderr


def test_test_rule_runs_a_limited_rule_and_says_the_cron_is_not_applied(engine, engine_url, fresh_index, tmp_path):
    _load(engine, fresh_index)
    # Only on 29 February at 03:00: test-rule still runs the rule, and says why it may not alert live.
    rule = write_yaml(tmp_path / "r.yaml", _rule(fresh_index, engine_url, "level:ERROR", limit_execution="0 3 29 2 *"))
    proc = logalert("test-rule", str(rule), "--days", "1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "hits:    5" in proc.stdout
    assert "note:    limit_execution '0 3 29 2 *' is not applied by test-rule" in proc.stdout


def test_test_rule_json_and_count_only(engine, engine_url, fresh_index, tmp_path):
    _load(engine, fresh_index)
    rule = write_yaml(tmp_path / "r.yaml", _rule(fresh_index, engine_url, "level:INFO"))
    proc = logalert("test-rule", str(rule), "--format", "json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert (report["hits"], report["matches"], report["alerts"]) == (5, 5, 5)
    assert report["engine_version"].startswith(("opensearch", "elasticsearch"))
    proc = logalert("test-rule", str(rule), "--count-only", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "count:   5" in proc.stdout


def test_query_the_engine_rejects_exits_2_with_the_engine_reason(engine_url, fresh_index, tmp_path, engine):
    _load(engine, fresh_index)
    rule = write_yaml(tmp_path / "r.yaml", _rule(fresh_index, engine_url, "message:/ERROR"))
    proc = logalert("test-rule", str(rule), cwd=tmp_path)
    assert proc.returncode == 2
    assert "error:" in proc.stderr
    assert "parse" in proc.stderr.lower()
    assert "SECRETSECRET" not in proc.stdout + proc.stderr


def test_unreachable_engine_exits_2(tmp_path):
    rule = write_yaml(tmp_path / "r.yaml", _rule("logstash", "http://127.0.0.1:1", "level:ERROR",
                                                  es_password="hunter2-very-secret", es_username="u"))
    proc = logalert("test-rule", str(rule), cwd=tmp_path)
    assert proc.returncode == 2
    assert "cannot reach the search engine at http://127.0.0.1:1" in proc.stderr
    assert "hunter2-very-secret" not in proc.stdout + proc.stderr


def test_invalid_rule_exits_1_with_file_and_line(tmp_path):
    rule = tmp_path / "r.yaml"
    rule.write_text("name: x\ntype: any\nindex: logstash-*\nalert: slack\nrun_every: {minuts: 1}\n")
    proc = logalert("test-rule", str(rule), cwd=tmp_path)
    assert proc.returncode == 1
    assert f"{rule}:4: slack_webhook_url: required by the 'slack' notifier but not set" in proc.stderr
    assert f"{rule}:5: run_every:" in proc.stderr


# --- issue 12: what matched, lint, index warning, sends that fail, one-line errors -------
def test_text_output_lists_the_documents_lint_and_hits_over_time(engine, engine_url, fresh_index, tmp_path):
    _load(engine, fresh_index)
    rule = write_yaml(tmp_path / "r.yaml", _rule(fresh_index, engine_url, "level:ERROR AND message:/line.*/i",
                                                  query_key="kubernetes.pod_name.keyword",
                                                  index=f"{fresh_index}-*,{fresh_index}x-*"))
    proc = logalert("test-rule", str(rule), "--docs", "2", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert any(line.startswith(f"{rule}:") and "warning: filter[0].query.query_string.query: col " in line
               and "'i' after the regex" in line for line in lines)
    assert (f"{rule}:{line_of(rule, 'index')}: warning: index: '{fresh_index}x-*' matches no index, alias or data "
            f"stream on this engine; the closest existing: '{fresh_index}-*' (1 index)") in lines
    (spark,) = [line for line in lines if line.startswith("over time: ")]
    assert "█" in spark and ("(49 x 30m from " in spark or "(48 x 30m from " in spark)
    start = lines.index("documents: 5 selected by the filter in the window, the first 2:")
    assert lines[start + 1].split() == ["@timestamp", "kubernetes.pod_name", "level", "message"]
    first = lines[start + 2].split()
    assert first[1:] == ["checkout-7d9f8b6c5-x2kqz", "ERROR", "line", "9"]  # oldest first


def test_json_carries_the_same(engine, engine_url, fresh_index, tmp_path):
    _load(engine, fresh_index)
    rule = write_yaml(tmp_path / "r.yaml", _rule(fresh_index, engine_url, "level:ERROR", index=f"{fresh_index}x-*"))
    proc = logalert("test-rule", str(rule), "--format", "json", "--start", "now-3h", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["lint"] == []
    assert report["index_warnings"] == [
        f"{rule}:{line_of(rule, 'index')}: warning: index: '{fresh_index}x-*' matches no index, alias or data stream "
        f"on this engine; the closest existing: '{fresh_index}-*' (1 index)"]
    assert report["hits"] == 0 and report["documents"] == {
        "total": 0, "columns": ["@timestamp", "level", "message"], "rows": []}
    assert report["histogram"]["interval"] == "5m" and sum(report["histogram"]["counts"]) == 0


def test_a_failed_send_exits_3_and_promises_no_retry(engine, engine_url, fresh_index, tmp_path):
    _load(engine, fresh_index)
    rule = write_yaml(tmp_path / "r.yaml", _rule(fresh_index, engine_url, "level:ERROR AND message:\"line 1\""))
    proc = logalert("test-rule", str(rule), "--alert", cwd=tmp_path)
    assert proc.returncode == 3, proc.stdout + proc.stderr
    (sent,) = [line for line in proc.stdout.splitlines() if line.startswith("sent ")]
    assert "slack=FAILED (" in sent
    assert "will retry" not in proc.stdout + proc.stderr and "kept pending" not in proc.stderr
    assert proc.stderr.splitlines()[-1] == ("error:   1 of 1 send(s) failed; test-rule keeps no outbox, so nothing "
                                            "will be retried")
    assert "SECRETSECRET" not in proc.stdout + proc.stderr
    report = json.loads(logalert("test-rule", str(rule), "--alert", "--format", "json", cwd=tmp_path).stdout)
    ((alert_id, outcome),) = report["delivered"].items()
    assert outcome == {"slack": False}
    assert report["send_failures"][0]["alert"] == alert_id and report["send_failures"][0]["error"]


def test_an_engine_parse_error_is_one_line_and_whole_with_verbose(engine, engine_url, fresh_index, tmp_path):
    _load(engine, fresh_index)
    rule = write_yaml(tmp_path / "r.yaml", _rule(fresh_index, engine_url, "level:ERROR)"))
    proc = logalert("test-rule", str(rule), cwd=tmp_path)
    assert proc.returncode == 2
    (error,) = proc.stderr.splitlines()
    assert error.startswith(f"error:   {rule}:{line_of(rule, 'filter')}: filter: the engine rejects this query: ")
    assert error.endswith("(-v: the engine's full answer)") and "Was expecting" not in error
    query_line = line_of(rule, "query: level:ERROR)")
    assert f"{rule}:{query_line}: filter[0].query.query_string.query: col 12: unbalanced parenthesis" in proc.stdout
    verbose = logalert("test-rule", str(rule), "-v", cwd=tmp_path)
    assert verbose.returncode == 2 and "Was expecting" in verbose.stderr
