"""The notifier interface. A notifier only sends and says whether a failure is worth
retrying; the retry policy lives once, in ``logalert.notify.delivery``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Mapping

from logalert.model import Alert
from logalert.rules.model import Rule


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
