"""The notifier interface. A notifier only sends and says whether a failure is worth
retrying; the retry policy lives once, in ``logalert.notify.delivery``."""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from typing import Any, Mapping

from logalert.model import Alert
from logalert.options import defaults
from logalert.rules.model import Rule


class Alerter(ABC):
    name: str = "?"
    # True for notifiers whose service forgets a firing alert unless it is posted again
    # (Alertmanager): with send_resolved, each run re-sends the alerts still firing.
    renews: bool = False

    def __init__(self, rule: Rule, options: Mapping[str, Any]):
        self.rule = rule
        # The defaults the notifier's module declares (OPTIONS) under what it was given:
        # a loaded rule's alert target has them already, a hand-built one may not.
        declared = getattr(sys.modules[type(self).__module__], "OPTIONS", ())
        self.options = {**defaults(declared), **options}

    @abstractmethod
    def send(self, alert: Alert) -> None:
        """Deliver or raise DeliveryError (with ``retryable`` and maybe ``retry_after``)."""

    def describe(self) -> str:
        """Where this notifier sends, safe to print (no secrets)."""
        return self.name
