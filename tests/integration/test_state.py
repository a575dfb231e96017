"""The writeback index on the real engine: resume, outbox, silences, aggregation,
bad records and foreign mappings, and the status/silence/init commands."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import pytest

from logalert.config import load_config
from logalert.engine import Pool, connect
from logalert.errors import EngineError
from logalert.model import Alert
from logalert.notify.alerters.base import Alerter
from logalert.rules import load_rule
from logalert.run.runner import RuleRunner
from logalert.state.base import RuleStatus, Silence
from logalert.state.writeback import EngineState
from tests.integration.helpers import engine_options, logalert, write_config, write_yaml
from tests.support.efk import bulk_load, efk_doc


class Collecting(Alerter):
    """A notifier that keeps what it is given (the real ones are tested end to end elsewhere)."""

    name = "stdout"

    def __init__(self) -> None:
        self.sent: list[Alert] = []

    def send(self, alert: Alert) -> None:
        self.sent.append(alert)


@pytest.fixture
def state(engine_url, engine):
    index = f"logalert_status_{uuid.uuid4().hex[:8]}"
    store = EngineState(lambda: connect(engine_options(engine_url)), index)
    yield store
    engine.indices.delete(index=index, ignore_unavailable=True)


def make_rule(tmp_path, engine_url, prefix, **extra):
    path = write_yaml(tmp_path / f"r{uuid.uuid4().hex[:6]}.yaml", {
        **engine_options(engine_url), "name": "state rule", "index": f"{prefix}-*", "type": "any",
        "filter": [{"term": {"level.keyword": "ERROR"}}], "realert": {"minutes": 0}, "alert": ["stdout"], **extra})
    return load_rule(str(path), load_config(None, environ={}))[0]


def test_a_new_runner_resumes_from_the_recorded_window_end(engine, engine_url, fresh_index, tmp_path, state):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    rule = make_rule(tmp_path, engine_url, fresh_index, buffer_time={"minutes": 30})
    bulk_load(engine, None, [efk_doc(now - dt.timedelta(minutes=10), "ERROR", "first")], prefix=fresh_index)
    first = Collecting()
    RuleRunner(rule, Pool(), state, alerters=[first], clock=lambda: now).run()
    assert [a.matches[0].fields["message"] for a in first.sent] == ["first"]
    # A "restarted" runner (new process: new instances, same index) one hour later.
    bulk_load(engine, None, [efk_doc(now + dt.timedelta(minutes=20), "ERROR", "while down")], prefix=fresh_index)
    later = now + dt.timedelta(hours=1)
    second = Collecting()
    result = RuleRunner(rule, Pool(), state, alerters=[second], clock=lambda: later).run()
    assert result.window.start == now - dt.timedelta(minutes=30)  # last end - buffer_time, not later - buffer
    assert [a.matches[0].fields["message"] for a in second.sent] == ["while down"]
    assert state.load_status("state rule").last_end == later


def test_aggregation_sends_one_digest_with_a_summary_table(engine, engine_url, fresh_index, tmp_path, state):
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    rule = make_rule(tmp_path, engine_url, fresh_index, aggregation={"minutes": 10},
                     summary_table_fields=["kubernetes.pod_name"], alert_text_type="aggregation_summary_only")
    docs = [efk_doc(now - dt.timedelta(minutes=5 - i), "ERROR", f"agg {i}",
                    **{"kubernetes.pod_name": "api-1" if i % 2 else "api-2"}) for i in range(5)]
    bulk_load(engine, None, docs, prefix=fresh_index)
    sink = Collecting()
    RuleRunner(rule, Pool(), state, alerters=[sink], clock=lambda: now).run()
    assert sink.sent == []
    bucket = state.get_aggregation("state rule", "")
    assert bucket is not None and len(bucket.matches) == 5
    # Re-evaluating the same documents (e.g. after a crash) does not grow the bucket.
    RuleRunner(rule, Pool(), state, alerters=[sink], clock=lambda: now).run()
    assert len(state.get_aggregation("state rule", "").matches) == 5
    later = now + dt.timedelta(minutes=11)
    RuleRunner(rule, Pool(), state, alerters=[sink], clock=lambda: later).run()
    RuleRunner(rule, Pool(), state, alerters=[sink], clock=lambda: later + dt.timedelta(minutes=1)).run()
    assert len(sink.sent) == 1
    body = sink.sent[0].body
    assert "Aggregation summary (5 matches):" in body
    assert "api-2 | 3" in body and "api-1 | 2" in body
    assert state.get_aggregation("state rule", "") is None


def test_damaged_and_foreign_records_are_reported_and_skipped(engine, state, caplog):
    state.save_status(RuleStatus("ok rule"))
    state.put_silence(Silence("ok rule", "", dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)))
    backend = state.backend()
    # Someone else's documents and a damaged one of ours.
    backend.index(state.index, {"kind": "silence", "rule": "x"}, refresh=True)
    backend.index(state.index, {"hello": "world"}, refresh=True)
    from logalert.state.writeback import doc_id

    backend.index(state.index, {"kind": "status", "rule": "broken", "seen": {"a": "not a time"}}, id=doc_id("status", "broken"))
    assert state.load_status("broken") is None
    assert [s.rule for s in state.list_silences()] == ["ok rule"]
    assert "skipping a damaged or foreign" in caplog.text


def test_writeback_index_with_wrong_mappings_is_refused_with_the_fix(engine, engine_url):
    index = f"logalert_foreign_{uuid.uuid4().hex[:6]}"
    engine.indices.create(index=index, body={"mappings": {"properties": {"rule": {"type": "text"}, "last_end": {"type": "long"}}}})
    try:
        store = EngineState(lambda: connect(engine_options(engine_url)), index)
        with pytest.raises(EngineError) as info:
            store.load_status("anything")
        message = str(info.value)
        assert "rule is text (want keyword)" in message and "last_end is long (want date)" in message
        assert "logalert init" in message
    finally:
        engine.indices.delete(index=index)


def test_ensure_index_creates_the_index_once_with_our_mappings(engine, engine_url, state):
    assert state.ensure_index() is True
    mapping = engine.indices.get_mapping(index=state.index)[state.index]["mappings"]
    assert mapping["properties"]["kind"] == {"type": "keyword"} and mapping["dynamic"] in (False, "false")
    other_process = EngineState(lambda: connect(engine_options(engine_url)), state.index)
    assert other_process.ensure_index() is False
    other_process.save_status(RuleStatus("r"))  # ready: no second check before writing
    assert state.load_status("r") == RuleStatus("r")


def test_init_status_and_silence_commands(engine, engine_url, fresh_index, tmp_path):
    config = write_config(tmp_path, engine_url)
    proc = logalert("init", "--config", str(config), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "created" in proc.stdout
    assert "already exists" in logalert("init", "--config", str(config), cwd=tmp_path).stdout
    write_yaml(tmp_path / "rules" / "r.yaml", {"name": "cli rule", "index": f"{fresh_index}-*", "type": "any",
                                              "query_key": "host", "realert": {"minutes": 0}, "alert": ["stdout"]})
    now = dt.datetime.now(dt.timezone.utc)
    bulk_load(engine, None, [efk_doc(now - dt.timedelta(minutes=1), "ERROR", "a", host="node-1"),
                             efk_doc(now - dt.timedelta(minutes=1), "ERROR", "b", host="node-2")], prefix=fresh_index)
    assert logalert("silence", "cli rule", "--duration", "2h", "--query-key", "node-1", "--config", str(config),
                    cwd=tmp_path).returncode == 0
    run = logalert("run", "--once", "--config", str(config), cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout.count("=== ALERT [cli rule]") == 1
    assert "b" in run.stdout.split("=== ALERT")[1]
    listed = logalert("silence", "--list", "--config", str(config), cwd=tmp_path)
    assert "cli rule [node-1] until" in listed.stdout and "(manual)" in listed.stdout
    status = logalert("status", "--format", "json", "--config", str(config), cwd=tmp_path)
    assert status.returncode == 0, status.stderr
    report = json.loads(status.stdout)
    row = next(r for r in report["rules"] if r["rule"] == "cli rule")
    assert (row["hits"], row["matches"], row["alerts"], row["error"]) == (2, 2, 1, None)
    removed = logalert("silence", "cli rule", "--remove", "--config", str(config), cwd=tmp_path)
    assert "removed 1 silence(s)" in removed.stdout
    text = logalert("status", "--config", str(config), cwd=tmp_path)
    assert "cli rule" in text.stdout and "alerts: 0 pending, 0 failed" in text.stdout


def test_a_silence_removed_from_the_cli_leaves_the_daemons_cache(engine_url, state):
    daemon_view = state
    daemon_view.SILENCE_REFRESH_SECONDS = 0.0  # refresh at every look, as after 30 s
    until = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)
    daemon_view.put_silence(Silence("r", "*", until, 0, "manual"))
    assert daemon_view.get_silence("r", "*") is not None
    cli_view = EngineState(lambda: connect(engine_options(engine_url)), state.index)
    assert cli_view.remove_silence("r") == 1
    assert daemon_view.get_silence("r", "*") is None
