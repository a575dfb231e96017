"""Sending an alert through each notifier, with one retry policy for all of them.

Every (alert, notifier) pair goes through the outbox: recorded pending before the
send, marked sent after. Delivery is tracked per notifier, so Slack failing never
re-sends the email that already went out. A pending entry is retried by later runs
until alert_time_limit; then it is marked failed and logged as an error, never
dropped silently.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Callable, Sequence

from logalert import failpoints, metrics
from logalert.errors import DeliveryError
from logalert.model import Alert, Match
from logalert.notify.alerters.base import Alerter
from logalert.secrets import mask
from logalert.state.base import OutboxEntry, StateStore

log = logging.getLogger(__name__)

# Matches kept with an outbox entry for a retry after a restart: the notifiers read the
# first ones; a digest of thousands must not make every pending record that large.
KEPT_MATCHES = 20


def _entry(alert: Alert, alerter: Alerter, entry_id: str, now: dt.datetime) -> OutboxEntry:
    return OutboxEntry(entry_id, alert.id, alert.rule.name, alerter.name, alert.subject, alert.body, now,
                       matches=[m.record() for m in alert.matches[:KEPT_MATCHES]], alert_status=alert.status,
                       since=alert.since, until=alert.until)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 3  # within one run
    first_delay: float = 1.0
    max_delay: float = 10.0

    def delay(self, attempt: int, error: DeliveryError) -> float:
        if error.retry_after is not None:
            return min(error.retry_after, self.max_delay * 3)
        return min(self.first_delay * (2 ** attempt), self.max_delay)


def _send_with_retries(alerter: Alerter, alert: Alert, policy: RetryPolicy,
                       sleep: Callable[[float], None]) -> tuple[DeliveryError | None, int]:
    """Returns (None, tries) on success, else (the last error, tries)."""
    error: DeliveryError | None = None
    tried = 0
    for attempt in range(policy.attempts):
        tried = attempt + 1
        try:
            alerter.send(alert)
            return None, tried
        except DeliveryError as exc:
            error = exc
            log.warning("rule %r: %s attempt %d/%d failed: %s", alert.rule.name, alerter.describe(),
                        tried, policy.attempts, exc)
            if not exc.retryable or tried == policy.attempts:
                break
            sleep(policy.delay(attempt, exc))
        except Exception as exc:  # noqa: BLE001 - a notifier bug must not stop the daemon
            error = DeliveryError(f"{type(exc).__name__}: {exc}", retryable=True)
            log.exception("rule %r: %s crashed", alert.rule.name, alerter.describe())
            break
    return error, tried


class Recorder:
    """Outcomes of a run's sends, written in batches of ``batch``: a flood of alerts then
    costs one write per batch instead of one per alert. A crash can repeat at most the
    sends of the unwritten batch (the same gap a single send has, ``batch`` times wider)."""

    def __init__(self, state: StateStore, batch: int = 50):
        self.state, self.batch, self.entries = state, batch, []  # type: list[OutboxEntry]

    def __call__(self, entry: OutboxEntry) -> None:
        self.entries.append(entry)
        if len(self.entries) >= self.batch:
            self.flush()

    def flush(self) -> None:
        entries, self.entries = self.entries, []
        if entries:
            self.state.put_outbox_many(entries)


def _fields(entry: OutboxEntry, outcome: str) -> dict[str, object]:
    return {"rule": entry.rule, "alert_id": entry.alert_id, "notifier": entry.alerter, "outcome": outcome,
            "attempts": entry.attempts, "error": entry.last_error}


def _attempt(entry: OutboxEntry, alerter: Alerter, alert: Alert, policy: RetryPolicy,
             sleep: Callable[[float], None], record: Callable[[OutboxEntry], None]) -> bool:
    """Send once (with retries), record the outcome in the outbox. A failure that cannot
    get better by retrying (bad webhook, refused login) is marked failed at once."""
    error, tried = _send_with_retries(alerter, alert, policy, sleep)
    entry.attempts += tried
    if error is None:
        failpoints.hit("after_send")
        entry.status, entry.sent_at, entry.last_error = "sent", dt.datetime.now(dt.timezone.utc), None
        log.info("rule %r: alert %s sent via %s", alert.rule.name, alert.id, alerter.describe(),
                 extra=_fields(entry, "sent"))
    else:
        entry.last_error = mask(str(error))
        if error.retryable:
            log.error("rule %r: alert %s not delivered via %s (kept pending, will retry): %s",
                      alert.rule.name, alert.id, alerter.describe(), entry.last_error, extra=_fields(entry, "retrying"))
        else:
            entry.status = "failed"
            log.error("rule %r: alert %s NOT delivered via %s and not retryable: %s",
                      alert.rule.name, alert.id, alerter.describe(), entry.last_error, extra=_fields(entry, "failed"))
    outcome = "sent" if error is None else ("retrying" if entry.status == "pending" else "failed")
    metrics.inc("logalert_alerts_total", rule=alert.rule.name, alerter=alerter.name, outcome=outcome)
    record(entry)
    return error is None


def enqueue(alerts: Sequence[Alert], alerters: Sequence[Alerter], state: StateStore, *, now: dt.datetime) -> None:
    """Record a run's alerts as pending for each notifier (the durable intent to send),
    skipping those an earlier process already recorded; one read and one write in all."""
    wanted = {f"{a.id}/{n.name}": (a, n) for a in alerts for n in alerters}
    if not wanted:
        return
    # Records are created after their matches happened: the store may answer from memory
    # when it knows every record created since the earliest of these matches.
    times = [m.timestamp for a in alerts for m in a.matches]
    since = min(times) if times and all(a.matches for a in alerts) else None
    known = state.get_outbox_many(list(wanted), since=since)
    state.put_outbox_many([
        _entry(alert, alerter, entry_id, now) for entry_id, (alert, alerter) in wanted.items() if entry_id not in known])


def deliver(alert: Alert, alerters: Sequence[Alerter], state: StateStore, *,
            policy: RetryPolicy = RetryPolicy(), now: dt.datetime,
            sleep: Callable[[float], None] = time.sleep,
            record: Callable[[OutboxEntry], None] | None = None) -> dict[str, bool]:
    """Send ``alert`` through each notifier not yet done; returns notifier -> delivered.
    Outcomes go to ``record`` (a Recorder batching them), else straight to the store."""
    record = record or state.put_outbox
    results: dict[str, bool] = {}
    for alerter in alerters:
        entry_id = f"{alert.id}/{alerter.name}"
        entry = state.get_outbox(entry_id)
        if entry is not None and entry.status != "pending":
            results[alerter.name] = entry.status == "sent"
            continue
        if entry is None:
            entry = _entry(alert, alerter, entry_id, now)
            state.put_outbox(entry)
        results[alerter.name] = _attempt(entry, alerter, alert, policy, sleep, record)
    return results


def retry_pending(rule_name: str, alerters: dict[str, Alerter], state: StateStore, *,
                  time_limit: dt.timedelta, now: dt.datetime, rule: object,
                  policy: RetryPolicy = RetryPolicy(attempts=1),
                  sleep: Callable[[float], None] = time.sleep) -> int:
    """Re-send outbox entries left pending by earlier runs (or a crash); returns how many went out."""
    sent = 0
    for entry in state.pending_outbox(rule_name):
        alerter = alerters.get(entry.alerter)
        if alerter is None or now - entry.created > time_limit:
            entry.status = "failed"
            entry.last_error = (entry.last_error or "") + (
                " [notifier no longer configured]" if alerter is None else f" [gave up after alert_time_limit {time_limit}]")
            state.put_outbox(entry)
            log.error("rule %r: alert %s via %s dropped after %d attempts: %s", rule_name, entry.alert_id,
                      entry.alerter, entry.attempts, entry.last_error)
            continue
        matches = tuple(Match.from_record(r) for r in entry.matches)
        alert = Alert(entry.alert_id, rule, matches, entry.subject, entry.body,  # type: ignore[arg-type]
                      status=entry.alert_status, since=entry.since, until=entry.until)
        sent += _attempt(entry, alerter, alert, policy, sleep, state.put_outbox)
    return sent
