"""Several ``logalert run`` processes on one rules folder and one writeback index, a
stream of logs, and a webhook receiver that keeps the time of every delivery: what the
replica tests (tests/integration/test_replicas.py) and the chaos benchmark
(benchmarks/chaos.py) are built from.

Every log is an ERROR line of one service with a unique message; one rule per service
alerts on each of its ERRORs (realert 0) with the message as the Slack title, so the
deliveries per message say whether a log was alerted once, never, or twice.
"""

from __future__ import annotations

import collections
import datetime as dt
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from logalert.daemon.leases import ranking
from logalert.engine import connect
from logalert.state.writeback import EngineState
from tests.support.efk import bulk_load, efk_doc
from tests.support.receivers import Behaviour, Received, WebhookReceiver


def rule_name(service: str) -> str:
    return f"Errors in {service}"


class Receiver(WebhookReceiver):
    """A Slack stand-in that records (wall time, title) of every request and answers
    ``fail`` (e.g. 500) for titles starting with one of ``failing``, the others after
    ``delay`` seconds."""

    def __init__(self) -> None:
        self.log: list[tuple[float, str, int]] = []
        self.failing: tuple[str, ...] = ()
        self.fail = Behaviour(500)
        self.delay = 0.0  # seconds every answer takes (a slow Slack)
        super().__init__(respond=self._respond)

    def _respond(self, item: Received) -> Behaviour:
        title = item.body["attachments"][0]["title"]
        answer = self.fail if self.failing and title.startswith(self.failing) else Behaviour(200, delay=self.delay)
        with self._lock:
            self.log.append((time.time(), title, answer.status))
        return answer

    def deliveries(self) -> dict[str, list[float]]:
        """Title -> times it was accepted (2xx)."""
        out: dict[str, list[float]] = collections.defaultdict(list)
        with self._lock:
            for when, title, status in self.log:
                if status < 300:
                    out[title].append(when)
        return out


class LogStream(threading.Thread):
    """``per_second`` ERROR logs a second for each service, stamped now, until stopped."""

    def __init__(self, client: Any, prefix: str, services: list[str], per_second: float = 1.0):
        super().__init__(daemon=True, name="logstream")
        self.client, self.prefix, self.services, self.interval = client, prefix, services, 1.0 / per_second
        self.sent: list[tuple[str, str, float]] = []  # (message, service, wall time)
        self._halt = threading.Event()
        self.n = 0

    def run(self) -> None:
        while not self._halt.wait(self.interval):
            now = dt.datetime.now(dt.timezone.utc)
            docs, batch = [], []
            for service in self.services:
                self.n += 1
                message = f"{service} error #{self.n}"
                docs.append(efk_doc(now, "ERROR", message, **{"kubernetes.container_name": service}))
                batch.append((message, service, time.time()))
            try:
                bulk_load(self.client, None, docs, refresh=False, prefix=self.prefix)
            except Exception as exc:  # noqa: BLE001 - a hiccup of the test engine: those logs were not written
                sys.stderr.write(f"logstream: bulk failed: {exc}\n")
                continue
            self.sent.extend(batch)

    def stop(self) -> None:
        self._halt.set()
        if self.is_alive():
            self.join(10)


@dataclass
class Member:
    name: str
    proc: subprocess.Popen
    folder: Path
    started: float = field(default_factory=time.time)

    @property
    def pid(self) -> int:
        return self.proc.pid


