"""``logalert run`` as a real process: Slack to a local HTTP receiver, email to a local
SMTP server, one ERROR log in, exactly one alert out through each."""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.request

import pytest

from tests.integration.helpers import start_daemon, stop_daemon, wait_log, write_config, write_yaml
from tests.support.efk import bulk_load, efk_doc
from tests.support.receivers import SmtpServer, WebhookReceiver, free_port


@pytest.fixture
def receivers():
    with WebhookReceiver() as slack, SmtpServer() as smtp:
        yield slack, smtp


def test_error_log_alerts_once_via_slack_and_email_while_a_bad_rule_fails(engine, engine_url, fresh_index, tmp_path, receivers):
    slack, smtp = receivers
    port = free_port()
    write_config(tmp_path, engine_url, health_port=port)
    write_yaml(tmp_path / "rules" / "errors.yaml", {
        "name": "Errors in checkout",
        "index": f"{fresh_index}-*",
        "type": "any",
        "filter": [{"query": {"query_string": {"query": "level:ERROR"}}}],
        "realert": {"minutes": 0},
        "alert_subject": "ERROR in {0}",
        "alert_subject_args": ["kubernetes.pod_name"],
        "alert_text": "{0} says: {1}",
        "alert_text_args": ["kubernetes.container_name", "message"],
        "alert_text_type": "exclude_fields",
        "alert": ["slack", "email"],
        "slack_webhook_url": f"{slack.url}/services/T1/B1/SECRET",
        "slack_channel_override": "#ops",
        "email": ["oncall@example.org"],
        "smtp_host": "127.0.0.1",
        "smtp_port": smtp.port,
        "from_addr": "logalert@example.org",
    })
    write_yaml(tmp_path / "rules" / "rejected.yaml", {
        "name": "Rejected query",
        "index": f"{fresh_index}-*",
        "type": "any",
        "filter": [{"query": {"query_string": {"query": "message:/unterminated"}}}],
        "alert": ["stdout"],
    })
    (tmp_path / "rules" / "broken.yaml").write_text("name: broken\ntype: any\nindex: [oops\n")
    now = dt.datetime.now(dt.timezone.utc)
    bulk_load(engine, None, [efk_doc(now - dt.timedelta(hours=2), "INFO", "before the daemon started")], prefix=fresh_index)
    proc = start_daemon(tmp_path)
    try:
        wait_log(tmp_path, "'Errors in checkout': 0 hits")
        log = wait_log(tmp_path, "rule 'Rejected query': ")
        assert "rejected.yaml:4: filter: the engine rejects this query: Failed to parse query [message:/unterminated]" in log
        assert "Lexical error" in log
        assert "broken.yaml:4: invalid YAML: did not find expected ',' or ']' (while parsing a flow sequence started on line 3)" in log
        now = dt.datetime.now(dt.timezone.utc)
        bulk_load(engine, None, [efk_doc(now - dt.timedelta(seconds=2), "ERROR", "payment gateway timeout"),
                                 efk_doc(now - dt.timedelta(seconds=1), "INFO", "request served")], prefix=fresh_index)
        delivered = slack.wait_for(lambda items: len(items) >= 1)
        mails = smtp.wait_for(1)
        # Let several more runs pass over the same window overlap: still exactly one alert.
        time.sleep(4)
        assert len(slack.delivered) == 1
        assert len(smtp.messages) == 1
        payload = delivered[0].body
        assert delivered[0].path == "/services/T1/B1/SECRET"
        assert payload["channel"] == "#ops"
        assert payload["attachments"][0]["title"] == "ERROR in checkout-7d9f8b6c5-x2kqz"
        assert payload["attachments"][0]["text"].startswith("checkout says: payment gateway timeout")
        assert mails[0]["subject"] == "ERROR in checkout-7d9f8b6c5-x2kqz"
        assert mails[0]["to"] == ["oncall@example.org"]
        assert "checkout says: payment gateway timeout" in mails[0]["body"]
        assert proc.poll() is None, "the daemon must keep running"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            exposition = response.read().decode()
        assert 'logalert_alerts_total{alerter="slack",outcome="sent",rule="Errors in checkout"} 1' in exposition
        assert 'logalert_alerts_total{alerter="email",outcome="sent",rule="Errors in checkout"} 1' in exposition
        assert 'logalert_rule_runs_total{outcome="error",rule="Rejected query"}' in exposition
    finally:
        code = stop_daemon(proc)
    log = (tmp_path / "daemon.log").read_text()
    assert code == 0, log[-3000:]
    assert "SECRET" not in log.replace("<secret>", "")
    assert "Rejected query" in log and "parse" in log.lower()


def test_engine_down_at_startup_daemon_keeps_retrying(tmp_path):
    port = free_port()
    write_config(tmp_path, "http://127.0.0.1:1", health_port=port)
    write_yaml(tmp_path / "rules" / "r.yaml", {"name": "r", "index": "logstash-*", "type": "any",
                                              "alert": ["stdout"], "es_password": "pw-should-not-appear",
                                              "es_username": "elastic"})
    proc = start_daemon(tmp_path)
    try:
        log = wait_log(tmp_path, "cannot reach the search engine")
        time.sleep(2.5)
        assert proc.poll() is None
        log = (tmp_path / "daemon.log").read_text()
        assert log.count("cannot reach the search engine") >= 2
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
            health = json.load(response)
        assert response.status == 200 and health["status"] == "ok"
        assert "cannot reach the search engine" in health["rules"]["r"]["error"]
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
            exposition = response.read().decode()
        runs = [line for line in exposition.splitlines()
                if line.startswith('logalert_rule_runs_total{outcome="error",rule="r"}')]
        assert runs and float(runs[0].split()[-1]) >= 2
    finally:
        code = stop_daemon(proc)
    assert code == 0
    assert "pw-should-not-appear" not in (tmp_path / "daemon.log").read_text()
