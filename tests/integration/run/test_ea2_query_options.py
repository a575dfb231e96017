"""ElastAlert2's limit_execution, new_term threshold, include_fields, search_extra_index
and query_timezone on the real engine: what is run, fetched and searched.

Document times are fixed (2024-05-01T12:00Z + minutes) and runs have explicit windows,
except the daemon's ticks, whose limit_execution decision uses the daemon's clock."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from logalert.config import load_config
from logalert.daemon.scheduler import Daemon
from logalert.engine import Pool
from logalert.model import Window
from logalert.rules import load_rule
from logalert.run.runner import RuleRunner
from logalert.run.tick import run_tick
from logalert.state import MemoryState
from tests.integration.helpers import engine_options, write_config, write_yaml
from tests.support.efk import bulk_load, efk_doc

UTC = dt.timezone.utc
T0 = dt.datetime(2024, 5, 1, 12, 0, tzinfo=UTC)  # a Wednesday


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


@pytest.fixture
def rule_for(tmp_path, engine_url, fresh_index):
    counter = iter(range(1000))

    def make(type_name: str = "any", **options: Any):
        data = {**engine_options(engine_url), "name": f"{type_name} {next(counter)}", "type": type_name,
                "index": f"{fresh_index}-*", "alert": ["stdout"], "realert": {"minutes": 0}, **options}
        path = write_yaml(tmp_path / f"{data['name'].replace(' ', '_')}.yaml", data)
        rule, warnings = load_rule(str(path), load_config(None, environ={}))
        assert warnings == []
        return rule

    return make


def run(rule, start: float, end: float, runner: RuleRunner | None = None):
    result = (runner or RuleRunner(rule, Pool(), MemoryState())).run(Window(at(start), at(end)), send=False)
    assert result.error is None, result.error
    return result.matches


def log(minute: float, **fields: Any) -> dict[str, Any]:
    return efk_doc(at(minute), "ERROR", "boom", **fields)


def test_limit_execution_runs_a_rule_only_at_ticks_its_cron_reached(tmp_path, engine_url, engine, fresh_index):
    bulk_load(engine, None, [log(1)], prefix=fresh_index)
    write_config(tmp_path, engine_url)
    rules = tmp_path / "rules"
    for name, extra in (("limited", {"limit_execution": "* 10-18 * * 1-5"}), ("free", {})):
        write_yaml(rules / f"{name}.yaml", {"name": name, "type": "any", "index": f"{fresh_index}-*",
                                            "alert": ["stdout"], **extra})
    state = MemoryState()
    daemon = Daemon(load_config(str(tmp_path / "config.yaml"), environ={}), [str(rules)], state)

    def tick(clock: dt.datetime) -> list[str]:
        """One tick of the daemon's rules: its limit_execution filter, then the real tick."""
        daemon.clock = lambda: clock
        results = run_tick(daemon._within_limits(list(daemon.runners.values())), state, daemon.workers)
        assert all(r.error is None for r in results)
        return sorted(r.rule for r in results)

    try:
        assert daemon.load() == 0
        assert tick(dt.datetime(2024, 5, 4, 12, 0, tzinfo=UTC)) == ["free"]  # a Saturday
        assert state.load_status("limited") is None  # not run at all
        assert tick(dt.datetime(2024, 5, 6, 9, 59, 59, tzinfo=UTC)) == ["free"]  # Monday, just before
        assert tick(dt.datetime(2024, 5, 6, 10, 0, 30, tzinfo=UTC)) == ["free", "limited"]
        assert state.load_status("limited").last_run is not None
    finally:
        daemon.workers.shutdown(wait=True)
        daemon.pool.close()


def test_new_term_threshold_fires_only_at_the_count(rule_for, engine, fresh_index):
    bulk_load(engine, None, [log(-60 * 24, user="alice")], prefix=fresh_index)
    rule = rule_for("new_term", fields=["user"], threshold=3, threshold_window_size={"minutes": 30},
                    terms_window_size={"days": 7})
    runner = RuleRunner(rule, Pool(), MemoryState())
    bulk_load(engine, None, [log(1, user="mallory"), log(2, user="mallory"), log(3, user="alice")],
              prefix=fresh_index)
    assert run(rule, 0, 5, runner) == []
    bulk_load(engine, None, [log(6, user="mallory")], prefix=fresh_index)
    matches = run(rule, 5, 10, runner)
    assert [(m.timestamp, m.fields["new_value"], m.details["count"]) for m in matches] == [(at(6), "mallory", 3)]
    bulk_load(engine, None, [log(11, user="mallory")], prefix=fresh_index)
    assert run(rule, 10, 15, runner) == []


def test_include_fields_fetches_fields_the_source_filter_leaves_out(rule_for, engine, fresh_index):
    bulk_load(engine, None, [log(1, user="carol")], prefix=fresh_index)
    plain = rule_for(include=["message"])
    assert "user" not in run(plain, 0, 5)[0].fields
    extra = rule_for(include=["message"], include_fields=["user"])
    assert run(extra, 0, 5)[0].fields["user"] == "carol"


def test_search_extra_index_searches_the_day_before(rule_for, engine, fresh_index):
    # Shipped late: in the index of the day before its own timestamp.
    bulk_load(engine, f"{fresh_index}-2024.04.30", [efk_doc(at(1), "ERROR", "late")], prefix=fresh_index)
    daily = {"index": f"{fresh_index}-%Y.%m.%d", "use_strftime_index": True}
    assert run(rule_for(**daily), 0, 5) == []
    assert [m.fields["message"] for m in run(rule_for(**daily, search_extra_index=True), 0, 5)] == ["late"]


def test_query_timezone_writes_the_range_as_the_local_wall_time(rule_for, engine, fresh_index):
    index = f"{fresh_index}-local"
    engine.indices.create(index=index, body={"mappings": {"properties": {
        "local_time": {"type": "date", "format": "yyyy-MM-dd HH:mm:ss"}}}})
    # 15:00 in Istanbul (UTC+3) is 12:00 UTC; the shipper wrote the local wall time, no zone.
    bulk_load(engine, index, [{"local_time": "2024-05-01 15:00:00", "message": "local"}], prefix=fresh_index)
    custom = {"index": index, "timestamp_field": "local_time", "timestamp_type": "custom",
              "timestamp_format": "%Y-%m-%d %H:%M:%S"}
    assert run(rule_for(**custom), -5, 5) == []  # asked for 11:55-12:05 wall time
    matches = run(rule_for(**custom, query_timezone="Europe/Istanbul"), -5, 5)
    assert [(m.fields["message"], m.timestamp) for m in matches] == [("local", at(0))]