class Cluster:
    """Replicas of one daemon: each its own config folder (its own engine port, so one
    can sit behind a proxy) and log; the same rules folder and writeback index."""

    def __init__(self, root: Path, engine_url: str, receiver_url: str, prefix: str, services: list[str],
                 lease: float = 6, renew: float = 2, **config: Any):
        self.root, self.engine_url, self.services = root, engine_url, services
        self.index = f"logalert_status_{uuid.uuid4().hex[:8]}"
        self.rules = root / "rules"
        self.rules.mkdir(parents=True, exist_ok=True)
        for service in services:
            (self.rules / f"{service}.yaml").write_text(yaml.safe_dump({
                "name": rule_name(service), "index": f"{prefix}-*", "type": "any",
                "filter": [{"term": {"kubernetes.container_name.keyword": service}},
                           {"term": {"level.keyword": "ERROR"}}],
                "realert": {"minutes": 0}, "alert_subject": "{0}", "alert_subject_args": ["message"],
                "alert": ["slack"], "slack_webhook_url": f"{receiver_url}/hook", "slack_timeout": 2,
            }, sort_keys=False))
        self.config = {"es_host": "127.0.0.1", "rules_folder": str(self.rules), "run_every": {"seconds": 1},
                       "buffer_time": {"minutes": 15}, "max_threads": 4, "writeback_index": self.index,
                       "lease_duration": {"seconds": lease}, "lease_renew_interval": {"seconds": renew}, **config}
        self.members: dict[str, Member] = {}
        self.gone: list[Member] = []
        self.events: list[tuple[float, str, str]] = []  # (time, what, replica)
        self._n = 0

    # --- processes ---------------------------------------------------------------------
    def start(self, port: int | None = None, **config: Any) -> Member:
        self._n += 1
        name = f"r{self._n}"
        folder = self.root / name
        folder.mkdir()
        engine_port = int(self.engine_url.rsplit(":", 1)[1])
        (folder / "config.yaml").write_text(yaml.safe_dump({**self.config, "es_port": port or engine_port, **config}))
        log = open(folder / "daemon.log", "a")
        proc = subprocess.Popen([sys.executable, "-m", "logalert", "run", "--config", str(folder / "config.yaml")],
                                cwd=folder, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=dict(os.environ, PYTHONUNBUFFERED="1", LOGALERT_LOG_FORMAT="json"))
        member = self.members[name] = Member(name, proc, folder)
        self.events.append((time.time(), "start", name))
        return member

    def kill(self, name: str) -> float:
        member = self.members.pop(name)
        member.proc.send_signal(signal.SIGKILL)
        when = time.time()
        member.proc.wait(30)
        self.gone.append(member)
        self.events.append((when, "kill -9", name))
        return when

    def term(self, name: str, timeout: float = 60) -> int:
        member = self.members.pop(name)
        when = time.time()
        member.proc.send_signal(signal.SIGTERM)
        try:
            code = member.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            member.proc.kill()
            code = member.proc.wait()
        self.gone.append(member)
        self.events.append((when, "SIGTERM", name))
        return code

    def stop_all(self) -> dict[str, int]:
        return {name: self.term(name) for name in list(self.members)}

    # --- what the writeback index says ----------------------------------------------------
    def store(self) -> EngineState:
        host, port = self.engine_url.rsplit("//", 1)[1].split(":")
        return EngineState(lambda: connect({"es_host": host, "es_port": int(port)}), self.index)

    def owners(self) -> dict[str, str | None]:
        """Rule -> the member name holding its lease (None: released; "?" another process)."""
        by_pid = {m.pid: m.name for m in self.members.values()}
        out: dict[str, str | None] = {}
        for lease in self.store().leases():
            if lease.owner is None:
                out[lease.rule] = None
                continue
            pid = int(lease.owner.rsplit("-", 2)[1])
            out[lease.rule] = by_pid.get(pid, "?")
        return out

    def settled(self) -> dict[str, str | None] | None:
        """Rule -> member when every rule is held by the live member rendezvous hashing
        puts it on (what the replicas converge to); None while they have not."""
        store = self.store()
        by_pid = {m.pid: m.name for m in self.members.values()}
        ids = {rid: by_pid[r.pid] for rid, r in store.replicas().items() if r.pid in by_pid}
        if set(ids.values()) != set(self.members):
            return None
        owners = self.owners()
        want = {rule_name(s): ids[ranking(rule_name(s), list(ids))[0]] for s in self.services}
        return owners if all(owners.get(r) == m for r, m in want.items()) else None

    def wait_owned(self, timeout: float = 60) -> dict[str, str | None]:
        """Until every rule is held by the live replica it belongs to."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                owners = self.settled()
            except Exception:  # noqa: BLE001 - the index may not exist yet
                owners = None
            if owners is not None:
                return owners
            time.sleep(0.25)
        raise AssertionError(f"rules not settled on the live replicas within {timeout}s: {self.owners()}; "
                             f"live {sorted(self.members)}\n{self.diagnosis()}")

    def diagnosis(self) -> str:
        """What the writeback index and the replicas' own logs say, for a failure message."""
        lines = []
        try:
            for rid, rep in self.store().replicas().items():
                lines.append(f"heartbeat {rid}: beat={rep.beat} at={rep.at:%H:%M:%S.%f} pid={rep.pid} rules={rep.rules}")
        except Exception as exc:  # noqa: BLE001 - a diagnosis must not hide the failure
            lines.append(f"heartbeats unreadable: {exc}")
        for member in [*self.members.values(), *self.gone]:
            log = (member.folder / "daemon.log").read_text(errors="replace").splitlines()
            # The lease events, warnings and errors: runs and deliveries say nothing here.
            told = [line for line in log if '"logalert.daemon.leases"' in line or '"level": "info"' not in line]
            state = "live" if member.name in self.members else f"gone, exit {member.proc.returncode}"
            lines.append(f"--- {member.name} (pid {member.pid}, {state}): {len(told)} of {len(log)} lines")
            lines += [line[:400] for line in told[-20:]]
        return "\n".join(lines)

    def logs(self) -> str:
        return "".join((m.folder / "daemon.log").read_text() for m in [*self.members.values(), *self.gone])


@dataclass
class Tally:
    logs: int
    alerted: int
    lost: list[str]
    duplicates: dict[str, int]  # message -> extra deliveries

    @property
    def duplicate_count(self) -> int:
        return sum(self.duplicates.values())


def tally(stream: LogStream, receiver: Receiver) -> Tally:
    delivered = receiver.deliveries()
    messages = [m for m, _, _ in stream.sent]
    unexpected = set(delivered) - set(messages)
    assert not unexpected, f"alerts for logs nobody wrote: {sorted(unexpected)[:5]}"
    lost = [m for m in messages if not delivered.get(m)]
    duplicates = {m: len(t) - 1 for m, t in delivered.items() if len(t) > 1}
    return Tally(len(messages), len(messages) - len(lost), lost, duplicates)


def wait_delivered(stream: LogStream, receiver: Receiver, timeout: float = 60) -> Tally:
    deadline = time.monotonic() + timeout
    result = tally(stream, receiver)
    while result.lost and time.monotonic() < deadline:
        time.sleep(0.5)
        result = tally(stream, receiver)
    return result


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def failover_after(kill_at: float, rules: list[str], stream: LogStream, receiver: Receiver) -> float | None:
    """Seconds from ``kill_at`` to the first delivery, for one of ``rules``' services, made
    after it (a request the killed process had already handed over is not counted)."""
    services = {s for s in stream.services if rule_name(s) in rules}
    service_of = {m: s for m, s, _ in stream.sent}
    times = [t for title, ts in receiver.deliveries().items() if service_of.get(title) in services
             for t in ts if t > kill_at + 0.2]
    return min(times) - kill_at if times else None


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
