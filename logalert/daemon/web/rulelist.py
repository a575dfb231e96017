"""The rules folder as the console lists it: every rule file (and import base), loaded
as the daemon loads it, re-read only when a file changed; joined with each rule's
status, silences and — in ``logalert run`` — whether the daemon runs this version."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from logalert.config import Config
from logalert.daemon.web.checks import Relabel
from logalert.daemon.web.paths import RulesFolder
from logalert.errors import ConfigError, Problem
from logalert.rules import Rule, load_rule
from logalert.timeutil import iso, now

if TYPE_CHECKING:
    from logalert.daemon.scheduler import Daemon
    from logalert.state.base import RuleStatus, Silence


@dataclass
class Entry:
    rel: str
    path: str
    rule: Rule | None = None
    errors: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def base(self) -> bool:
        return os.path.basename(self.rel).startswith("_")


def _listing(folder: RulesFolder) -> list[tuple[str, str]]:
    """(rel, path) of the YAML files the daemon loads as rules, and of the import bases
    (``_name.yaml``) beside them; hidden entries are skipped as the loader skips them."""
    out = []
    root = folder.folder
    if not os.path.isdir(root):
        return out
    for here, dirs, files in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")) if folder.subdirectories else []
        for name in sorted(files):
            if name.endswith((".yaml", ".yml")) and not name.startswith("."):
                path = os.path.join(here, name)
                if os.path.realpath(path).startswith(folder.real + os.sep):  # never list what a symlink leads out to
                    out.append((folder.relative(path), path))
    return out


class RuleIndex:
    def __init__(self, config: Config, folder: RulesFolder):
        self.config = config
        self.folder = folder
        self._lock = threading.Lock()
        self._fingerprint = ""
        self._entries: list[Entry] = []
        self._imports: set[str] = set()

    def _stamp(self, files: list[str]) -> str:
        digest = hashlib.sha1()
        for path in sorted(set(files) | self._imports):
            try:
                st = os.stat(path)
                digest.update(f"{path}\0{st.st_mtime_ns}\0{st.st_size}\0{st.st_ino}\n".encode())
            except OSError:
                digest.update(f"{path}\0missing\n".encode())
        return digest.hexdigest()

    def entries(self) -> list[Entry]:
        with self._lock:
            listing = _listing(self.folder)
            stamp = self._stamp([p for _, p in listing])
            if stamp != self._fingerprint:
                self._entries = self._load(listing)
                self._imports = {pos[0] for e in self._entries if e.rule
                                 for pos in e.rule.positions.values() if not pos[0].startswith("$")}
                self._fingerprint = self._stamp([p for _, p in listing])
            return list(self._entries)

    def _load(self, listing: list[tuple[str, str]]) -> list[Entry]:
        relabel = Relabel(self.folder)
        names: dict[str, str] = {}
        out = []
        for rel, path in listing:
            entry = Entry(rel, path)
            out.append(entry)
            if entry.base or ("/" in rel and not self.folder.subdirectories):
                continue
            try:
                rule, warnings = load_rule(path, self.config)
            except ConfigError as exc:
                entry.errors = [relabel.problem(p) for p in exc.problems if p.fatal]
                entry.warnings = [relabel.problem(p) for p in exc.problems if not p.fatal]
                continue
            entry.warnings = [relabel.problem(p) for p in warnings]
            if rule.name in names:
                line = rule.positions.get("name", (path, None))[1]
                entry.errors = [relabel.problem(Problem(path, line, "name",
                                                        f"duplicate rule name, also used in {names[rule.name]}"))]
                continue
            names[rule.name] = rel
            entry.rule = rule
        return out

    def find(self, rel: str) -> Entry | None:
        return next((e for e in self.entries() if e.rel == rel), None)

    def name_taken(self, name: str, rel: str) -> str | None:
        """The other file whose rule has this name, if any."""
        return next((e.rel for e in self.entries() if e.rule is not None and e.rule.name == name and e.rel != rel),
                    None)


def liveness(entry: Entry | None, daemon: Daemon | None, loaded_name: str | None = None) -> dict[str, Any]:
    """Whether the daemon runs what the file says: ``live`` (this very version),
    ``pending`` (saved; hot reload has not picked it up yet), ``stale`` (the file is
    invalid; the daemon keeps running the last good version), ``disabled``, ``not-loaded``
    (an import base, or outside what the daemon scans), or ``no-daemon`` (``logalert web``)."""
    if daemon is None:
        return {"state": "no-daemon", "message": "console only (logalert web): a daemon reading this folder "
                                                 "reloads saved files within 10 s"}
    if entry is None:
        return {"state": "deleted", "message": "no such file"}
    if entry.base:
        return {"state": "not-loaded", "message": "an import base: loaded by the rules that import it"}
    runners = dict(daemon.runners)
    if entry.rule is None:
        if loaded_name and loaded_name in runners:
            return {"state": "stale", "message": "the file is invalid: the daemon keeps running the last good version"}
        return {"state": "invalid", "message": "the file is invalid: the daemon does not run it"}
    runner = runners.get(entry.rule.name)
    if entry.rule.get("is_enabled") is False:
        if runner is None:
            return {"state": "disabled", "message": "disabled (is_enabled: false): not scheduled"}
        return {"state": "pending", "message": "saved; the daemon unschedules it at its next reload"}
    if runner is not None and runner.rule.options == entry.rule.options:
        return {"state": "live", "message": "live: the daemon runs this version"}
    return {"state": "pending", "message": "saved; the daemon loads it at its next reload (within 10 s)"}


def status_view(status: RuleStatus | None) -> dict[str, Any] | None:
    if status is None:
        return None
    return {"last_run": iso(status.last_run) if status.last_run else None,
            "window_end": iso(status.last_end) if status.last_end else None,
            "hits": status.hits, "matches": status.matches, "alerts": status.alerts,
            "duration": round(status.duration, 3), "error": status.error,
            "firing": [{"key": k, "since": v.get("since"), "last_match": v.get("last")}
                       for k, v in sorted(status.firing.items())]}


def active(silences: list[Silence], at: dt.datetime | None = None) -> list[Silence]:
    moment = at or now()
    return [s for s in silences if s.until > moment]


def silence_view(silence: Silence) -> dict[str, Any]:
    reason = silence.reason
    return {"rule": silence.rule, "key": silence.key, "until": iso(silence.until),
            "reason": reason[len("manual: "):] if reason.startswith("manual: ") else reason,
            "kind": "realert" if reason == "realert" else "manual"}
