"""Named crash points for fault tests (kill -9 at an exact step of a run).

``LOGALERT_FAILPOINTS=before_send`` makes the process SIGKILL itself the first time it
reaches ``hit("before_send")``. Unset (always, outside the fault tests) this is one
dictionary lookup.
"""

from __future__ import annotations

import os
import signal

_ARMED = frozenset(p.strip() for p in os.environ.get("LOGALERT_FAILPOINTS", "").split(",") if p.strip())


def hit(name: str) -> None:
    if name in _ARMED:
        os.kill(os.getpid(), signal.SIGKILL)
