"""The send guard of a replica: a notifier wrapped so that it sends only while this
replica holds the rule's lease with enough of it left (``logalert.daemon.leases``)."""

from __future__ import annotations

from typing import Any, Callable

from logalert.errors import DeliveryError


class GuardedAlerter:
    """A notifier that sends only while this replica holds the rule's lease with more
    than ``guard`` of it left. A refused send fails as retryable without waiting, so the
    alert stays pending for the rule's next holder (or this one, once renewed)."""

    def __init__(self, inner: Any, refusal: Callable[[], str | None]):
        self._inner = inner
        self._refusal = refusal

    def send(self, alert: Any) -> None:
        why = self._refusal()
        if why:
            raise DeliveryError(f"not sent by this replica: {why}", retryable=True, retry_after=0)
        self._inner.send(alert)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)
