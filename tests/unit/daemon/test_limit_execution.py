"""limit_execution in the daemon: a tick runs a rule only when its cron fired since the
previous tick; a pause is logged once."""

from __future__ import annotations

import logging

from logalert.config import load_config
from logalert.daemon.scheduler import Daemon, allowed
from logalert.state import MemoryState

from ..conftest import at

RULE = "name: {name}\ntype: any\nindex: logs-*\nalert: stdout\nrun_every: {{minutes: 5}}\n{extra}"


def test_allowed_follows_the_cron_since_the_previous_tick(make_rule):
    rule = make_rule(RULE.format(name="r", extra="limit_execution: '0 * * * *'\n"))
    assert allowed(rule, at(2024, 5, 1, 10, 3))  # 10:00 is within the 5 minutes before
    assert not allowed(rule, at(2024, 5, 1, 10, 8))
    assert allowed(make_rule(RULE.format(name="free", extra="")), at(2024, 5, 1, 10, 8))
    fast = make_rule(RULE.format(name="f", extra="limit_execution: '* 10 * * *'\n").replace("minutes: 5", "seconds: 1"))
    assert allowed(fast, at(2024, 5, 1, 10, 59, 30))  # every tick of a matching minute, not only the first
    assert not allowed(fast, at(2024, 5, 1, 11, 0, 30))
    weekdays = make_rule(RULE.format(name="w", extra="limit_execution: '* 10-18 * * 1-5'\n"
                                                      "limit_execution_timezone: Europe/Istanbul\n"))
    assert allowed(weekdays, at(2024, 5, 1, 7, 0)) and not allowed(weekdays, at(2024, 5, 1, 16, 5))


def test_a_late_tick_still_runs_for_a_fire_since_the_previous_check(make_rule):
    rule = make_rule(RULE.format(name="r", extra="limit_execution: '59 9 * * *'\n"))  # once a day, 09:59
    # Ticks at 09:58:10 and, 6 minutes later instead of 5, at 10:04:10: 09:59 fell between.
    assert not allowed(rule, at(2024, 5, 1, 9, 58, 10))
    assert not allowed(rule, at(2024, 5, 1, 10, 4, 10))  # the run_every before alone misses it
    assert allowed(rule, at(2024, 5, 1, 10, 4, 10), since=at(2024, 5, 1, 9, 58, 10))
    # A rule not checked for hours (another replica held it) does not run for an old fire.
    assert not allowed(rule, at(2024, 5, 1, 13, 0), since=at(2024, 5, 1, 9, 0))


def test_the_daemon_judges_each_tick_since_the_rules_previous_check(tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "daily.yaml").write_text(RULE.format(name="daily", extra="limit_execution: '59 9 * * *'\n"))
    daemon = Daemon(load_config(None, environ={}), [str(rules)], MemoryState())
    daemon.load()
    runners = list(daemon.runners.values())
    daemon.clock = lambda: at(2024, 5, 1, 9, 58, 10)
    assert daemon._within_limits(runners) == []
    daemon.clock = lambda: at(2024, 5, 1, 10, 4, 10)  # late
    assert [r.rule.name for r in daemon._within_limits(runners)] == ["daily"]
    daemon.clock = lambda: at(2024, 5, 1, 10, 9, 10)
    assert daemon._within_limits(runners) == []  # one fire, one run
    daemon.pool.close()


def test_a_tick_outside_the_cron_skips_the_rule_and_says_so_once(tmp_path, caplog):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "limited.yaml").write_text(RULE.format(name="limited", extra="limit_execution: '* 10-18 * * 1-5'\n"))
    (rules / "free.yaml").write_text(RULE.format(name="free", extra=""))
    daemon = Daemon(load_config(None, environ={}), [str(rules)], MemoryState())
    daemon.load()
    runners = list(daemon.runners.values())
    caplog.set_level(logging.INFO, "logalert.daemon.scheduler")
    daemon.clock = lambda: at(2024, 5, 4, 12, 0)  # a Saturday
    assert [r.rule.name for r in daemon._within_limits(runners)] == ["free"]
    assert [r.rule.name for r in daemon._within_limits(runners)] == ["free"]
    paused = [r.getMessage() for r in caplog.records if "paused by limit_execution" in r.getMessage()]
    assert paused == ["rule 'limited': paused by limit_execution '* 10-18 * * 1-5' (UTC); next run at the first "
                      "tick from 2024-05-06T10:00:00.000Z"]
    daemon.clock = lambda: at(2024, 5, 6, 10, 1)
    assert sorted(r.rule.name for r in daemon._within_limits(runners)) == ["free", "limited"]
    daemon.pool.close()
