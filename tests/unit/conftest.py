"""Shared helpers for the unit tests: fixture paths, a config without the caller's
environment, and a Rule factory that goes through the real loader."""

from __future__ import annotations

import datetime as dt
import logging
import textwrap
from pathlib import Path

import pytest

from logalert.config import load_config
from logalert.rules import load_rule

FIXTURES = Path(__file__).resolve().parent / "fixtures"
UTC = dt.timezone.utc


def at(*args: int) -> dt.datetime:
    """An aware UTC datetime: at(2024, 1, 1, 12, 0)."""
    return dt.datetime(*args, tzinfo=UTC)


@pytest.fixture
def config():
    """Defaults only: no config file, no LOGALERT_* variables from the test runner."""
    return load_config(None, environ={})


@pytest.fixture
def make_rule(tmp_path, config):
    """Write YAML text to a rule file and load it through the real loader."""
    counter = iter(range(10_000))

    def make(text: str, cfg=None):
        path = tmp_path / f"rule_{next(counter)}.yaml"
        path.write_text(textwrap.dedent(text))
        rule, _warnings = load_rule(str(path), cfg or config)
        return rule

    return make


@pytest.fixture
def restore_root_logging():
    """cli.main installs its own root handler; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
