"""es_conn_timeout set in config.yaml reaches a rule's engine connection.

It once did not: config.yaml accepted the option, rules never inherited it, and every
rule's backend waited the built-in 20 s on an engine that accepts connections but never
answers (a hung proxy, a node stuck in GC). No search engine is needed: a local TCP
server that accepts and stays silent plays that engine.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from logalert.config import load_config
from logalert.engine import EngineError, Pool, connect
from logalert.rules import load_rule


@pytest.fixture
def silent_server():
    """127.0.0.1:PORT accepting connections and never sending a byte."""
    server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.2)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except (socket.timeout, OSError):
                continue
            accepted.append(conn)  # held open, never answered

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(timeout=2)
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture
def rule_with_timeout(tmp_path, silent_server):
    port, _ = silent_server
    config_file = tmp_path / "config.yaml"
    config_file.write_text(f"es_host: 127.0.0.1\nes_port: {port}\nes_conn_timeout: 2\n")
    rule_file = tmp_path / "rule.yaml"
    rule_file.write_text("name: r\ntype: any\nindex: logs-*\nalert: stdout\n")
    rule, warnings = load_rule(str(rule_file), load_config(str(config_file), environ={}))
    assert warnings == []
    return rule


def _fails_within(call) -> tuple[EngineError, float]:
    started = time.monotonic()
    with pytest.raises(EngineError) as info:
        call()
    return info.value, time.monotonic() - started


def test_the_rule_inherits_the_config_timeout(rule_with_timeout, silent_server):
    port, _ = silent_server
    assert rule_with_timeout.get("es_conn_timeout") == 2
    assert rule_with_timeout.get("es_port") == port
    assert 2 in rule_with_timeout.connection  # rules with another timeout get another client


def test_connect_gives_up_after_the_configured_timeout(rule_with_timeout, silent_server):
    error, took = _fails_within(lambda: connect(rule_with_timeout.options))
    assert took < 10, f"waited {took:.1f} s: the config's es_conn_timeout (2 s) did not apply"
    assert "cannot reach the search engine at http://127.0.0.1:" in str(error)
    assert silent_server[1], "the server never saw the connection"


def test_pool_get_with_the_rules_options_gives_up_too(rule_with_timeout):
    pool = Pool()
    error, took = _fails_within(lambda: pool.get(rule_with_timeout.connection, rule_with_timeout.options))
    assert took < 10, f"waited {took:.1f} s: the config's es_conn_timeout (2 s) did not apply"
    assert error.unreachable
