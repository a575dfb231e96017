"""``type: blacklist`` — a document whose ``compare_key`` holds a value on ``blacklist``
is a match; documents without the field never are."""

from __future__ import annotations

from typing import Any

from logalert.model import Match
from logalert.ruletypes.listed import COMPARE_KEY, ListedRule, list_option, values_of

OPTIONS = (COMPARE_KEY, list_option("blacklist"))
REQUIRED = ("compare_key", "blacklist")


class BlacklistRule(ListedRule):
    name = "blacklist"
    list_option = "blacklist"

    def verdict(self, value: Any) -> bool:
        return any(v is not None and self.listed(v) for v in values_of(value))

    def describe(self, match: Match) -> str:
        return f"{match.details['compare_key']} is {match.details['value']!r}, which is on the blacklist."
