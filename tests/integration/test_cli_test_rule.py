"""``logalert test-rule`` against the real engine: output and exit codes."""

from __future__ import annotations

import datetime as dt
import json

from tests.integration.helpers import engine_options, logalert, write_yaml
from tests.support.efk import bulk_load, efk_doc

WEBHOOK = "http://127.0.0.1:9/services/T000/B000/SECRETSECRET"


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
