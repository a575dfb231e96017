"""What the console's handlers share: the config, the rules folder, the state store, the
engine pool, the daemon (``logalert run``; None for ``logalert web``) and the token."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from typing import TYPE_CHECKING, Any

from logalert.config import Config
from logalert.daemon.web.auth import Auth, resolve_token
from logalert.daemon.web.paths import RulesFolder
from logalert.daemon.web.rulelist import RuleIndex, active
from logalert.engine import Pool
from logalert.errors import EngineError
from logalert.state.base import StateStore
from logalert.timeutil import now

if TYPE_CHECKING:
    from logalert.daemon.scheduler import Daemon

log = logging.getLogger(__name__)

DEFAULT_PORT = 8090
CONCURRENT_TESTS = 2


class Console:
    def __init__(self, config: Config, state: StateStore, pool: Pool, *, daemon: Daemon | None = None,
                 host: str | None = None, port: int | None = None):
        self.config = config
        self.state = state
        self.pool = pool
        self.daemon = daemon
        self.host = host or str(config["web_host"])
        self.port = DEFAULT_PORT if port is None else port
        # TokenRequired (a ValueError) when a non-loopback address has no token.
        self.token, self.token_generated = resolve_token(config.get("web_token"), self.host)
        self.auth = Auth(self.token)
        self.folder = RulesFolder(config.rules_folder, bool(config["scan_subdirectories"]))
        self.index = RuleIndex(config, self.folder)
        self.write_lock = threading.Lock()
        self.tests = threading.BoundedSemaphore(CONCURRENT_TESTS)
        self.started: dt.datetime = now()

    @property
    def mode(self) -> str:
        return "daemon" if self.daemon is not None else "console"

    def url(self, port: int | None = None) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{port or self.port}/"

    def reload_soon(self) -> None:
        """A file was saved or deleted: the daemon checks its rules now, not in 10 s."""
        if self.daemon is not None:
            try:
                self.daemon.reload_soon()
            except Exception as exc:  # noqa: BLE001 - the regular reload still comes
                log.warning("web console: could not trigger a reload (%s); it happens within 10 s", exc)

    def state_snapshot(self) -> tuple[dict[str, Any], list[Any], str | None]:
        """(status by rule, active silences, why the state is unavailable or None)."""
        try:
            statuses = {s.rule: s for s in self.state.all_status()}
            silences = active(self.state.list_silences())
        except EngineError as exc:
            return {}, [], f"writeback index unavailable: {exc}"
        return statuses, silences, None
