"""Zabbix: ElastAlert2 options, the items sent, and the sender-protocol framing
(encoding and decoding without a network; the exchange is in the integration tests)."""

from __future__ import annotations

import datetime as dt
import io
import json
import struct
import zlib

import pytest

from logalert.errors import ConfigError, DeliveryError
from logalert.model import Alert, Match
from logalert.notify.alerters import get
from logalert.notify.alerters.zabbix import ProtocolError, ZabbixAlerter, counts, encode, read_message

UTC = dt.timezone.utc
BASE = "name: Disk errors\ntype: any\nindex: logstash-*\nalert: [zabbix]\n"


def _zabbix(make_rule, extra: str):
    rule = make_rule(BASE + extra)
    target = rule.alerts[0]
    alerter = get(target.name)(rule, target.options)
    assert isinstance(alerter, ZabbixAlerter)
    return rule, alerter


def _alert(rule, *docs):
    matches = tuple(Match(dt.datetime(2026, 3, 1, 12, 0, i, 250000, tzinfo=UTC), d, doc_id=f"d{i}")
                    for i, d in enumerate(docs))
    return Alert("a1", rule, matches, "s", "b")


def test_ea2_defaults_and_describe(make_rule):
    _, alerter = _zabbix(make_rule, "zbx_host: test001\nzbx_key: sender_load1\n")
    o = alerter.options
    assert (o["zbx_sender_host"], o["zbx_sender_port"], o["zbx_host_from_field"], o["zbx_timeout"]) == (
        "localhost", 10051, False, 10)
    assert alerter.describe() == "zabbix localhost:10051 (host test001, item sender_load1)"


def test_host_and_key_are_required(make_rule):
    with pytest.raises(ConfigError) as info:
        make_rule(BASE + "zbx_sender_host: zabbix-server\n")
    text = str(info.value)
    assert "zbx_host: required by the 'zabbix' notifier but not set" in text
    assert "zbx_key: required by the 'zabbix' notifier but not set" in text


def test_a_port_out_of_range_is_refused(make_rule):
    with pytest.raises(ConfigError) as info:
        make_rule(BASE + "zbx_host: h\nzbx_key: k\nzbx_sender_port: 70000\n")
    assert "zbx_sender_port" in str(info.value)


def test_one_value_1_per_match_at_the_match_time(make_rule):
    rule, alerter = _zabbix(make_rule, "zbx_host: test001\nzbx_key: sender_load1\n")
    items = alerter.items(_alert(rule, {"a": 1}, {"a": 2}))
    clock = int(dt.datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC).timestamp())
    assert items == [
        {"host": "test001", "key": "sender_load1", "value": "1", "clock": clock, "ns": 250000000},
        {"host": "test001", "key": "sender_load1", "value": "1", "clock": clock + 1, "ns": 250000000},
    ]


def test_an_alert_without_matches_still_counts_once_at_server_time(make_rule):
    rule, alerter = _zabbix(make_rule, "zbx_host: test001\nzbx_key: k\n")
    assert alerter.items(_alert(rule)) == [{"host": "test001", "key": "k", "value": "1"}]


def test_host_from_a_match_field(make_rule, caplog):
    rule, alerter = _zabbix(make_rule, "zbx_host_from_field: true\nzbx_host: agent.hostname\nzbx_key: k\n")
    items = alerter.items(_alert(rule, {"agent": {"hostname": "db-1"}}, {"other": 1}, {"agent.hostname": "db-2"}))
    assert [i["host"] for i in items] == ["db-1", "db-2"]
    assert "1 of 3 matches have no field 'agent.hostname'" in caplog.text
    assert alerter.describe() == "zabbix localhost:10051 (host from field agent.hostname, item k)"


@pytest.mark.parametrize("docs, message", [
    ((), "the alert has no match to read the host field 'hostname' from"),
    (({"x": 1},), "no match has the host field 'hostname'"),
])
def test_host_from_field_without_a_host_is_not_retryable(make_rule, docs, message):
    rule, alerter = _zabbix(make_rule, "zbx_host_from_field: true\nzbx_host: hostname\nzbx_key: k\n")
    with pytest.raises(DeliveryError) as info:
        alerter.items(_alert(rule, *docs))
    assert message in str(info.value) and info.value.retryable is False


