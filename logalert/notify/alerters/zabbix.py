"""``alert: zabbix``: the value 1 per match to a Zabbix trapper item, over the sender protocol.

As in ElastAlert2, each match sends ``1`` to item ``zbx_key`` of Zabbix host
``zbx_host`` (or, with ``zbx_host_from_field``, of the host named by the match field
``zbx_host``), stamped with the match's time, so a Zabbix trigger can count them. With
``send_resolved``, a resolution sends ``0`` to the same item (a trigger such as
``last(/host/key)=1`` then recovers).

The sender protocol is small enough to speak with ``socket`` (no Zabbix library): one
TCP connection, a request framed by a header, a JSON answer framed the same way, whose
``info`` says how many values the server processed and how many it refused. A refused
value means the host or item does not exist, is not a trapper item, or this sender is
not allowed to send to it — retrying cannot help, so it is not retryable; a server
that cannot be reached is.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import struct
from typing import Any

from logalert.errors import DeliveryError
from logalert.fields import lookup
from logalert.model import Alert
from logalert.notify.alerters.base import Alerter
from logalert.options import ALERTER, BOOLEAN, NONEMPTY, PORT, Option

log = logging.getLogger(__name__)

OPTIONS = (
    Option("zbx_sender_host", NONEMPTY, "localhost", ALERTER, description="Zabbix server or proxy address"),
    Option("zbx_sender_port", PORT, 10051, ALERTER, description="its trapper port"),
    Option("zbx_host", NONEMPTY, scope=ALERTER,
           description="Zabbix host receiving the values; with zbx_host_from_field, the match field naming it"),
    Option("zbx_key", NONEMPTY, scope=ALERTER, description="key of the host's trapper item"),
    Option("zbx_host_from_field", BOOLEAN, False, ALERTER,
           description="zbx_host names a match field whose value is the Zabbix host"),
    Option("zbx_timeout", {"type": "number", "exclusiveMinimum": 0}, 10, ALERTER,
           description="seconds to connect and for the server's answer"),
)
REQUIRED = ("zbx_host", "zbx_key")

# --- the protocol ----------------------------------------------------------------------
# A message is "ZBXD", one flags byte, the data length and a reserved word, all
# little-endian, then the data. Flags: 0x01 Zabbix protocol, 0x02 zlib-compressed data
# (reserved = uncompressed length), 0x04 large packet (8-byte length and reserved
# instead of 4-byte). A 4-byte length followed by a zero reserved word is the same
# bytes as the 8-byte length older Zabbix versions document.
MAGIC = b"ZBXD"
FLAG_PROTOCOL, FLAG_COMPRESSED, FLAG_LARGE = 0x01, 0x02, 0x04
MAX_MESSAGE = 128 * 1024 * 1024  # what a Zabbix server accepts in one connection
_INFO = re.compile(r"(\w[\w ]*?):\s*([\d.]+)")


class ProtocolError(Exception):
    """The peer does not speak the Zabbix protocol (or stopped mid-message)."""


def encode(payload: Any) -> bytes:
    """A request: the header, then ``payload`` as UTF-8 JSON."""
    data = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    return MAGIC + bytes([FLAG_PROTOCOL]) + struct.pack("<II", len(data), 0) + data


def read_message(recv: Any) -> Any:
    """Read one framed message with ``recv(n) -> bytes`` (a socket's) and decode its JSON."""
    head = _read_exactly(recv, 5)
    if head[:4] != MAGIC:
        raise ProtocolError(f"not a Zabbix answer (starts with {head[:4]!r})")
    flags = head[4]
    if flags & FLAG_LARGE:
        length, reserved = struct.unpack("<QQ", _read_exactly(recv, 16))
    else:
        length, reserved = struct.unpack("<II", _read_exactly(recv, 8))
    if length > MAX_MESSAGE:
        raise ProtocolError(f"answer of {length} bytes is over the protocol's limit")
    data = _read_exactly(recv, length)
    if flags & FLAG_COMPRESSED:
        import zlib

        data = zlib.decompress(data)
        if reserved and len(data) != reserved:
            raise ProtocolError("compressed answer has the wrong length")
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise ProtocolError(f"answer is not JSON: {exc}") from None


def _read_exactly(recv: Any, size: int) -> bytes:
    chunks, left = [], size
    while left:
        chunk = recv(min(left, 65536))
        if not chunk:
            raise ProtocolError(f"connection closed {size - left} bytes into a {size}-byte read")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def counts(info: str) -> dict[str, float]:
    """``"processed: 1; failed: 0; total: 1; seconds spent: 0.00005"`` as numbers."""
    return {name.strip().lower(): float(value) for name, value in _INFO.findall(info or "")}


# --- the notifier ----------------------------------------------------------------------
class ZabbixAlerter(Alerter):
    name = "zabbix"

    @property
    def where(self) -> str:
        return f"{self.options['zbx_sender_host']}:{self.options['zbx_sender_port']}"

    def items(self, alert: Alert) -> list[dict[str, Any]]:
        """One value ``"1"`` per match, clocked at the match's time. An alert re-sent from
        the outbox has no matches: it still counts once, at the server's time."""
        o = self.options
        key = o["zbx_key"]
        if alert.resolved:
            # send_resolved: one 0 at the server's time, so a trigger on last()=1 recovers
            # (the 1s of the trigger stay counted for triggers that count them).
            host = o["zbx_host"]
            if o.get("zbx_host_from_field"):
                host = lookup(alert.matches[0].fields, host) if alert.matches else None
                if host in (None, ""):
                    raise DeliveryError(f"Zabbix: the resolved alert has no host field {o['zbx_host']!r}",
                                        retryable=False)
            return [{"host": str(host), "key": key, "value": "0"}]
        if not alert.matches:
            if o.get("zbx_host_from_field"):
                raise DeliveryError(f"Zabbix: the alert has no match to read the host field "
                                    f"{o['zbx_host']!r} from", retryable=False)
            return [{"host": o["zbx_host"], "key": key, "value": "1"}]
        out, missing = [], 0
        for match in alert.matches:
            host = lookup(match.fields, o["zbx_host"]) if o.get("zbx_host_from_field") else o["zbx_host"]
            if host in (None, ""):
                missing += 1
                continue
            moment = match.timestamp.astimezone(dt.timezone.utc)
            out.append({"host": str(host), "key": key, "value": "1",
                        "clock": int(moment.timestamp()), "ns": moment.microsecond * 1000})
        if missing:
            log.warning("rule %r: %d of %d matches have no field %r naming the Zabbix host; not sent",
                        alert.rule.name, missing, len(alert.matches), o["zbx_host"])
        if not out:
            raise DeliveryError(f"Zabbix: no match has the host field {o['zbx_host']!r}", retryable=False)
        return out

    def request(self, alert: Alert) -> dict[str, Any]:
        now = dt.datetime.now(dt.timezone.utc)
        return {"request": "sender data", "data": self.items(alert),
                "clock": int(now.timestamp()), "ns": now.microsecond * 1000}

    def exchange(self, payload: Any) -> Any:
        """Send one request, return the decoded answer; DeliveryError on network trouble."""
        import socket

        timeout = float(self.options["zbx_timeout"])
        host, port = self.options["zbx_sender_host"], int(self.options["zbx_sender_port"])
        try:
            conn = socket.create_connection((host, port), timeout=timeout)
        except socket.timeout:
            raise DeliveryError(f"Zabbix {self.where}: no connection within {timeout:g} s", retryable=True) from None
        except OSError as exc:
            raise DeliveryError(f"Zabbix {self.where} unreachable: {exc.strerror or exc}", retryable=True) from None
        with conn:
            try:
                conn.sendall(encode(payload))
                return read_message(conn.recv)
            except socket.timeout:
                raise DeliveryError(f"Zabbix {self.where} did not answer within {timeout:g} s (delivery unknown)",
                                    retryable=True) from None
            except ProtocolError as exc:
                # Cut short: maybe a restart (try again). Not Zabbix at all: the rule's port is wrong.
                retry = "connection closed" in str(exc)
                raise DeliveryError(f"Zabbix {self.where}: {exc}" + (" (delivery unknown)" if retry else ""),
                                    retryable=retry) from None
            except OSError as exc:
                raise DeliveryError(f"Zabbix {self.where}: connection failed: {exc.strerror or exc} "
                                    "(delivery unknown)", retryable=True) from None

    def send(self, alert: Alert) -> None:
        payload = self.request(alert)
        answer = self.exchange(payload)
        if not isinstance(answer, dict) or answer.get("response") != "success":
            said = (answer.get("info") or answer.get("response")) if isinstance(answer, dict) else answer
            raise DeliveryError(f"Zabbix {self.where} refused the values: {str(said)[:200]}", retryable=False)
        info = str(answer.get("info") or "")
        numbers = counts(info)
        failed = int(numbers.get("failed", 0))
        if failed:
            hosts = sorted({item["host"] for item in payload["data"]})
            raise DeliveryError(
                f"Zabbix {self.where} refused {failed} of {len(payload['data'])} values for item "
                f"{self.options['zbx_key']!r} of host {', '.join(map(repr, hosts))} (no such host or trapper "
                f"item, or this sender is not in its allowed hosts): {info}", retryable=False)
        log.debug("rule %r: Zabbix %s: %s", alert.rule.name, self.where, info)

    def describe(self) -> str:
        o = self.options
        host = f"host from field {o['zbx_host']}" if o.get("zbx_host_from_field") else f"host {o['zbx_host']}"
        return f"zabbix {self.where} ({host}, item {o['zbx_key']})"
