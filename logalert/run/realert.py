"""From matches to alerts: silences and realert, keyed by query_key.

Realert is measured in event time (the match's timestamp), not wall-clock time,
so a catch-up run after an outage alerts as the live runs would have.
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from logalert.model import Match
from logalert.rules.model import Rule
from logalert.state.base import Silence, StateStore

ALL_KEYS = "*"


def key_text(match: Match) -> str:
    return ",".join("" if v is None else str(v) for v in match.key)


def select(rule: Rule, matches: Sequence[Match], state: StateStore) -> tuple[list[Match], list[Silence]]:
    """Matches that become alerts, and the silences to record for them. The caller writes
    the silences only after the alerts are safely in the outbox: a crash in between must
    not leave a silence that hides an alert nobody recorded."""
    realert = rule.span("realert") or dt.timedelta(0)
    exponential = rule.span("exponential_realert")
    out: list[Match] = []
    updated: dict[str, Silence] = {}
    # `logalert silence RULE` without --query-key silences every value (stored under "*").
    earliest = min((m.timestamp for m in matches), default=None)
    whole_rule = state.get_silence(rule.name, ALL_KEYS, at=earliest) if matches else None
    for match in matches:
        if whole_rule is not None and match.timestamp < whole_rule.until:
            continue
        key = key_text(match)
        # With exponential realert, a silence that ended up to the cap ago still counts.
        silence = updated.get(key) or state.get_silence(rule.name, key, at=match.timestamp - (exponential or dt.timedelta(0)))
        if silence is not None and match.timestamp < silence.until:
            continue
        out.append(match)
        if realert > dt.timedelta(0):
            exponent = 0
            if exponential and silence is not None:
                # Back off while the problem keeps recurring right after each silence ends;
                # reset once it stayed quiet for longer than the silence it just left.
                quiet = match.timestamp - silence.until
                if quiet < _span(realert, silence.exponent, exponential):
                    exponent = min(silence.exponent + 1, _max_exponent(realert, exponential))
            span = _span(realert, exponent, exponential)
            updated[key] = Silence(rule.name, key, match.timestamp + span, exponent, "realert")
    return out, list(updated.values())


def _max_exponent(realert: dt.timedelta, cap: dt.timedelta) -> int:
    """The exponent at which realert * 2**n reaches the cap; it never grows past it."""
    n = 0
    while realert * (2 ** n) < cap:
        n += 1
    return n


def _span(realert: dt.timedelta, exponent: int, cap: dt.timedelta | None) -> dt.timedelta:
    span = realert * (2 ** exponent)
    return min(span, cap) if cap else span
