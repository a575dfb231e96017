"""Notifier tests against real receivers on 127.0.0.1 (no search engine needed): a
config without the caller's environment, rules loaded through the real loader, and a
running WebhookReceiver."""

from __future__ import annotations

import textwrap

import pytest

from logalert.config import load_config
from logalert.model import Alert, Match
from logalert.notify.alerters import get
from logalert.rules import load_rule
from tests.support.receivers import WebhookReceiver


@pytest.fixture
def config():
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
def receiver():
    with WebhookReceiver() as hook:
        yield hook


def notifier(rule, index: int = 0):
    """The rule's ``index``-th notifier, built as the daemon builds it."""
    target = rule.alerts[index]
    return get(target.name)(rule, target.options)


def alert_for(rule, *docs: dict, subject: str = "Subject", body: str = "Body text") -> Alert:
    """An alert with one match per document (timestamp from @timestamp when present)."""
    import datetime as dt

    from logalert.timeutil import parse_iso

    matches = []
    for doc in docs:
        raw = doc.get("@timestamp")
        moment = parse_iso(raw) if isinstance(raw, str) else dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        matches.append(Match(moment, doc, index="logstash-x", doc_id=f"d{len(matches)}"))
    return Alert("alert-1", rule, tuple(matches), subject, body)
