"""Hot reload in the daemon: changes (also to imported files) are picked up, a bad edit
never unloads a good rule, a deleted file unloads its rule."""

from __future__ import annotations

import os
import time

from logalert.config import load_config
from logalert.daemon.scheduler import Daemon
from logalert.state import MemoryState

RULE = "name: {name}\ntype: any\nindex: logstash-*\nalert: stdout\n{extra}"


def write(path, text):
    path.write_text(text)
    # Make the change visible to the fingerprint even within one mtime tick.
    stamp = time.time() + (hash(text) % 1000) / 1000.0
    os.utime(path, (stamp, stamp))


def test_reload_keeps_the_last_good_version_of_a_broken_rule(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    write(rules / "a.yaml", RULE.format(name="a", extra="realert: {minutes: 5}\n"))
    write(rules / "b.yaml", RULE.format(name="b", extra=""))
    daemon = Daemon(load_config(None, environ={}), [str(rules)], MemoryState())
    assert daemon.load() == 0
    assert sorted(daemon.runners) == ["a", "b"]
    fingerprint = daemon.fingerprint()

    write(rules / "a.yaml", "name: a\ntype: any\nindex: [broken\n")
    assert daemon.fingerprint() != fingerprint
    assert daemon.load() == 1
    assert daemon.runners["a"].rule.get("realert") == {"minutes": 5}  # still the good version

    write(rules / "a.yaml", RULE.format(name="a", extra="realert: {minutes: 9}\n"))
    assert daemon.load() == 0
    assert daemon.runners["a"].rule.get("realert") == {"minutes": 9}

    (rules / "b.yaml").unlink()
    daemon.load()
    assert sorted(daemon.runners) == ["a"]
    assert [job.id for job in daemon.scheduler.get_jobs()] == ["tick-60s"]


def test_a_change_in_an_imported_file_is_noticed(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    base = tmp_path / "base.yaml"
    write(base, "index: logstash-*\nalert: stdout\nrealert: {minutes: 1}\n")
    write(rules / "r.yaml", "import: ../base.yaml\nname: r\ntype: any\n")
    daemon = Daemon(load_config(None, environ={}), [str(rules)], MemoryState())
    daemon.load()
    before = daemon.fingerprint()
    write(base, "index: logstash-*\nalert: stdout\nrealert: {minutes: 7}\n")
    assert daemon.fingerprint() != before
    daemon.load()
    assert daemon.runners["r"].rule.get("realert") == {"minutes": 7}


def test_disabled_rule_is_validated_but_not_scheduled(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    write(rules / "off.yaml", RULE.format(name="disabled", extra="is_enabled: false\n"))
    daemon = Daemon(load_config(None, environ={}), [str(rules)], MemoryState())
    assert daemon.load() == 0
    assert daemon.runners == {}


def test_retention_pass_deletes_old_records_but_keeps_the_statuses_of_rules_in_the_files(tmp_path):
    import datetime as dt

    from logalert.state.base import OutboxEntry, RuleStatus

    rules = tmp_path / "rules"
    rules.mkdir()
    write(rules / "a.yaml", RULE.format(name="a", extra=""))
    write(rules / "disabled.yaml", RULE.format(name="disabled", extra="is_enabled: false\n"))
    state = MemoryState()
    long_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)
    state.put_outbox(OutboxEntry("x/slack", "x", "a", "slack", "s", "b", long_ago, status="sent"))
    state.put_outbox(OutboxEntry("y/slack", "y", "a", "slack", "s", "b", long_ago))  # still pending
    state.put_outbox(OutboxEntry("z/slack", "z", "gone", "slack", "s", "b", long_ago))  # pending, rule deleted
    for name in ("a", "disabled", "gone"):
        state.save_status(RuleStatus(name))
    config = load_config(None, environ={"LOGALERT_WRITEBACK_RETENTION": "0s"})
    daemon = Daemon(config, [str(rules)], state)
    daemon.load()
    daemon._purge()
    # z: nothing would ever retry it; past alert_time_limit it is failed, then deleted.
    assert [e.id for e in state.outbox()] == ["y/slack"]
    assert sorted(s.rule for s in state.all_status()) == ["a", "disabled"]
