"""One retry policy for every notifier; a per-notifier outbox; retry of pending alerts."""

from __future__ import annotations

import datetime as dt

import pytest

from logalert.errors import DeliveryError
from logalert.model import Alert
from logalert.notify.alerters.base import Alerter
from logalert.notify.delivery import RetryPolicy, deliver, retry_pending
from logalert.state import MemoryState

from ..conftest import at

NOW = at(2024, 5, 1, 12, 0)


class Scripted(Alerter):
    """Raises the scripted errors in order, then succeeds; records every send."""

    def __init__(self, name, rule, script=()):
        super().__init__(rule, {})
        self.name = name
        self.script = list(script)
        self.sent: list[str] = []
        self.calls = 0

    def send(self, alert):
        self.calls += 1
        if self.script:
            raise self.script.pop(0)
        self.sent.append(alert.id)


class Sleeps(list):
    def __call__(self, seconds):
        self.append(seconds)


@pytest.fixture
def rule(make_rule):
    return make_rule("name: r\ntype: any\nindex: x\nalert: stdout\n")


@pytest.fixture
def alert(rule):
    return Alert("alert-1", rule, (), "subject", "body")


def test_success_first_time_marks_sent(rule, alert):
    state, sleeps = MemoryState(), Sleeps()
    slack = Scripted("slack", rule)
    assert deliver(alert, [slack], state, now=NOW, sleep=sleeps) == {"slack": True}
    entry = state.get_outbox("alert-1/slack")
    assert (entry.status, entry.attempts, entry.last_error, entry.subject, entry.body) == ("sent", 1, None, "subject", "body")
    assert entry.sent_at is not None
    assert sleeps == []
    assert state.pending_outbox() == []


def test_retryable_errors_back_off_exponentially(rule, alert):
    state, sleeps = MemoryState(), Sleeps()
    slack = Scripted("slack", rule, [DeliveryError("HTTP 503"), DeliveryError("HTTP 502")])
    policy = RetryPolicy(attempts=4, first_delay=0.5, max_delay=10)
    assert deliver(alert, [slack], state, policy=policy, now=NOW, sleep=sleeps) == {"slack": True}
    assert sleeps == [0.5, 1.0]
    assert slack.calls == 3
    assert state.get_outbox("alert-1/slack").status == "sent"


def test_backoff_is_capped_by_max_delay():
    policy = RetryPolicy(attempts=10, first_delay=1, max_delay=5)
    assert [policy.delay(i, DeliveryError("x")) for i in range(5)] == [1, 2, 4, 5, 5]


def test_retry_after_is_honoured(rule, alert):
    state, sleeps = MemoryState(), Sleeps()
    slack = Scripted("slack", rule, [DeliveryError("HTTP 429", retry_after=7)])
    deliver(alert, [slack], state, policy=RetryPolicy(attempts=3, first_delay=1, max_delay=10), now=NOW, sleep=sleeps)
    assert sleeps == [7]
    assert slack.sent == ["alert-1"]


def test_retry_after_is_bounded():
    assert RetryPolicy(max_delay=10).delay(0, DeliveryError("x", retry_after=3600)) == 30


def test_all_attempts_fail_keeps_entry_pending_with_error(rule, alert):
    state, sleeps = MemoryState(), Sleeps()
    slack = Scripted("slack", rule, [DeliveryError(f"HTTP 50{i}") for i in range(3)])
    assert deliver(alert, [slack], state, policy=RetryPolicy(attempts=3), now=NOW, sleep=sleeps) == {"slack": False}
    assert slack.calls == 3
    assert sleeps == [1.0, 2.0]  # no sleep after the last attempt
    entry = state.get_outbox("alert-1/slack")
    assert (entry.status, entry.attempts, entry.last_error) == ("pending", 3, "HTTP 502")


def test_non_retryable_error_stops_immediately(rule, alert):
    state, sleeps = MemoryState(), Sleeps()
    slack = Scripted("slack", rule, [DeliveryError("HTTP 404: no_service", retryable=False)])
    assert deliver(alert, [slack], state, now=NOW, sleep=sleeps) == {"slack": False}
    assert slack.calls == 1
    assert sleeps == []
    assert state.get_outbox("alert-1/slack").last_error == "HTTP 404: no_service"


def test_non_retryable_error_records_one_attempt(rule, alert):
    state = MemoryState()
    slack = Scripted("slack", rule, [DeliveryError("HTTP 404", retryable=False)])
    deliver(alert, [slack], state, now=NOW, sleep=Sleeps())
    assert state.get_outbox("alert-1/slack").attempts == 1


def test_notifier_crash_is_contained_and_masked(rule, alert):
    from logalert import secrets

    secrets.register("https://hooks.example.com/crash/secret-path-123")
    state = MemoryState()
    broken = Scripted("webhook", rule, [RuntimeError("boom at https://hooks.example.com/crash/secret-path-123")])
    ok = Scripted("stdout", rule)
    assert deliver(alert, [broken, ok], state, now=NOW, sleep=Sleeps()) == {"webhook": False, "stdout": True}
    assert broken.calls == 1
    assert state.get_outbox("alert-1/webhook").last_error == "RuntimeError: boom at <secret>"


