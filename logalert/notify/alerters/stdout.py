"""``alert: stdout`` (alias ``debug``): the alert on standard output, for demos and tests."""

from __future__ import annotations

import sys
import threading

from logalert.model import Alert
from logalert.notify.alerters.base import Alerter
from logalert.secrets import mask

OPTIONS = ()  # prints the alert; nothing to set

_lock = threading.Lock()


class StdoutAlerter(Alerter):
    name = "stdout"

    def send(self, alert: Alert) -> None:
        text = f"=== ALERT [{alert.rule.name}] {alert.subject}\n{alert.body.rstrip()}\n=== END ALERT {alert.id}\n"
        with _lock:  # rules run in parallel threads; keep each alert in one piece
            sys.stdout.write(mask(text))
            sys.stdout.flush()
