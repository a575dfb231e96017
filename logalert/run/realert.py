"""From matches to alerts: silences and realert, keyed by query_key.

Realert is measured in event time (the match's timestamp), not wall-clock time,
so a catch-up run after an outage alerts as the live runs would have.

Realert silences are kept under the rule's ``realert_key`` (default its name), as
ElastAlert2 does: rules sharing a realert_key silence each other, per query_key value.
Silences set by hand (``logalert silence RULE``) stay under the rule's own name and are
honoured too.
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Sequence

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
    owner = rule.realert_key
    names = list(dict.fromkeys((owner, rule.name)))
    whole_rule = _latest(state.get_silence(n, ALL_KEYS, at=earliest) for n in names) if matches else None
    for match in matches:
        if whole_rule is not None and match.timestamp < whole_rule.until:
            continue
        key = key_text(match)
        # With exponential realert, a silence that ended up to the cap ago still counts.
        back = match.timestamp - (exponential or dt.timedelta(0))
        silence = updated.get(key) or state.get_silence(owner, key, at=back)
        if owner != rule.name and (own := state.get_silence(rule.name, key, at=back)) is not None \
                and match.timestamp < own.until:
            continue  # a hand-made silence of this rule
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
            updated[key] = Silence(owner, key, match.timestamp + span, exponent, "realert")
    return out, list(updated.values())


def _latest(silences: Iterable[Silence | None]) -> Silence | None:
    found = [s for s in silences if s is not None]
    return max(found, key=lambda s: s.until) if found else None


def _max_exponent(realert: dt.timedelta, cap: dt.timedelta) -> int:
    """The exponent at which realert * 2**n reaches the cap; it never grows past it."""
    n = 0
    while realert * (2 ** n) < cap:
        n += 1
    return n


def _span(realert: dt.timedelta, exponent: int, cap: dt.timedelta | None) -> dt.timedelta:
    span = realert * (2 ** exponent)
    return min(span, cap) if cap else span
