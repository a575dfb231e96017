"""The notifier interface. A notifier only sends and says whether a failure is worth
retrying; the retry policy lives once, in ``logalert.notify.delivery``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Mapping

from logalert.rules.model import Rule
from logalert.ruletypes.base import Match


@dataclass(frozen=True, repr=False)
class Alert:
    id: str  # deterministic: rule + match identity
    rule: Rule
    matches: tuple[Match, ...]
    subject: str
    body: str

    def __repr__(self) -> str:
        return f"Alert({self.id!r}, rule={self.rule.name!r}, subject={self.subject!r})"


class Alerter(ABC):
    name: str = "?"

    def __init__(self, rule: Rule, options: Mapping[str, Any]):
        self.rule = rule
        self.options = options

    @abstractmethod
    def send(self, alert: Alert) -> None:
        """Deliver or raise DeliveryError (with ``retryable`` and maybe ``retry_after``)."""

    def describe(self) -> str:
        """Where this notifier sends, safe to print (no secrets)."""
        return self.name
