"""What every command shares: output with secrets masked, config loading, exit codes,
and the errors a command raises instead of printing (``main`` reports them once)."""

from __future__ import annotations

import datetime as dt
import difflib
import os
import sys
from typing import TYPE_CHECKING, Any

from logalert import logformat, secrets
from logalert.config import Config, load_config
from logalert.errors import short_reason
from logalert.timeutil import parse_cli_time, parse_short_span

if TYPE_CHECKING:
    from logalert.engine import Pool
    from logalert.state.writeback import EngineState

EXIT_OK, EXIT_INVALID, EXIT_ENGINE = 0, 1, 2
EXIT_SEND = 3  # test-rule --alert: a notifier failed


class UsageError(Exception):
    """A bad command-line value: one line on stderr, exit 1."""


def out(text: str = "", stream: Any = None) -> None:
    (stream or sys.stdout).write(secrets.mask(text) + "\n")


def err(text: str) -> None:
    out(text, sys.stderr)


def config(path: str | None) -> Config:
    """``--config``, else ./config.yaml when present, else defaults and environment."""
    if path is None and os.path.exists("config.yaml"):
        path = "config.yaml"
    loaded = load_config(path)
    logformat.use(loaded["log_format"])
    for warning in loaded.warnings:
        err(str(warning))
    return loaded


def cli_time(value: str | None, name: str) -> dt.datetime | None:
    if value is None:
        return None
    try:
        return parse_cli_time(value)
    except ValueError:
        raise UsageError(f"--{name}: not a time: {value!r} (use ISO 8601 such as 2026-01-31T12:00:00Z, or now-2h)") from None


def duration(text: str, name: str = "duration") -> dt.timedelta:
    span = parse_short_span(text)
    if span is None:
        raise UsageError(f"--{name}: not a duration: {text!r} (use 30m, 2h, 1d, 1w)")
    return span


def writeback(cfg: Config, pool: Pool) -> EngineState:
    """The daemon's state: the writeback index on the config's engine."""
    from logalert.engine import CONNECTION_OPTIONS
    from logalert.state.writeback import DEFAULT_HORIZON, EngineState

    key = ("writeback",) + tuple(cfg.get(k) for k in CONNECTION_OPTIONS)
    # Long enough that live runs (which reach back buffer_time) answer from memory.
    horizon = max(DEFAULT_HORIZON, 2 * cfg.span("buffer_time") + cfg.span("run_every") + cfg.span("query_delay"))
    return EngineState(lambda: pool.get(key, cfg.options), cfg["writeback_index"], horizon=horizon)


def engine_error(exc: BaseException, verbose: bool) -> str:
    """An EngineError as printed: one line (with a hint when there is more), or with
    ``verbose`` the engine's whole answer."""
    full = str(exc).strip()
    if verbose:
        return full
    short = short_reason(full, limit=400)
    return short if short == " ".join(full.split()) else f"{short} (-v: the engine's full answer)"


def close_names(word: str, names: list[str], n: int = 3) -> list[str]:
    """Names like ``word``: spelling (difflib), then case-insensitive containment."""
    lowered = {name.lower(): name for name in names}
    found = [lowered[x] for x in difflib.get_close_matches(word.lower(), list(lowered), n=n, cutoff=0.6)]
    found += [name for name in names if word.lower() in name.lower() or name.lower() in word.lower()]
    return list(dict.fromkeys(found))[:n]
