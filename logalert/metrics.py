"""Prometheus metrics in the text exposition format, served at ``/metrics`` next to
``/healthz``: watch the watcher (runs failing, alerts not delivered, windows lagging).

A handful of counters and gauges with labels need no client library.
"""

from __future__ import annotations

import contextlib
import threading
from collections import defaultdict
from typing import Iterator

_lock = threading.Lock()
_local = threading.local()
_values: dict[str, dict[tuple[tuple[str, str], ...], float]] = defaultdict(dict)

HELP = {
    "logalert_rule_runs_total": ("counter", "Rule runs, by outcome (ok or error)."),
    "logalert_rule_hits_total": ("counter", "Documents a rule's searches returned."),
    "logalert_rule_matches_total": ("counter", "Matches a rule type found."),
    "logalert_alerts_total": ("counter", "Alert deliveries per notifier, by outcome (sent, retrying, failed)."),
    "logalert_rule_run_seconds": ("gauge", "Duration of a rule's last run."),
    "logalert_rule_window_end_seconds": ("gauge", "End of the last window a rule covered (unix time)."),
    "logalert_rules_owned": ("gauge", "Rules whose lease this replica holds (runs) now."),
    "logalert_lease_takeovers_total": ("counter", "Leases this replica took over after their holder stopped renewing."),
    "logalert_replicas_live": ("gauge", "Replicas whose heartbeat this replica saw within the lease duration."),
    "logalert_alerts_firing": ("gauge", "Alerts firing per rule (keys not yet resolved; rules with send_resolved)."),
    "logalert_overlap_refetch_total": ("counter", "Overlap buckets whose count changed, so their documents were read again."),
}


@contextlib.contextmanager
def muted() -> Iterator[None]:
    """Within the block, this thread's updates are dropped: the web console's Test runs a
    rule inside the daemon's process, and its figures are not the daemon's."""
    before = getattr(_local, "muted", False)
    _local.muted = True
    try:
        yield
    finally:
        _local.muted = before


def inc(name: str, amount: float = 1.0, **labels: str) -> None:
    if getattr(_local, "muted", False):
        return
    key = tuple(sorted(labels.items()))
    with _lock:
        _values[name][key] = _values[name].get(key, 0.0) + amount


def set_gauge(name: str, value: float, **labels: str) -> None:
    if getattr(_local, "muted", False):
        return
    key = tuple(sorted(labels.items()))
    with _lock:
        _values[name][key] = value


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def render() -> str:
    lines = []
    with _lock:
        snapshot = {name: dict(series) for name, series in _values.items()}
    for name, (kind, text) in HELP.items():
        lines.append(f"# HELP {name} {text}")
        lines.append(f"# TYPE {name} {kind}")
        for labels, value in sorted(snapshot.get(name, {}).items()):
            label_text = ",".join(f'{k}="{_escape(v)}"' for k, v in labels)
            lines.append(f"{name}{{{label_text}}} {value:g}" if label_text else f"{name} {value:g}")
    return "\n".join(lines) + "\n"


def reset() -> None:
    """For tests."""
    with _lock:
        _values.clear()
