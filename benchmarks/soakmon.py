"""What the soak measures with: a /proc sampler (CPU and RSS of a process and its children),
a webhook receiver that stands in for Slack, and the small statistics of the report.

Standard library only, Linux only (/proc)."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


# --- /proc ---------------------------------------------------------------------------------

def _stat(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (which may hold spaces)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2:].split()


def descendants(root: int) -> list[int]:
    """``root`` and every live process below it (a tool that forks is measured whole)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        fields = _stat(int(entry))
        if fields:
            children.setdefault(int(fields[1]), []).append(int(entry))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo += children.get(pid, [])
    return out


def tree_usage(root: int) -> tuple[float, float, float] | None:
    """(CPU seconds, RSS MiB, peak RSS MiB of the root) of ``root`` and its live descendants.

    CPU is utime+stime of each, plus cutime+cstime of the root (children it already reaped);
    RSS is resident pages summed over the tree; the peak is the root's VmHWM."""
    fields = _stat(root)
    if fields is None:
        return None
    pids = descendants(root)
    ticks = int(fields[13]) + int(fields[14])  # cutime, cstime of the root (stat fields 16, 17)
    rss = 0
    for pid in pids:
        f = fields if pid == root else _stat(pid)
        if f is None:
            continue
        ticks += int(f[11]) + int(f[12])  # utime, stime
        rss += int(f[21]) * PAGE
    hwm = 0.0
    try:
        for line in Path(f"/proc/{root}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                hwm = int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return ticks / CLK_TCK, rss / 2**20, hwm


@dataclass
class Sample:
    t: float  # seconds since the tool started
    cpu_s: float  # cumulative CPU seconds of the tool's process tree
    cpu_pct: float  # % of one core since the previous sample
    rss_mib: float
    requests: int  # cumulative engine requests through the proxy
    alerts: int  # cumulative alerts received
    engine_cpu_pct: float | None = None


@dataclass
class Sampler:
    """Samples ``pid`` (and, when given, the engine's JVM) every ``every`` seconds."""

    pid: int
    engine_pid: int | None = None
    samples: list[Sample] = field(default_factory=list)
    peak_hwm: float = 0.0
    started: float = field(default_factory=time.monotonic)
    _last: tuple[float, float] | None = None
    _engine_last: tuple[float, float] | None = None

    def sample(self, requests: int, alerts: int) -> Sample | None:
        usage = tree_usage(self.pid)
        now = time.monotonic()
        if usage is None:
            return None
        cpu, rss, hwm = usage
        self.peak_hwm = max(self.peak_hwm, hwm)
        since, cpu_before = self._last or (self.started, 0.0)  # the tool started with the sampler
        pct = 100.0 * (cpu - cpu_before) / (now - since) if now > since else 0.0
        self._last = (now, cpu)
        engine_pct = None
        if self.engine_pid:
            e = tree_usage(self.engine_pid)
            if e is not None:
                if self._engine_last is not None and now > self._engine_last[0]:
                    engine_pct = 100.0 * (e[0] - self._engine_last[1]) / (now - self._engine_last[0])
                self._engine_last = (now, e[0])
        s = Sample(round(now - self.started, 2), cpu, pct, rss, requests, alerts, engine_pct)
        self.samples.append(s)
        return s


# --- webhook receiver --------------------------------------------------------------------------

PROBE_TOKEN = re.compile(rb"SOAKPROBE\[([af]\d{6})\]")


class Receiver:
    """``POST /<tool>/probe`` and ``POST /<tool>/bulk`` on 127.0.0.1, answered 200 at once.

    For probe posts it keeps (tool, probe id, arrival time) — the first SOAKPROBE[id] token
    in the payload; other posts are only counted, so memory stays small however many alerts
    the rules send."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.arrivals: list[tuple[str, str, float]] = []
        self.counts: dict[str, int] = {}
        self.bytes: dict[str, int] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server naming
                arrived = time.time()
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(min(length, 4 * 2**20)) if length else b""
                parts = [p for p in self.path.split("/") if p]
                tool = parts[0] if parts else "?"
                with receiver._lock:
                    receiver.counts[tool] = receiver.counts.get(tool, 0) + 1
                    receiver.bytes[tool] = receiver.bytes.get(tool, 0) + len(body)
                    if len(parts) > 1 and parts[1] == "probe":
                        m = PROBE_TOKEN.search(body)
                        if m:
                            receiver.arrivals.append((tool, m.group(1).decode(), arrived))
                reply = b"ok"
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def url(self, tool: str, kind: str) -> str:
        return f"http://127.0.0.1:{self.port}/{tool}/{kind}"

    def total(self, tool: str) -> int:
        with self._lock:
            return self.counts.get(tool, 0)

    def probe_arrivals(self, tool: str) -> list[tuple[str, float]]:
        with self._lock:
            return [(pid, t) for who, pid, t in self.arrivals if who == tool]


# --- statistics ----------------------------------------------------------------------------------

def slope_per_hour(ts: Sequence[float], ys: Sequence[float]) -> float | None:
    """Least-squares slope of ys over ts (seconds), per hour; None with fewer than 3 points."""
    n = len(ts)
    if n < 3:
        return None
    mt, my = sum(ts) / n, sum(ys) / n
    var = sum((t - mt) ** 2 for t in ts)
    if var == 0:
        return None
    return sum((t - mt) * (y - my) for t, y in zip(ts, ys)) / var * 3600.0


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..100); None for no values."""
    if not values:
        return None
    xs = sorted(values)
    pos = (len(xs) - 1) * q / 100.0
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def read_probes(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def parse_stamp(text: str) -> float:
    """An ISO ``...Z`` @timestamp as epoch seconds."""
    import datetime as dt

    return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def latencies(probes: list[dict[str, object]], arrivals: list[tuple[str, float]]) -> dict[str, dict[str, object]]:
    """Per probe kind: seconds from the probe line's @timestamp to its first alert's arrival,
    and how many probes were sent, never alerted, alerted more than once."""
    first: dict[str, float] = {}
    seen: dict[str, int] = {}
    for pid, t in arrivals:
        seen[pid] = seen.get(pid, 0) + 1
        first[pid] = min(t, first.get(pid, t))
    out: dict[str, dict[str, object]] = {}
    for kind in ("any", "frequency"):
        mine = [p for p in probes if p["kind"] == kind]
        lat = [first[str(p["id"])] - parse_stamp(str(p["ts"])) for p in mine if str(p["id"]) in first]
        out[kind] = {
            "sent": len(mine),
            "alerted": len(lat),
            "missed": len(mine) - len(lat),
            "duplicates": sum(seen.get(str(p["id"]), 0) - 1 for p in mine if seen.get(str(p["id"]), 0) > 1),
            "p50": percentile(lat, 50),
            "p99": percentile(lat, 99),
            "max": max(lat) if lat else None,
            "latencies": [round(x, 3) for x in lat],
        }
    return out
