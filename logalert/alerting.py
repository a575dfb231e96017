"""From matches to alerts: silences and realert, keyed by query_key.

Realert is measured in event time (the match's timestamp), not wall-clock time,
so a catch-up run after an outage alerts as the live runs would have.
"""

from __future__ import annotations

import datetime as dt
from typing import Sequence

from logalert.rules.model import Rule
from logalert.ruletypes.base import Match
from logalert.state.base import Silence, StateStore


def key_text(match: Match) -> str:
    return ",".join("" if v is None else str(v) for v in match.key)


def select(rule: Rule, matches: Sequence[Match], state: StateStore) -> list[Match]:
    """Matches that become alerts; the rest fall inside a silence or realert period."""
    realert = rule.span("realert", dt.timedelta(minutes=1)) or dt.timedelta(0)
    exponential = rule.span("exponential_realert")
    out = []
    for match in matches:
        key = key_text(match)
        silence = state.get_silence(rule.name, key)
        if silence is not None and match.timestamp < silence.until:
            continue
        out.append(match)
        if realert > dt.timedelta(0):
            exponent = 0
            if exponential and silence is not None:
                # Back off while the problem keeps recurring right after each silence ends;
                # reset once it stayed quiet for longer than the current silence.
                quiet = match.timestamp - silence.until
                exponent = silence.exponent + 1 if quiet < realert * (2 ** silence.exponent) else 0
            span = realert * (2 ** exponent)
            if exponential:
                span = min(span, exponential)
            state.put_silence(Silence(rule.name, key, match.timestamp + span, exponent, "realert"))
    return out