def test_outbox_is_per_notifier_a_sent_notifier_is_not_resent(rule, alert):
    state, sleeps = MemoryState(), Sleeps()
    email = Scripted("email", rule)
    slack = Scripted("slack", rule, [DeliveryError("HTTP 500")] * 3)
    assert deliver(alert, [email, slack], state, now=NOW, sleep=sleeps) == {"email": True, "slack": False}
    # the next run delivers the same alert again: only slack is tried
    assert deliver(alert, [email, slack], state, now=NOW, sleep=sleeps) == {"email": True, "slack": True}
    assert email.sent == ["alert-1"]
    assert email.calls == 1
    assert slack.sent == ["alert-1"]
    assert state.get_outbox("alert-1/slack").attempts == 4
    assert [state.get_outbox(f"alert-1/{n}").status for n in ("email", "slack")] == ["sent", "sent"]


def test_retry_pending_resends_only_pending_entries(rule, alert):
    state = MemoryState()
    email = Scripted("email", rule)
    slack = Scripted("slack", rule, [DeliveryError("HTTP 500")] * 3)
    deliver(alert, [email, slack], state, now=NOW, sleep=Sleeps())
    assert [e.id for e in state.pending_outbox("r")] == ["alert-1/slack"]
    sent = retry_pending("r", {"email": email, "slack": slack}, state, time_limit=dt.timedelta(days=2),
                         now=NOW + dt.timedelta(minutes=1), rule=rule, sleep=Sleeps())
    assert sent == 1
    assert slack.sent == ["alert-1"]
    assert email.calls == 1
    entry = state.get_outbox("alert-1/slack")
    assert (entry.status, entry.attempts, entry.last_error) == ("sent", 4, None)
    assert state.pending_outbox() == []


def test_retry_pending_keeps_failing_entry_pending_within_the_limit(rule, alert):
    state = MemoryState()
    slack = Scripted("slack", rule, [DeliveryError("HTTP 500")] * 5)
    deliver(alert, [slack], state, now=NOW, sleep=Sleeps())
    sent = retry_pending("r", {"slack": slack}, state, time_limit=dt.timedelta(hours=1),
                         now=NOW + dt.timedelta(minutes=30), rule=rule, sleep=Sleeps())
    assert sent == 0
    entry = state.get_outbox("alert-1/slack")
    assert (entry.status, entry.attempts) == ("pending", 4)  # default retry policy: one attempt per run


def test_retry_pending_gives_up_after_alert_time_limit(rule, alert, caplog):
    state = MemoryState()
    slack = Scripted("slack", rule, [DeliveryError("HTTP 500")] * 3)
    deliver(alert, [slack], state, now=NOW, sleep=Sleeps())
    calls_before = slack.calls
    sent = retry_pending("r", {"slack": slack}, state, time_limit=dt.timedelta(hours=1),
                         now=NOW + dt.timedelta(hours=1, seconds=1), rule=rule, sleep=Sleeps())
    assert sent == 0
    assert slack.calls == calls_before  # not tried again
    entry = state.get_outbox("alert-1/slack")
    assert entry.status == "failed"
    assert entry.last_error == "HTTP 500 [gave up after alert_time_limit 1:00:00]"
    assert state.pending_outbox() == []
    assert any(r.levelname == "ERROR" and "dropped" in r.getMessage() for r in caplog.records)


def test_retry_pending_fails_entries_of_removed_notifiers(rule, alert):
    state = MemoryState()
    slack = Scripted("slack", rule, [DeliveryError("HTTP 500")] * 3)
    deliver(alert, [slack], state, now=NOW, sleep=Sleeps())
    retry_pending("r", {}, state, time_limit=dt.timedelta(days=2), now=NOW, rule=rule, sleep=Sleeps())
    entry = state.get_outbox("alert-1/slack")
    assert (entry.status, entry.last_error) == ("failed", "HTTP 500 [notifier no longer configured]")


def test_retry_pending_only_touches_its_rule(rule, alert):
    state = MemoryState()
    slack = Scripted("slack", rule, [DeliveryError("HTTP 500")] * 3)
    deliver(alert, [slack], state, now=NOW, sleep=Sleeps())
    assert retry_pending("other rule", {"slack": slack}, state, time_limit=dt.timedelta(days=2), now=NOW,
                         rule=rule, sleep=Sleeps()) == 0
    assert state.get_outbox("alert-1/slack").status == "pending"


def test_a_retry_after_a_restart_gets_the_alert_with_its_matches(rule):
    """Notifiers that build payloads from the log document (post, pagerduty…) must see the
    same matches when an entry left pending by an earlier process is re-sent."""
    from logalert.model import Match

    match = Match(at(2024, 5, 1, 11, 59), {"level": "ERROR", "pod": {"name": "api-1"}}, index="logs", doc_id="d1",
                  key=("api-1",))
    state = MemoryState()
    down = Scripted("post", rule, [DeliveryError("HTTP 503", retryable=True)])
    deliver(Alert("alert-9", rule, (match,), "s", "b"), [down], state, policy=RetryPolicy(attempts=1), now=NOW)
    assert [e.id for e in state.pending_outbox()] == ["alert-9/post"]

    seen = []

    class Records(Scripted):
        def send(self, alert):
            seen.append(alert.matches)

    restarted = Records("post", rule)
    assert retry_pending("r", {"post": restarted}, state, time_limit=dt.timedelta(days=1), now=NOW, rule=rule) == 1
    assert seen == [(match,)]
