"""Third-party notifiers, found through the ``logalert.alerters`` entry-point group.

A package declares ``[project.entry-points."logalert.alerters"] NAME = "pkg.module:Class"``;
the module of that class declares ``OPTIONS``/``REQUIRED`` (and may define ``check``)
exactly like a built-in notifier, so the rule schema validates its options and secrets
are masked the same way. A plugin cannot replace a built-in name: a package installed
for one purpose must not silently reroute every rule's Slack alerts.
"""

from __future__ import annotations

import functools
import logging
from importlib.metadata import entry_points
from typing import Mapping

GROUP = "logalert.alerters"
log = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def discovered() -> Mapping[str, str]:
    """``{name: "module:attr"}`` of installed plugins (read once per process)."""
    found: dict[str, str] = {}
    for ep in entry_points(group=GROUP):
        if ep.name in found:
            log.warning("notifier plugin %r is declared twice; using %s", ep.name, found[ep.name])
            continue
        found[ep.name] = ep.value
    return found
