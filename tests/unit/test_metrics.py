"""Prometheus text exposition of logalert's counters and gauges."""

from __future__ import annotations

import pytest

from logalert import metrics


@pytest.fixture(autouse=True)
def clean():
    metrics.reset()
    yield
    metrics.reset()


def test_counters_add_up_per_label_set_and_render_in_text_format():
    metrics.inc("logalert_rule_runs_total", rule="a", outcome="ok")
    metrics.inc("logalert_rule_runs_total", rule="a", outcome="ok")
    metrics.inc("logalert_rule_runs_total", rule="a", outcome="error")
    metrics.set_gauge("logalert_rule_run_seconds", 0.25, rule="a")
    metrics.set_gauge("logalert_rule_run_seconds", 0.5, rule="a")
    text = metrics.render()
    assert 'logalert_rule_runs_total{outcome="ok",rule="a"} 2' in text
    assert 'logalert_rule_runs_total{outcome="error",rule="a"} 1' in text
    assert 'logalert_rule_run_seconds{rule="a"} 0.5' in text
    assert "# TYPE logalert_rule_runs_total counter" in text
    assert "# TYPE logalert_rule_run_seconds gauge" in text


def test_label_values_are_escaped():
    metrics.inc("logalert_rule_hits_total", 3, rule='say "hi"\\n')
    assert 'logalert_rule_hits_total{rule="say \\"hi\\"\\\\n"} 3' in metrics.render()


def test_every_metric_the_package_records_is_registered_so_it_is_exported():
    """render() exports only the names in HELP: a name missing there is recorded and
    never shown (logalert_alerts_firing was, until this test)."""
    import re
    from pathlib import Path

    package = Path(metrics.__file__).parent
    used = {name for path in package.rglob("*.py")
            for name in re.findall(r'metrics\.(?:inc|set_gauge)\(\s*"([a-z_]+)"', path.read_text())}
    assert used and used <= set(metrics.HELP), sorted(used - set(metrics.HELP))
    metrics.set_gauge("logalert_alerts_firing", 2, rule="burst")
    assert 'logalert_alerts_firing{rule="burst"} 2' in metrics.render().splitlines()
