"""Fault tests: the night something breaks. Real engine, real HTTP receiver, the daemon
as a real process. Each test counts, per expected alert, how often it was delivered, and
prints the figures (run pytest with -s to see them)."""

from __future__ import annotations

import collections
import datetime as dt
import os
import subprocess
import time
from pathlib import Path

import pytest

from logalert.engine import connect
from logalert.state.writeback import EngineState
from tests.integration.helpers import engine_options, start_daemon, stop_daemon, wait_log, write_config, write_yaml
from tests.support.efk import bulk_load, efk_doc, make_client
from tests.support.receivers import Behaviour, WebhookReceiver

ROOT = Path(__file__).resolve().parents[2]


def error_rule(folder: Path, prefix: str, webhook: str, **extra) -> None:
    write_yaml(folder / "rules" / "errors.yaml", {
        "name": "Errors", "index": f"{prefix}-*", "type": "any",
        "filter": [{"term": {"level.keyword": "ERROR"}}],
        "realert": {"minutes": 0},
        "alert_subject": "{0}", "alert_subject_args": ["message"],
        "alert": ["slack"], "slack_webhook_url": f"{webhook}/hook", "slack_timeout": 1,
        **extra,
    })


def tally(receiver: WebhookReceiver, expected: list[str]) -> dict[str, int]:
    """Deliveries per expected alert subject; unexpected subjects fail the test."""
    counts = collections.Counter(r.body["attachments"][0]["title"] for r in receiver.delivered)
    unexpected = set(counts) - set(expected)
    assert not unexpected, f"alerts nobody expected: {unexpected}"
    return {subject: counts.get(subject, 0) for subject in expected}


def report(name: str, counts: dict[str, int], runs: str = "") -> tuple[int, int]:
    lost = sum(1 for c in counts.values() if c == 0)
    duplicates = sum(c - 1 for c in counts.values() if c > 1)
    print(f"\nFAULT {name}: expected={len(counts)} delivered={sum(1 for c in counts.values() if c)} "
          f"duplicates={duplicates} lost={lost} {runs}")
    return lost, duplicates


def load_errors(engine, prefix: str, messages: list[str], when: dt.datetime | None = None) -> None:
    when = when or dt.datetime.now(dt.timezone.utc)
    bulk_load(engine, None, [efk_doc(when - dt.timedelta(seconds=i + 1), "ERROR", m) for i, m in enumerate(messages)],
              prefix=prefix)


@pytest.mark.parametrize("point,allowed_duplicates", [
    ("after_enqueue", 0),   # alerts recorded pending, nothing sent, window end not saved
    ("before_send", 0),     # window end saved, nothing sent
    ("during_send", 1),     # the receiver accepted the first alert but the daemon never saw the answer
    ("after_send", 1),      # the first alert was sent, its 'sent' mark was not written
])
def test_kill_9_during_a_run_loses_nothing(engine, engine_url, fresh_index, tmp_path, point, allowed_duplicates):
    expected = [f"{point} failure {i}" for i in range(3)]
    with WebhookReceiver() as hook:
        write_config(tmp_path, engine_url)
        error_rule(tmp_path, fresh_index, hook.url, slack_timeout=10)
        env = {"LOGALERT_FAILPOINTS": point} if point != "during_send" else {}
        if point == "during_send":
            hook.script = [Behaviour(status=200, delay=3.0)]
        load_errors(engine, fresh_index, expected)
        proc = start_daemon(tmp_path, env=env)
        if point == "during_send":
            deadline = time.monotonic() + 60
            while not hook.requests and time.monotonic() < deadline:
                time.sleep(0.05)
            assert hook.requests, "the daemon never started sending"
            proc.kill()
        code = proc.wait(60)
        assert code == -9, f"the daemon should have been killed at {point}"
        restarted = start_daemon(tmp_path)
        try:
            hook.wait_for(lambda items: len({i.body["attachments"][0]["title"] for i in items}) >= 3, timeout=60)
            wait_log(tmp_path, "'Errors': ", count=3)  # a few more runs over the same overlap
            time.sleep(4 if point == "during_send" else 2)  # let the killed request's answer land
        finally:
            assert stop_daemon(restarted) == 0
    lost, duplicates = report(f"kill -9 at {point}", tally(hook, expected),
                              f"requests={len(hook.requests)} runs=2 processes")
    assert lost == 0
    assert duplicates <= allowed_duplicates