def test_request_envelope(make_rule):
    rule, alerter = _zabbix(make_rule, "zbx_host: h\nzbx_key: k\n")
    request = alerter.request(_alert(rule, {"a": 1}))
    assert request["request"] == "sender data"
    assert len(request["data"]) == 1
    assert isinstance(request["clock"], int) and 0 <= request["ns"] < 10 ** 9


def test_encode_header_is_magic_flag_and_little_endian_length():
    packet = encode({"request": "sender data", "data": []})
    data = b'{"request":"sender data","data":[]}'
    assert packet[:5] == b"ZBXD\x01"
    assert packet[5:13] == len(data).to_bytes(8, "little")  # 4-byte length + zero reserved word
    assert packet[13:] == data


def test_encode_counts_bytes_not_characters():
    packet = encode({"host": "hôte"})
    assert struct.unpack("<Q", packet[5:13])[0] == len('{"host":"hôte"}'.encode("utf-8"))


def _reader(raw: bytes, chunk: int = 3):
    """A recv() that hands out at most ``chunk`` bytes per call, as TCP may."""
    stream = io.BytesIO(raw)
    return lambda n: stream.read(min(n, chunk))


ANSWER = {"response": "success", "info": "processed: 1; failed: 0; total: 1; seconds spent: 0.000055"}


def test_read_message_round_trip_in_small_chunks():
    assert read_message(_reader(encode(ANSWER))) == ANSWER


def test_read_compressed_and_large_packets():
    data = json.dumps(ANSWER).encode()
    packed = zlib.compress(data)
    compressed = b"ZBXD\x03" + struct.pack("<II", len(packed), len(data)) + packed
    assert read_message(_reader(compressed, 1000)) == ANSWER
    large = b"ZBXD\x05" + struct.pack("<QQ", len(data), 0) + data
    assert read_message(_reader(large, 1000)) == ANSWER


@pytest.mark.parametrize("raw, message", [
    (b"HTTP/1.1 400 Bad Request\r\n\r\n", "not a Zabbix answer (starts with b'HTTP')"),
    (b"ZBXD\x01" + struct.pack("<II", 50, 0) + b"{}", "connection closed 2 bytes into a 50-byte read"),
    (b"", "connection closed 0 bytes into a 5-byte read"),
    (b"ZBXD\x01" + struct.pack("<II", 3, 0) + b"abc", "answer is not JSON"),
])
def test_read_message_rejects_what_is_not_a_whole_zabbix_message(raw, message):
    with pytest.raises(ProtocolError) as info:
        read_message(_reader(raw, 1000))
    assert message in str(info.value)


def test_counts_reads_the_info_line():
    assert counts("processed: 2; failed: 1; total: 3; seconds spent: 0.000120") == {
        "processed": 2, "failed": 1, "total": 3, "seconds spent": 0.00012}
    assert counts("") == {}


def test_a_resolution_sends_0_to_the_same_item_so_the_trigger_recovers(make_rule):
    rule, alerter = _zabbix(make_rule, "zbx_host: test001\nzbx_key: k\nsend_resolved: true\n")
    fired = _alert(rule, {"a": 1})
    resolved = Alert("r1", rule, fired.matches, "[RESOLVED] s", "b", status="resolved", since=fired.matches[0].timestamp)
    assert alerter.items(resolved) == [{"host": "test001", "key": "k", "value": "0"}]
    rule, alerter = _zabbix(make_rule, "zbx_host_from_field: true\nzbx_host: agent.hostname\nzbx_key: k\n")
    fired = _alert(rule, {"agent": {"hostname": "db-1"}})
    resolved = Alert("r1", rule, fired.matches, "s", "b", status="resolved")
    assert alerter.items(resolved) == [{"host": "db-1", "key": "k", "value": "0"}]
    with pytest.raises(DeliveryError, match="no host field"):
        alerter.items(Alert("r2", rule, _alert(rule, {"x": 1}).matches, "s", "b", status="resolved"))
