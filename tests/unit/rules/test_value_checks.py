"""Option values a schema cannot read fail the load with file:line and the option."""

from __future__ import annotations

import pytest

from logalert.errors import ConfigError
from logalert.rules.loader import load_rule

BASE = "name: r\ntype: any\nindex: logs-%Y.%m.%d\nalert: stdout\n"


def load(tmp_path, config, extra: str):
    path = tmp_path / "r.yaml"
    path.write_text(BASE + extra)
    return path, load_rule(str(path), config)


@pytest.mark.parametrize("extra, line, option, message", [
    ("limit_execution: '* 25 * * *'\n", 5, "limit_execution", "is not a valid cron expression"),
    ("limit_execution: 'every day'\n", 5, "limit_execution", "needs 5 fields"),
    ("query_timezone: Mars/Olympus\n", 5, "query_timezone", "unknown time zone"),
    ("limit_execution: '* * * * *'\nlimit_execution_timezone: Nowhere\n", 6, "limit_execution_timezone",
     "unknown time zone"),
    ("timestamp_type: custom\ntimestamp_format: '%Y'\ntimestamp_format_expr: \"__import__('os')\"\n", 7,
     "timestamp_format_expr", "refused: unknown name '__import__'"),
])
def test_bad_values_fail_the_load_at_their_line(tmp_path, config, extra, line, option, message):
    with pytest.raises(ConfigError) as caught:
        load(tmp_path, config, extra)
    text = str(caught.value)
    assert f"r.yaml:{line}: {option}: " in text and message in text


def test_search_extra_index_needs_a_pattern(tmp_path, config):
    path = tmp_path / "r.yaml"
    path.write_text("name: r\ntype: any\nindex: logs\nalert: stdout\nuse_strftime_index: true\n"
                    "search_extra_index: true\n")
    with pytest.raises(ConfigError, match=r"r.yaml:6: search_extra_index: needs a %-pattern"):
        load_rule(str(path), config)


def test_options_without_their_partner_load_with_a_warning(tmp_path, config):
    _, (rule, warnings) = load(tmp_path, config, "search_extra_index: true\ntimestamp_format_expr: ts\n")
    said = [str(w) for w in warnings]
    assert any("r.yaml:5: warning: search_extra_index: only used with use_strftime_index" in w for w in said)
    assert any("r.yaml:6: warning: timestamp_format_expr: only used with timestamp_type: custom" in w for w in said)
    assert rule.get("search_extra_index") is True


def test_good_values_load_and_are_known(tmp_path, config):
    _, (rule, warnings) = load(tmp_path, config, "limit_execution: '* 10-18 * * 1-5'\nquery_timezone: Europe/Istanbul\n"
                                                  "realert_key: shared\ninclude_fields: [runtime_a]\n")
    assert warnings == []
    assert rule.limit_execution is not None and rule.realert_key == "shared"
