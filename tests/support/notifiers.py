"""Building a loaded rule's notifiers as the daemon does, for notifier tests."""

from __future__ import annotations

from logalert.notify.alerters import get


def notifier(rule, index: int = 0):
    """The rule's ``index``-th notifier, with the options its alert: entry resolved to."""
    target = rule.alerts[index]
    return get(target.name)(rule, target.options)
