"""Start-up cost against the age of an installation: a writeback index holding many old
alert records (sent months ago), statuses of rules deleted long ago and old run errors.

For each history size H it fills a fresh writeback index with H old records through
``_bulk``, then measures, in a fresh child process each, ``logalert run --once`` of a
small rules folder: wall time, CPU and peak RSS, and the requests it sent to the
engine (through the counting proxy). What the daemon reads at start-up should be
bounded by a time horizon, so the figures should not grow with H.

    python benchmarks/writeback_history.py                 # H = 0, 100,000, 1,000,000
    python benchmarks/writeback_history.py --sizes 0,20000  # quick
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import ROOT, clean_env, git_head, logalert_command, machine, run_child, table  # noqa: E402
from benchmarks.proxy import CountingProxy  # noqa: E402

ENGINE_SH = ROOT / "tools" / "search-engine" / "engine.sh"
BATCH = 5000


def engine_up(port: int) -> bool:
    """Start the embedded engine unless one runs there; True when we started it."""
    env = clean_env(LOGALERT_ENGINE_PORT=str(port))
    running = subprocess.run(["bash", str(ENGINE_SH), "status"], env=env, capture_output=True).returncode == 0
    if not running:
        subprocess.run(["bash", str(ENGINE_SH), "up"], env=env, check=True, stdout=subprocess.DEVNULL)
    return not running


def engine_down(port: int) -> None:
    subprocess.run(["bash", str(ENGINE_SH), "down"], env=clean_env(LOGALERT_ENGINE_PORT=str(port)),
                   stdout=subprocess.DEVNULL, check=False)


def old_records(count: int, now: dt.datetime):
    """Alert records sent 40-400 days ago, with a status and errors of deleted rules now and then."""
    for i in range(count):
        created = now - dt.timedelta(days=40 + (i % 360), seconds=i % 86400)
        stamp = created.strftime("%Y-%m-%dT%H:%M:%S.000Z")
        rule = f"old rule {i % 500}"
        if i % 1000 == 0:
            yield f"status-old-{i}", {"kind": "status", "rule": f"deleted rule {i}", "last_end": stamp,
                                      "last_run": stamp, "hits": 3, "matches": 1, "alerts": 1, "written": stamp}
        elif i % 97 == 0:
            yield f"error-old-{i}", {"kind": "error", "rule": rule, "error": "cannot reach the search engine",
                                     "created": stamp, "written": stamp}
        else:
            key = f"{uuid.UUID(int=i).hex[:20]}/slack"
            yield f"alert-old-{i}", {"kind": "alert", "key": key, "alert_id": key.split("/")[0], "rule": rule,
                                     "alerter": "slack", "subject": f"Error in {rule}", "body": "x" * 300,
                                     "created": stamp, "status": "sent", "attempts": 1, "sent_at": stamp,
                                     "written": stamp}


def fill(url: str, index: str, count: int) -> float:
    started = time.perf_counter()
    now = dt.datetime.now(dt.timezone.utc)
    lines: list[str] = []
    session = requests.Session()

    def flush() -> None:
        if lines:
            r = session.post(f"{url}/_bulk", data="\n".join(lines) + "\n",
                             headers={"content-type": "application/x-ndjson"}, timeout=300)
            r.raise_for_status()
            if r.json().get("errors"):
                raise RuntimeError("bulk refused records: " + json.dumps(r.json()["items"][0])[:300])
            lines.clear()

    for doc_id, doc in old_records(count, now):
        lines.append(json.dumps({"index": {"_index": index, "_id": doc_id}}))
        lines.append(json.dumps(doc))
        if len(lines) >= 2 * BATCH:
            flush()
    flush()
    session.post(f"{url}/{index}/_refresh", timeout=300)
    return time.perf_counter() - started


def fresh_logs(url: str, prefix: str) -> None:
    """A few ERROR lines of the last minutes, so every rule alerts and the outbox is read."""
    now = dt.datetime.now(dt.timezone.utc)
    lines = []
    for i in range(10):
        stamp = (now - dt.timedelta(seconds=5 + i)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        lines.append(json.dumps({"index": {"_index": f"{prefix}-{now:%Y.%m.%d}"}}))
        lines.append(json.dumps({"@timestamp": stamp, "level": "ERROR", "message": f"failure {i}"}))
    requests.post(f"{url}/_bulk?refresh=true", data="\n".join(lines) + "\n",
                  headers={"content-type": "application/x-ndjson"}, timeout=60).raise_for_status()


def write_setup(folder: Path, port: int, index: str, logs: str) -> Path:
    rules = folder / "rules"
    rules.mkdir()
    for i in range(20):
        (rules / f"r{i}.yaml").write_text(
            f"name: rule {i}\ntype: any\nindex: {logs}\nfilter:\n- term: {{level.keyword: ERROR}}\n"
            "realert: {minutes: 0}\nalert: [debug]\n")
    config = folder / "config.yaml"
    config.write_text(f"es_host: 127.0.0.1\nes_port: {port}\nwriteback_index: {index}\n"
                      "rules_folder: rules\nbuffer_time: {minutes: 15}\n")
    return config


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="0,100000,1000000", help="comma list of history sizes (records)")
    p.add_argument("--engine-port", type=int, default=9275)
    p.add_argument("--runs", type=int, default=3, help="start-ups measured per size (the median is shown)")
    args = p.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    started_engine = engine_up(args.engine_port)
    engine = f"http://127.0.0.1:{args.engine_port}"
    rows = []
    try:
        for size in sizes:
            index = f"logalert_history_{uuid.uuid4().hex[:8]}"
            with tempfile.TemporaryDirectory() as tmp, CountingProxy(args.engine_port) as proxy:
                logs = f"logstash-history-{uuid.uuid4().hex[:6]}"
                config = write_setup(Path(tmp), proxy.port, index, f"{logs}-*")
                init = run_child(logalert_command() + ["init", "--config", str(config)], cwd=tmp, env=clean_env())
                if init.returncode != 0:
                    raise SystemExit(f"logalert init failed: {init.stderr}")
                filled = fill(engine, index, size)
                walls, cpus, rsss, reqs = [], [], [], []
                for _ in range(args.runs):
                    fresh_logs(engine, logs)  # new alerts each run: the outbox is read
                    proxy.reset()
                    run = run_child(logalert_command() + ["run", "--once", "--config", str(config)], cwd=tmp,
                                    env=clean_env(), timeout=900)
                    if run.returncode != 0:
                        errors = [line for line in run.stderr.splitlines() if " ERROR " in line]
                        raise SystemExit(f"logalert run --once failed ({run.returncode}):\n" + "\n".join(errors[:20]))
                    walls.append(run.wall)
                    cpus.append(run.cpu)
                    rsss.append(run.maxrss_mb)
                    reqs.append(int(proxy.snapshot()["total"]))
                mid = sorted(range(len(walls)), key=lambda i: walls[i])[len(walls) // 2]
                rows.append([f"{size:,}", f"{filled:.0f} s", f"{walls[mid]:.2f}", f"{cpus[mid]:.2f}",
                             f"{rsss[mid]:.0f}", str(reqs[mid])])
            requests.delete(f"{engine}/{index},{logs}-*", timeout=300)
    finally:
        if started_engine:
            engine_down(args.engine_port)
    print(f"\nWriteback history and start-up: `logalert run --once`, 20 rules, median of {args.runs}")
    print(f"{machine()}; logalert {git_head()}\n")
    print(table(["old records", "fill", "wall s", "CPU s", "peak RSS MiB", "requests"], rows, "rrrrrr"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
