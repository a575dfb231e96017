"""Zabbix against a fake Zabbix trapper on 127.0.0.1: a TCP server thread that decodes
the sender protocol independently of the notifier's code (header "ZBXD", flags byte,
little-endian length and reserved words, JSON) and answers as a Zabbix server does."""

from __future__ import annotations

import json
import socket
import struct
import threading
from typing import Any

import pytest

from logalert.errors import DeliveryError
from tests.support.receivers import free_port

from .conftest import alert_for, notifier


class FakeZabbix:
    """Accepts "sender data" for the (host, key) pairs in ``items``; ``mode`` scripts
    misbehaviour: "close" (hang up unanswered), "http" (not Zabbix), "silent" (never answer),
    "failed" (a "failed" response)."""

    def __init__(self, items: set[tuple[str, str]]) -> None:
        self.items = items
        self.mode = "normal"
        self.received: list[dict[str, Any]] = []
        self.headers: list[bytes] = []
        self.release = threading.Event()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(5)
        self.port = self.sock.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _read(self, conn: socket.socket, n: int) -> bytes:
        out = b""
        while len(out) < n:
            chunk = conn.recv(n - len(out))
            if not chunk:
                raise ConnectionError("client hung up")
            out += chunk
        return out

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                try:
                    self._one(conn)
                except (ConnectionError, OSError):
                    pass

    def _one(self, conn: socket.socket) -> None:
        header = self._read(conn, 13)
        self.headers.append(header)
        length = struct.unpack("<I", header[5:9])[0]  # the tests check the whole header
        request = json.loads(self._read(conn, length).decode("utf-8"))
        self.received.append(request)
        if self.mode == "close":
            return
        if self.mode == "http":
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        if self.mode == "silent":
            self.release.wait(30)
            return
        if self.mode == "failed":
            answer = {"response": "failed", "info": "cannot parse the request"}
        else:
            data = request["data"]
            ok = sum(1 for d in data if (d["host"], d["key"]) in self.items)
            answer = {"response": "success",
                      "info": f"processed: {ok}; failed: {len(data) - ok}; total: {len(data)}; "
                              "seconds spent: 0.000042"}
        body = json.dumps(answer).encode()
        conn.sendall(b"ZBXD\x01" + struct.pack("<Q", len(body)) + body)

    def __enter__(self) -> "FakeZabbix":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release.set()
        self.sock.close()


@pytest.fixture
def zabbix():
    with FakeZabbix({("test001", "sender_load1"), ("db-1", "errors"), ("db-2", "errors")}) as server:
        yield server


def _rule(make_rule, port: int, extra: str = "zbx_host: test001\nzbx_key: sender_load1\n"):
    return make_rule(f"""\
name: Load errors
type: any
index: logstash-*
alert:
  - zabbix
zbx_sender_host: 127.0.0.1
zbx_sender_port: {port}
""" + extra)


DOC1 = {"@timestamp": "2026-03-01T12:00:00.5Z", "hostname": "db-1", "message": "disk error"}
DOC2 = {"@timestamp": "2026-03-01T12:00:07Z", "hostname": "db-2", "message": "disk error"}
CLOCK = 1772366400  # 2026-03-01T12:00:00Z


def test_sends_value_1_per_match_with_the_match_clock(make_rule, zabbix):
    rule = _rule(make_rule, zabbix.port)
    notifier(rule).send(alert_for(rule, DOC1, DOC2))
    (request,) = zabbix.received
    assert request["request"] == "sender data"
    assert request["data"] == [
        {"host": "test001", "key": "sender_load1", "value": "1", "clock": CLOCK, "ns": 500000000},
        {"host": "test001", "key": "sender_load1", "value": "1", "clock": CLOCK + 7, "ns": 0},
    ]
    assert isinstance(request["clock"], int) and isinstance(request["ns"], int)
    length = len(json.dumps(request, separators=(",", ":")).encode())
    assert zabbix.headers[0] == b"ZBXD\x01" + length.to_bytes(8, "little")


def test_host_from_match_field(make_rule, zabbix):
    rule = _rule(make_rule, zabbix.port, "zbx_host_from_field: true\nzbx_host: hostname\nzbx_key: errors\n")
    notifier(rule).send(alert_for(rule, DOC1, DOC2))
    assert [(d["host"], d["key"], d["value"]) for d in zabbix.received[0]["data"]] == [
        ("db-1", "errors", "1"), ("db-2", "errors", "1")]


def test_an_alert_resent_without_matches_is_sent_once(make_rule, zabbix):
    rule = _rule(make_rule, zabbix.port)
    notifier(rule).send(alert_for(rule))
    assert zabbix.received[0]["data"] == [{"host": "test001", "key": "sender_load1", "value": "1"}]


def test_values_zabbix_refuses_fail_without_retry(make_rule, zabbix):
    rule = _rule(make_rule, zabbix.port, "zbx_host: no-such-host\nzbx_key: sender_load1\n")
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC1))
    assert info.value.retryable is False
    assert str(info.value) == (
        f"Zabbix 127.0.0.1:{zabbix.port} refused 1 of 1 values for item 'sender_load1' of host 'no-such-host' "
        "(no such host or trapper item, or this sender is not in its allowed hosts): "
        "processed: 0; failed: 1; total: 1; seconds spent: 0.000042")


def test_a_failed_response_is_not_retryable(make_rule, zabbix):
    zabbix.mode = "failed"
    rule = _rule(make_rule, zabbix.port)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC1))
    assert info.value.retryable is False
    assert str(info.value) == f"Zabbix 127.0.0.1:{zabbix.port} refused the values: cannot parse the request"


def test_connection_refused_is_retryable(make_rule):
    port = free_port()
    rule = _rule(make_rule, port)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC1))
    assert info.value.retryable is True
    assert str(info.value) == f"Zabbix 127.0.0.1:{port} unreachable: Connection refused"


def test_a_hang_up_before_the_answer_is_retryable(make_rule, zabbix):
    zabbix.mode = "close"
    rule = _rule(make_rule, zabbix.port)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC1))
    assert info.value.retryable is True
    assert "delivery unknown" in str(info.value)
    assert len(zabbix.received) == 1


def test_a_peer_that_is_not_zabbix_is_not_retryable(make_rule, zabbix):
    zabbix.mode = "http"
    rule = _rule(make_rule, zabbix.port)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC1))
    assert info.value.retryable is False
    assert str(info.value) == f"Zabbix 127.0.0.1:{zabbix.port}: not a Zabbix answer (starts with b'HTTP')"


def test_no_answer_within_the_timeout_is_retryable(make_rule, zabbix):
    zabbix.mode = "silent"
    rule = _rule(make_rule, zabbix.port, "zbx_host: test001\nzbx_key: sender_load1\nzbx_timeout: 0.3\n")
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC1))
    assert info.value.retryable is True
    assert str(info.value) == f"Zabbix 127.0.0.1:{zabbix.port} did not answer within 0.3 s (delivery unknown)"
