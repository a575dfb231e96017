"""Notifier tests against real receivers on 127.0.0.1 (no search engine needed): a
config without the caller's environment, rules loaded through the real loader, and a
running WebhookReceiver."""

from __future__ import annotations

import pytest

from logalert.model import Alert, Match
from tests.support.notifiers import notifier  # noqa: F401 - imported by the tests from here
from tests.support.receivers import WebhookReceiver
from tests.unit.conftest import config, make_rule  # noqa: F401 - the same fixtures as the unit tests


@pytest.fixture
def receiver():
    with WebhookReceiver() as hook:
        yield hook


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
