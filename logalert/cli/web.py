"""``web``: the web console alone (no scheduling), e.g. next to a read-only deployment;
and ``start_console``, which ``run`` calls when ``web_port`` is set."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from logalert.cli.common import EXIT_OK, UsageError, config, writeback
from logalert.config import Config

log = logging.getLogger("logalert")


def start_console(cfg: Config, state: Any, pool: Any, daemon: Any = None, *,
                  host: str | None = None, port: int | None = None) -> Any:
    """Listen and serve in a thread; the server (``.shutdown()`` stops it). A non-loopback
    address without a token, or a port in use, is a UsageError (exit 1)."""
    from logalert.daemon.web import Console, TokenRequired, serve

    if port is None and cfg["health_port"] and int(cfg["health_port"]) == int(cfg["web_port"]):
        raise UsageError("web console: web_port and health_port are the same port; the console (token, "
                         "loopback) and /healthz (no token, every interface) listen apart")
    try:
        console = Console(cfg, state, pool, daemon=daemon, host=host,
                          port=int(cfg["web_port"]) if port is None else port)
    except TokenRequired as exc:
        raise UsageError(f"web console: {exc}") from None
    try:
        server = serve(console)
    except OSError as exc:
        raise UsageError(f"web console: cannot listen on {console.host}:{console.port}: {exc.strerror or exc}") from None
    log.info("web console on %s (rules_folder %s)", console.url(), console.folder.folder)
    if console.token_generated:
        # Printed once, on purpose, outside the (masking) log: the way in for whoever started it.
        sys.stderr.write(f"web console: {console.url()} token (generated for this run; set web_token "
                         f"to choose one): {console.token}\n")
        sys.stderr.flush()
    return server


def cmd_web(args: argparse.Namespace) -> int:
    from logalert.daemon.web import DEFAULT_PORT
    from logalert.engine import Pool

    cfg = config(args.config)
    pool = Pool()
    state = writeback(cfg, pool)
    port = args.port if args.port is not None else (int(cfg["web_port"]) or DEFAULT_PORT)
    server = start_console(cfg, state, pool, host=args.host, port=port)
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("received %s; stopping the web console", signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.wait(1.0):
        pass
    server.shutdown()
    pool.close()
    log.info("stopped")
    return EXIT_OK


def add_parsers(sub: Any) -> None:
    web = sub.add_parser(
        "web", help="serve the web console without scheduling rules",
        description="Serve the web console (rule list, editor, Test, Save, silences, alert history) on "
                    "web_host:web_port without running any rule, e.g. beside a read-only deployment. "
                    "Needs a token (web_token, web_token_file or LOGALERT_WEB_TOKEN); refuses a "
                    "non-loopback address without one.")
    web.add_argument("--config", help="global config file (default: ./config.yaml when present)")
    web.add_argument("--host", help="bind address (default: web_host, 127.0.0.1)")
    web.add_argument("--port", type=int, help="port (default: web_port, else 8090; 0: any free port)")
    web.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    web.set_defaults(func=cmd_web)
