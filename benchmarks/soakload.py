"""The soak's log stream: Fluentd/kubernetes-shaped lines arriving now, at a steady rate,
with incidents that repeat every cycle and probe lines whose arrival as alerts is timed.

    python benchmarks/soakload.py --port 9274 --rate 50 --seconds 300 --probes probes.jsonl

Runs as its own process (so its CPU is not the harness's and it keeps a steady pace) and
indexes straight into the engine, not through the counting proxy: only the tools' requests
are counted. Every document's ``@timestamp`` is the moment it was made; a ``_bulk`` goes out
every ``--tick`` seconds without a refresh, as Fluentd ships (the index refreshes itself
every second). Stops by itself after ``--seconds``; every request has a timeout.

Incidents, at fractions of each ``--cycle`` (default 10 min) from the loader's start:
0.10-0.20 checkout ERROR burst ("connection refused"), 0.25-0.35 slow invoice responses,
0.40 OOM kills in cart, 0.50-1.00 payments silent (flatline), 0.65-0.75 5xx spike at the
ingress, 0.80-0.85 logins by users and client IPs never seen before.

Probes (namespace ``soak``, app ``soak-probe``: no generated rule's filter sees them): one
``probe_kind: any`` line every ``--probe-any`` seconds and a burst of three
``probe_kind: frequency`` lines every ``--probe-frequency`` seconds. Each is written to
``--probes`` (JSON lines) once its ``_bulk`` succeeded: id, kind, the ``@timestamp`` that
detection latency starts from (for a burst: its third line, the one that completes the
count) and the wall-clock time the engine acknowledged it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import signal
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import efkdocs  # noqa: E402

APPS = list(efkdocs.WEIGHTS)
APP_WEIGHTS = [efkdocs.WEIGHTS[a] for a in APPS]
BURST = 3  # lines per frequency probe; the probe rule alerts at num_events: 3
BURST_GAP = 0.3  # seconds between a burst's lines


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def background(rnd: random.Random, moment: dt.datetime, silent_payments: bool) -> dict[str, Any] | None:
    app = rnd.choices(APPS, APP_WEIGHTS)[0]
    if silent_payments and app == "payments":
        return None
    level = efkdocs._level(rnd)
    return efkdocs.make_doc(rnd, moment, app, level, efkdocs._message(rnd, level))


def incident_docs(rnd: random.Random, moment: dt.datetime, phase: float, dt_s: float) -> list[dict[str, Any]]:
    """Extra lines for the incidents active at ``phase`` (0..1 of the cycle) over ``dt_s`` seconds."""
    out: list[dict[str, Any]] = []

    def emit(rate: float) -> int:  # a Poisson-ish count for rate/s over dt_s
        expected = rate * dt_s
        return int(expected) + (1 if rnd.random() < expected - int(expected) else 0)

    if 0.10 <= phase < 0.20:
        out += [efkdocs.make_doc(rnd, moment, "checkout", "ERROR", efkdocs.ERROR_MESSAGES[0], status=503)
                for _ in range(emit(6.0))]
    if 0.25 <= phase < 0.35:
        out += [efkdocs.make_doc(rnd, moment, "invoice", "WARN", efkdocs.WARN_MESSAGES[0], status=200,
                                 response_time=round(rnd.uniform(2.0, 4.5), 3)) for _ in range(emit(1.0))]
    if 0.40 <= phase < 0.41:
        out += [efkdocs.make_doc(rnd, moment, "cart", "FATAL", "container OOMKilled: out of memory", status=503)
                for _ in range(emit(0.5))]
    if 0.65 <= phase < 0.75:
        out += [efkdocs.make_doc(rnd, moment, "ingress-nginx", "ERROR", efkdocs.ERROR_MESSAGES[1],
                                 status=rnd.choice([502, 503, 504])) for _ in range(emit(8.0))]
    if 0.80 <= phase < 0.85:
        # Documentation-range addresses (TEST-NET-2): only strings in a log line.
        out += [efkdocs.make_doc(rnd, moment, "login", "INFO", "user logged in", user=rnd.choice(efkdocs.NEW_USERS),
                                 client_ip=f"198.51.100.{rnd.randint(2, 40)}") for _ in range(emit(0.5))]
    return out


def probe_doc(moment: dt.datetime, kind: str, probe_id: str, burst: str) -> dict[str, Any]:
    stamp = efkdocs._ts(moment)
    return {
        "@timestamp": stamp,
        "log": f"{stamp} INFO [soak-probe] soak probe {probe_id}\n",
        "message": f"soak probe {probe_id}",
        "level": "INFO",
        "stream": "stdout",
        "kubernetes": {"namespace_name": "soak", "pod_name": "soak-probe-0", "container_name": "soak-probe",
                       "host": "node-1", "labels": {"app": "soak-probe"}},
        "host": "node-1",
        "probe_kind": kind,
        "probe_id": probe_id,
        "probe_burst": burst,
    }


def backfill(engine: efkdocs.Engine, minutes: float, rate: float, seed: int = 99) -> int:
    """Steady traffic (no incidents, no probes) over the last ``minutes``: a cluster has logs
    before a daemon starts, so look-backs (spike references, flatline, new_term) see a normal level."""
    rnd = random.Random(seed)
    end = utcnow()
    total = int(minutes * 60 * rate)
    docs = []
    for _ in range(total):
        moment = end - dt.timedelta(seconds=rnd.uniform(0.5, minutes * 60))
        doc = background(rnd, moment, silent_payments=False)
        if doc is not None:
            docs.append(doc)
    docs.sort(key=lambda d: d["@timestamp"])
    engine.load(docs)
    return len(docs)


def bulk(engine: efkdocs.Engine, docs: list[dict[str, Any]]) -> tuple[bool, str]:
    lines = []
    for doc in docs:
        lines.append(json.dumps({"index": {"_index": "logstash-" + doc["@timestamp"][:10].replace("-", ".")}}))
        lines.append(json.dumps(doc))
    try:
        status, body = engine.request("POST", "/_bulk", "\n".join(lines) + "\n", ndjson=True)
    except OSError as exc:
        return False, f"_bulk failed: {exc}"
    if status != 200 or not isinstance(body, dict) or body.get("errors"):
        return False, f"_bulk answered {status}: {str(body)[:200]}"
    return True, ""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, required=True, help="engine port on 127.0.0.1 (not the proxy)")
    p.add_argument("--rate", type=float, default=50.0, help="background lines per second (default 50)")
    p.add_argument("--seconds", type=float, required=True, help="stop after this long")
    p.add_argument("--cycle", type=float, default=600.0, help="incident cycle, seconds (default 600)")
    p.add_argument("--tick", type=float, default=0.25, help="seconds between _bulk requests (default 0.25)")
    p.add_argument("--probe-any", type=float, default=10.0, help="seconds between any probes (default 10)")
    p.add_argument("--probe-frequency", type=float, default=20.0, help="seconds between frequency bursts (default 20)")
    p.add_argument("--probe-stop", type=float, default=90.0,
                   help="no probes in the last this many seconds: their alerts could not arrive in time (default 90)")
    p.add_argument("--probes", required=True, help="JSON-lines file the probes sent are appended to")
    p.add_argument("--seed", type=int, default=2024)
    args = p.parse_args(argv)

    stopping = False

    def on_signal(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    engine = efkdocs.Engine(args.port)
    rnd = random.Random(args.seed)
    started = time.monotonic()
    deadline = started + args.seconds
    next_any, next_burst = 5.0, 12.0  # first probes a few seconds in
    burst_left, burst_id, burst_due = 0, "", 0.0
    n_any = n_burst = 0
    carry = 0.0
    sent = failed = 0
    last = started
    while not stopping and time.monotonic() < deadline:
        now_m = time.monotonic()
        elapsed, dt_s = now_m - started, now_m - last
        last = now_m
        moment = utcnow()
        phase = (elapsed % args.cycle) / args.cycle
        carry += args.rate * dt_s
        docs: list[dict[str, Any]] = []
        for _ in range(int(carry)):
            # Spread the tick's lines over the time since the last tick, never in the future.
            doc = background(rnd, moment - dt.timedelta(seconds=rnd.uniform(0.0, dt_s)), 0.50 <= phase < 1.0)
            if doc is not None:
                docs.append(doc)
        carry -= int(carry)
        docs += incident_docs(rnd, moment, phase, dt_s)
        probes: list[dict[str, Any]] = []
        probing = elapsed < args.seconds - args.probe_stop
        if probing and elapsed >= next_any:
            n_any += 1
            pid = f"a{n_any:06d}"
            docs.append(probe_doc(moment, "any", pid, pid))
            probes.append({"id": pid, "kind": "any", "ts": docs[-1]["@timestamp"]})
            next_any += args.probe_any
        if probing and burst_left == 0 and elapsed >= next_burst:
            n_burst += 1
            burst_id, burst_left, burst_due = f"f{n_burst:06d}", BURST, elapsed
            next_burst += args.probe_frequency
        if burst_left and elapsed >= burst_due:
            line = BURST - burst_left + 1
            docs.append(probe_doc(moment, "frequency", f"{burst_id}-{line}", burst_id))
            burst_left -= 1
            burst_due = elapsed + BURST_GAP
            if burst_left == 0:
                probes.append({"id": burst_id, "kind": "frequency", "ts": docs[-1]["@timestamp"]})
        if docs:
            ok, why = bulk(engine, docs)
            if ok:
                sent += len(docs)
                acked = time.time()
                if probes:  # a few a minute: appended at once, so a killed loader loses none
                    with open(args.probes, "a") as f:
                        f.writelines(json.dumps(dict(probe, indexed=acked)) + "\n" for probe in probes)
            else:
                failed += len(docs)
                print(f"soakload: {why}", file=sys.stderr, flush=True)
        time.sleep(max(0.0, args.tick - (time.monotonic() - now_m)))
    print(f"soakload: {sent} lines indexed, {failed} failed, {n_any} any probes, {n_burst} frequency bursts "
          f"in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
