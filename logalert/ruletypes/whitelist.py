"""``type: whitelist`` — a document whose ``compare_key`` holds a value missing from
``whitelist`` is a match. A document without the field is a match unless
``ignore_null`` is true."""

from __future__ import annotations

from typing import Any

from logalert.model import Match
from logalert.options import BOOLEAN, Option
from logalert.ruletypes.listed import COMPARE_KEY, ListedRule, list_option, values_of

OPTIONS = (
    COMPARE_KEY,
    list_option("whitelist"),
    Option("ignore_null", BOOLEAN, description="true: documents without compare_key are not matches"),
)
REQUIRED = ("compare_key", "whitelist", "ignore_null")


class WhitelistRule(ListedRule):
    name = "whitelist"
    list_option = "whitelist"

    def verdict(self, value: Any) -> bool:
        if value is None or value == []:
            return not self.rule.get("ignore_null")
        return any(v is not None and not self.listed(v) for v in values_of(value))

    def describe(self, match: Match) -> str:
        value = match.details["value"]
        if value is None:
            return f"{match.details['compare_key']} is missing (ignore_null is false)."
        return f"{match.details['compare_key']} is {value!r}, which is not on the whitelist."
