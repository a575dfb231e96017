"""log_format: json — one JSON object per line with the run's figures as fields, secrets masked."""

from __future__ import annotations

import datetime as dt
import json
import logging

from logalert import logformat
from logalert.model import Window
from logalert.run.runner import RunResult
from logalert.secrets import register

UTC = dt.timezone.utc


def _lines(text: str) -> list[dict]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_a_run_line_carries_its_figures(capsys, restore_root_logging):
    logformat.install(fmt="json")
    result = RunResult("Any error", Window(dt.datetime(2026, 1, 1, 10, tzinfo=UTC), dt.datetime(2026, 1, 1, 10, 1, tzinfo=UTC)),
                       hits=12, duration=0.1234, match_count=3, alert_count=2)
    logging.getLogger("logalert.daemon.scheduler").info("rule %r: %d hits", result.rule, result.hits,
                                                        extra=result.log_fields())
    (line,) = _lines(capsys.readouterr().err)
    assert line["level"] == "info" and line["logger"] == "logalert.daemon.scheduler"
    assert line["message"] == "rule 'Any error': 12 hits"
    assert {k: line[k] for k in ("rule", "hits", "matches", "alerts", "duration_s", "window_start", "window_end")} == {
        "rule": "Any error", "hits": 12, "matches": 3, "alerts": 2, "duration_s": 0.123,
        "window_start": "2026-01-01T10:00:00.000Z", "window_end": "2026-01-01T10:01:00.000Z"}
    assert line["time"].endswith("Z")


def test_secrets_are_masked_in_message_fields_and_tracebacks(capsys, restore_root_logging):
    hook = "https://hooks.example.com/services/T000/B000/jsonLogSecret77"
    register(hook)
    logformat.install(fmt="json")
    try:
        raise RuntimeError(f"cannot post to {hook}")
    except RuntimeError:
        logging.getLogger("logalert.x").exception("send to %s failed", hook, extra={"error": f"POST {hook}: 503"})
    err = capsys.readouterr().err
    assert "jsonLogSecret77" not in err
    (line,) = _lines(err)
    assert line["message"] == "send to <secret> failed"
    assert line["error"] == "POST <secret>: 503"
    assert "RuntimeError: cannot post to <secret>" in line["exception"]


def test_text_stays_the_default(capsys, restore_root_logging):
    logformat.install()
    logging.getLogger("logalert.x").warning("plain %s", "words", extra={"rule": "r"})
    err = capsys.readouterr().err
    assert err.rstrip().endswith("WARNING logalert.x: plain words")


def test_config_yaml_switches_the_format(tmp_path, capsys, restore_root_logging):
    from logalert.cli.common import config

    logformat.install()
    path = tmp_path / "config.yaml"
    path.write_text("log_format: json\n")
    config(str(path))
    logging.getLogger("logalert.x").info("after config")
    (line,) = _lines(capsys.readouterr().err)
    assert line["message"] == "after config"
