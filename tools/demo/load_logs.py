"""Sample EFK logs for the demo: what Fluentd with the kubernetes metadata filter ships.

Backfills the last few minutes (a few ERROR lines, nginx 5xx, one OOMKilled) into
logstash-YYYY.MM.DD, then with --follow keeps writing a batch every few seconds,
now and then with an error, so alerts keep appearing while the demo runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import sys
import time

import requests

APPS = [("shop", "checkout"), ("shop", "cart"), ("edge", "nginx"), ("billing", "invoices")]
INFO = ["request served", "cache hit for product list", "user logged in", "health check ok", "payment authorised"]
ERRORS = ["ERROR payment gateway timeout after 30s", "ERROR NullPointerException in CartService.total",
          "ERROR cannot connect to postgres: connection refused", "error while reading config: missing key 'db.url'"]


def doc(ts: dt.datetime, rng: random.Random, error: bool = False, kind: str | None = None) -> dict:
    namespace, app = rng.choice(APPS)
    if kind == "nginx5xx":
        namespace, app = "edge", "nginx"
    pod = f"{app}-{rng.choice(['7d9f8b6c5', '5c8d7f9b4'])}-{rng.choice(['x2kqz', 'p9wld', 'm4trn'])}"
    status = 200
    message = rng.choice(INFO)
    level = "INFO"
    if app == "nginx":
        status = rng.choice([502, 503]) if kind == "nginx5xx" else rng.choice([200, 200, 200, 301, 404])
        message = f'GET /api/cart HTTP/1.1" {status}'
        level = "ERROR" if status >= 500 else "INFO"
    if error:
        message, level = rng.choice(ERRORS), "ERROR"
    if kind == "oom":
        message, level = "Container checkout was OOMKilled (memory limit 512Mi)", "ERROR"
    stamp = ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
    return {
        "@timestamp": stamp,
        "log": f"{stamp} {level} {message}\n",
        "message": message,
        "level": level,
        "kubernetes": {"namespace_name": namespace, "pod_name": pod, "container_name": app,
                       "labels": {"app": app}, "host": f"node-{rng.randint(1, 3)}"},
        "host": f"node-{rng.randint(1, 3)}",
        "status": status,
        "response_time": round(rng.uniform(0.005, 0.9), 3),
        "client_ip": f"10.0.{rng.randint(0, 3)}.{rng.randint(2, 250)}",
        "user": rng.choice(["alice", "bob", "carol", "-"]),
    }


def bulk(url: str, docs: list[dict]) -> None:
    lines = []
    for d in docs:
        index = "logstash-" + d["@timestamp"][:10].replace("-", ".")
        lines.append(json.dumps({"index": {"_index": index}}))
        lines.append(json.dumps(d))
    response = requests.post(f"{url}/_bulk?refresh=true", data="\n".join(lines) + "\n",
                             headers={"content-type": "application/x-ndjson"}, timeout=30)
    response.raise_for_status()
    if response.json().get("errors"):
        raise SystemExit(f"bulk load failed: {response.text[:500]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:9200")
    parser.add_argument("--minutes", type=int, default=5, help="backfill this many minutes")
    parser.add_argument("--follow", action="store_true", help="keep writing logs every --every seconds")
    parser.add_argument("--every", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    now = dt.datetime.now(dt.timezone.utc)
    docs = [doc(now - dt.timedelta(seconds=rng.uniform(0, args.minutes * 60)), rng) for _ in range(150)]
    docs += [doc(now - dt.timedelta(seconds=rng.uniform(5, args.minutes * 60)), rng, error=True) for _ in range(3)]
    docs += [doc(now - dt.timedelta(seconds=30), rng, kind="nginx5xx"), doc(now - dt.timedelta(seconds=40), rng, kind="oom")]
    bulk(args.url, docs)
    print(f"loaded {len(docs)} sample log lines into logstash-{now:%Y.%m.%d} at {args.url}", flush=True)
    tick = 0
    while args.follow:
        time.sleep(args.every)
        tick += 1
        now = dt.datetime.now(dt.timezone.utc)
        batch = [doc(now - dt.timedelta(seconds=rng.uniform(0, args.every)), rng) for _ in range(10)]
        if tick % 3 == 0:
            batch.append(doc(now, rng, error=True))
        try:
            bulk(args.url, batch)
        except (requests.RequestException, SystemExit) as exc:
            print(f"demo loader: {exc}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
