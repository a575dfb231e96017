"""``type: any`` — every document the filter lets through is a match."""

from __future__ import annotations

from typing import Sequence

from logalert.model import Event, Match, Window
from logalert.ruletypes.base import RuleType, key_of

OPTIONS = ()  # query_key, top_count_keys and the other rule options are all it takes


class AnyRule(RuleType):
    name = "any"

    def on_events(self, window: Window, events: Sequence[Event]) -> list[Match]:
        return [
            Match(timestamp=e.timestamp, fields=e.source, index=e.index, doc_id=e.id, key=key_of(self.rule, e.source))
            for e in events
        ]