def test_webhook_errors_then_timeouts_then_recovery_delivers_each_alert_once(engine, engine_url, fresh_index, tmp_path):
    expected = [f"flaky receiver {i}" for i in range(2)]
    with WebhookReceiver() as hook:
        # 500s, then answers slower than slack_timeout (1 s) and not accepted, then healthy.
        hook.script = [Behaviour(500)] * 4 + [Behaviour(503, delay=1.5)] * 4
        write_config(tmp_path, engine_url)
        error_rule(tmp_path, fresh_index, hook.url)
        load_errors(engine, fresh_index, expected)
        proc = start_daemon(tmp_path)
        try:
            hook.wait_for(lambda items: len(items) >= 2, timeout=90)
            time.sleep(3)  # more runs: nothing may be sent again
        finally:
            assert stop_daemon(proc) == 0
    attempts = len(hook.requests)
    lost, duplicates = report("webhook 500 -> timeouts -> recovery", tally(hook, expected), f"requests={attempts}")
    assert (lost, duplicates) == (0, 0)
    assert attempts >= 10, "the failures must really have been retried"


def test_sigterm_during_a_run_finishes_it_writes_state_and_exits_0(engine, engine_url, fresh_index, tmp_path):
    expected = ["slow delivery"]
    with WebhookReceiver() as hook:
        hook.script = [Behaviour(200, delay=3.0)]
        config = write_config(tmp_path, engine_url)
        error_rule(tmp_path, fresh_index, hook.url, slack_timeout=10)
        load_errors(engine, fresh_index, expected)
        proc = start_daemon(tmp_path)
        deadline = time.monotonic() + 60
        while not hook.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        sent_at = dt.datetime.now(dt.timezone.utc)
        proc.terminate()
        assert proc.wait(60) == 0
        assert len(hook.delivered) == 1
        import yaml

        writeback = yaml.safe_load(config.read_text())["writeback_index"]
        state = EngineState(lambda: connect(engine_options(engine_url)), writeback)
        status = state.load_status("Errors")
        assert status is not None and status.last_end is not None
        assert status.last_end >= sent_at - dt.timedelta(seconds=5)
        assert [e.status for e in state.outbox("Errors")] == ["sent"]
        again = start_daemon(tmp_path)
        try:
            wait_log(tmp_path, "0 matches, 0 alerts", timeout=30)
        finally:
            assert stop_daemon(again) == 0
    lost, duplicates = report("SIGTERM during a run", tally(hook, expected))
    assert (lost, duplicates) == (0, 0)


@pytest.fixture
def own_engine(tmp_path_factory):
    """A second engine this test may stop and start (its data survives the restart)."""
    home = tmp_path_factory.mktemp("engine")
    port = os.environ.get("LOGALERT_TEST_OUTAGE_PORT", "9253")
    env = dict(os.environ, LOGALERT_ENGINE_PORT=port, LOGALERT_ENGINE_HOME=str(home), LOGALERT_ENGINE_KEEP_DATA="1")
    script = ROOT / "tools" / "search-engine" / "engine.sh"

    def engine_sh(command: str) -> None:
        proc = subprocess.run(["bash", str(script), command], env=env, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stdout + proc.stderr

    engine_sh("up")
    try:
        yield f"http://127.0.0.1:{port}", engine_sh
    finally:
        env["LOGALERT_ENGINE_KEEP_DATA"] = "0"
        engine_sh("down")


def test_engine_outage_covers_the_missed_range_once(own_engine, tmp_path):
    url, engine_sh = own_engine
    engine = make_client(url)
    prefix = "logstash-outage"
    with WebhookReceiver() as hook:
        write_config(tmp_path, url)
        error_rule(tmp_path, prefix, hook.url)
        load_errors(engine, prefix, ["before the outage"])
        proc = start_daemon(tmp_path)
        try:
            hook.wait_for(lambda items: len(items) >= 1, timeout=60)
            engine_sh("down")
            down_at = dt.datetime.now(dt.timezone.utc)
            wait_log(tmp_path, "cannot reach the search engine", timeout=30)
            time.sleep(2)
            assert proc.poll() is None, "the daemon must survive the outage"
            engine_sh("up")
            # Logs Fluentd buffered during the outage arrive late, stamped with outage times.
            load_errors(make_client(url), prefix, ["during the outage"], when=down_at + dt.timedelta(seconds=2))
            load_errors(make_client(url), prefix, ["after the outage"])
            hook.wait_for(lambda items: len(items) >= 3, timeout=60)
            wait_log(tmp_path, "0 matches, 0 alerts", timeout=30)
        finally:
            assert stop_daemon(proc) == 0
    expected = ["before the outage", "during the outage", "after the outage"]
    lost, duplicates = report("engine outage", tally(hook, expected))
    assert (lost, duplicates) == (0, 0)
