"""``type: spike`` — the count of the current ``timeframe`` against the one before it:
``spike_height`` times more (``spike_type: up``), fewer (``down``) or either (``both``)
is a match. ``field_value`` compares the sum of that field instead of the count;
``threshold_cur``/``threshold_ref`` are the least the current/reference window must
hold. A query_key value with nothing in the reference window is new: it alerts only
with ``alert_on_new_data``. After a spike the value waits one timeframe before the
next one.

The engine counts whenever it can (no query_key, or use_count_query/use_terms_query);
otherwise the documents are read. Windows end at the checkpoints of the step grid.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

from logalert.model import Event, Match, Window
from logalert.options import BOOLEAN, NONEMPTY, Option
from logalert.rules.model import Rule
from logalert.ruletypes.common import TERMS_SIZE, doc_fields, key_phrase, number
from logalert.ruletypes.counting import NEVER, CountingRule
from logalert.timeutil import iso, pretty_span

SPIKE_HEIGHT = Option("spike_height", {"type": "number", "exclusiveMinimum": 0})
SPIKE_TYPE = Option("spike_type", {"enum": ["up", "down", "both"]})
OPTIONS = (
    SPIKE_HEIGHT,
    SPIKE_TYPE,
    Option("threshold_cur", {"type": "number", "minimum": 0}, 0),
    Option("threshold_ref", {"type": "number", "minimum": 0}, 0),
    Option("alert_on_new_data", BOOLEAN, False),
    Option("field_value", NONEMPTY, description="compare the sum of this numeric field instead of counts"),
    TERMS_SIZE,
)
REQUIRED = ("spike_height", "spike_type", "timeframe")


def spike_direction(rule: Rule, cur: float | None, ref: float | None, *, counts: bool) -> str | None:
    """"up", "down" or None for a current and a reference value under the rule's
    spike_height, spike_type, threshold_cur and threshold_ref. ``counts``: the values are
    event counts (zero is meaningful); otherwise they are sums or metrics, and a zero or
    missing value on either side never makes a spike."""
    if cur is None or ref is None:
        return None
    if cur < rule.get("threshold_cur") or ref < rule.get("threshold_ref"):
        return None
    if counts:
        if cur == 0 and ref == 0:
            return None
        if ref == 0 and rule.query_key and not rule.get("alert_on_new_data"):
            return None  # a value new in this window has no baseline yet
    elif cur == 0 or ref == 0:
        return None
    height = float(rule.get("spike_height"))
    wanted = rule.get("spike_type")
    if wanted in ("up", "both") and cur >= ref * height:
        return "up"
    if wanted in ("down", "both") and cur <= ref / height:
        return "down"
    return None


class SpikeRule(CountingRule):
    name = "spike"
    lookback = 2

    def __init__(self, rule: Rule):
        super().__init__(rule)
        self.blocked: dict[tuple[Any, ...], dt.datetime] = {}  # no new spike for this value before

    @classmethod
    def counts_in_engine(cls, rule: Rule) -> bool:
        return not rule.query_key or super().counts_in_engine(rule)

    def value_field(self) -> str | None:
        return self.rule.get("field_value")

    def test(self, window: Window, series: Any, step: dt.timedelta, new: Sequence[Event],
             replayed: set[tuple[str, str]]) -> list[Match]:
        out = []
        tf = self.timeframe
        keys = series.keys() or ([()] if not self.rule.query_key else [])
        for c in self.checkpoints(window, step):
            for key in keys:
                if c < self.blocked.get(key, NEVER):
                    continue
                cur, ref = series.total(key, c - tf, c), series.total(key, c - 2 * tf, c - tf)
                counts = self.value_field() is None
                if counts:
                    cur, ref = int(cur), int(ref)
                direction = spike_direction(self.rule, cur, ref, counts=counts)
                if direction is None:
                    continue
                self.blocked[key] = c + tf
                if c >= window.start:
                    doc = series.latest(key, c)
                    extra = {"spike_count": cur, "reference_count": ref}
                    what = f"the sum of {self.value_field()}" if self.value_field() else "matching events"
                    details = spike_details(self.rule, c, tf, direction, cur, ref, what)
                    out.append(Match(c, doc_fields(self.rule, doc, c, key, extra), key=key, details=details))
        return out

    def forget_before(self, horizon: dt.datetime) -> None:
        self.blocked = {k: v for k, v in self.blocked.items() if v >= horizon}

    def describe(self, match: Match) -> str:
        return spike_text(self.rule, match)


def spike_details(rule: Rule, c: dt.datetime, tf: dt.timedelta, direction: str, cur: float, ref: float,
                  what: str) -> dict[str, Any]:
    return {"direction": direction, "spike_count": cur, "reference_count": ref, "what": what,
            "spike_height": rule.get("spike_height"), "timeframe": pretty_span(tf),
            "start": iso(c - tf), "end": iso(c)}


def spike_text(rule: Rule, match: Match) -> str:
    d = match.details
    return (f"Spike {d['direction']}{key_phrase(rule, match.key)}: {d['what']} = {number(d['spike_count'])} "
            f"from {d['start']} to {d['end']}, against {number(d['reference_count'])} in the {d['timeframe']} "
            f"before (spike_height {d['spike_height']}).")
