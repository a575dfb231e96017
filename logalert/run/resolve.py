"""Firing and resolved alerts (``send_resolved``).

An alert fires per key — the query_key values, or the aggregation_key value for a
digest rule — from its first match on, and resolves once ``resolve_after`` has passed
in event time (the window's end) without a new match for that key. Judging in event
time makes a backfill (``run --once --start/--end``) resolve exactly as the live
daemon would.

What is firing lives in the rule's status (``RuleStatus.firing``): it is saved with the
window it belongs to, after the run's alerts reach the outbox, so a restart neither
forgets a firing alert nor resolves it twice. A resolution is enqueued in the outbox
(like any alert, at-least-once) before the status that drops the key is saved; a crash
in between decides the same resolution again, with the same id, which the outbox
already knows. Rules without ``send_resolved`` keep no firing state at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Sequence

from logalert.model import RESOLVED, Alert, Match, Window
from logalert.notify import digest, render
from logalert.rules.model import Rule
from logalert.run import realert
from logalert.state.base import RuleStatus
from logalert.timeutil import iso, parse_iso


def sends_resolved(alerter: Any) -> bool:
    """Whether this notifier wants resolved notifications (its own send_resolved, set in
    its alert: entry or rule-wide)."""
    return bool(getattr(alerter, "options", {}).get("send_resolved"))


def key_of(rule: Rule, match: Match) -> str:
    """The key an alert fires under: the digest key for aggregated rules (their alerts
    are per digest), else the query_key values, as realert keys them."""
    if digest.enabled(rule) and digest.agg_fields(rule):
        return digest.agg_key(rule, match)
    return realert.key_text(match)


@dataclass(frozen=True)
class Resolution:
    key: str
    since: dt.datetime
    last: dt.datetime
    match: Match  # the match the alert started with (notifiers derive dedup keys from it)


def track(rule: Rule, status: RuleStatus, matches: Sequence[Match], window: Window) -> tuple[list[Resolution], list[str]]:
    """Record this window's matches in ``status.firing``; return the keys that resolve
    at the window's end (removed from ``status.firing``) and the keys still firing that
    had a new match in this window (for notifiers that want to hear while it fires)."""
    renewed: list[str] = []
    for match in sorted(matches, key=lambda m: m.timestamp):
        key = key_of(rule, match)
        entry = status.firing.get(key)
        if entry is None:
            status.firing[key] = {"since": iso(match.timestamp), "last": iso(match.timestamp), "match": match.record()}
        elif match.timestamp > parse_iso(entry["last"]):
            entry["last"] = iso(match.timestamp)
        if key not in renewed:
            renewed.append(key)
    after = rule.resolve_after
    resolved = []
    for key, entry in list(status.firing.items()):
        last = parse_iso(entry["last"])
        if window.end - last >= after:
            resolved.append(Resolution(key, parse_iso(entry["since"]), last, Match.from_record(entry["match"])))
            del status.firing[key]
    return resolved, [k for k in renewed if k in status.firing]


def alert(rule: Rule, resolution: Resolution, end: dt.datetime) -> Alert:
    """The resolved notification: a deterministic id per (rule, key, since), so deciding
    the same resolution again after a crash finds it in the outbox."""
    alert_id = Match(resolution.since, {}, key=(resolution.key,)).identity(rule.name + "/resolved")
    text = render.resolved(rule, resolution.match, resolution.since, resolution.last, end)
    return Alert(alert_id, rule, (resolution.match,), text.subject, text.body, status=RESOLVED, since=resolution.since,
                 until=resolution.last)
