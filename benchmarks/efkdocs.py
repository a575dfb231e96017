"""Realistic EFK log documents for the side-by-side benchmark, and loading them.

The documents look like what Fluentd with the kubernetes metadata filter ships into
``logstash-YYYY.MM.DD`` daily indices (same fields as tests/support/efk.py): ``@timestamp``,
``log``, ``message``, ``level``, ``stream``, ``kubernetes.{namespace_name, pod_name,
container_name, host, labels.app}``, ``host``, nginx-style ``status``, ``response_time``,
``client_ip``, ``request``, ``user``.

Steady background traffic from 7 apps in 4 namespaces, plus incidents placed at fixed
fractions of the time range so every rule type has something to find: an error burst in
checkout, slow invoice responses, payments going silent, a 5xx spike at the ingress,
OOM kills in cart, and users and client IPs never seen before near the end.
Deterministic for a given seed. The engine maps the fields dynamically (strings become
``text`` with a ``.keyword`` sub-field), as an EFK stack without a template does.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json
import random
from typing import Any

# app -> (namespace, pods)
APPS: dict[str, tuple[str, list[str]]] = {
    "checkout": ("shop", ["checkout-7d9f8b6c5-x2kqz", "checkout-7d9f8b6c5-m8wnp", "checkout-7d9f8b6c5-q4rtl"]),
    "cart": ("shop", ["cart-5c6d7f8b9-abcde", "cart-5c6d7f8b9-fghij"]),
    "frontend": ("shop", ["frontend-6b7c8d9e0-k1l2m", "frontend-6b7c8d9e0-n3o4p", "frontend-6b7c8d9e0-r5s6t"]),
    "invoice": ("billing", ["invoice-58f9c7d6b-zz9yy", "invoice-58f9c7d6b-ww8vv"]),
    "payments": ("billing", ["payments-7f8e9d0c1-aa1bb", "payments-7f8e9d0c1-cc2dd"]),
    "login": ("auth", ["login-6a5b4c3d2-ee3ff", "login-6a5b4c3d2-gg4hh"]),
    "ingress-nginx": ("platform", ["ingress-nginx-controller-9x8w7", "ingress-nginx-controller-6v5u4"]),
}
WEIGHTS = {"checkout": 3, "cart": 2, "frontend": 5, "invoice": 1, "payments": 1, "login": 2, "ingress-nginx": 6}
NODES = ["node-1", "node-2", "node-3", "node-4"]
USERS = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi"]
NEW_USERS = ["mallory", "trent", "victor"]
PATHS = ["/api/cart", "/api/checkout", "/api/login", "/api/invoice/42", "/", "/static/app.js", "/api/payments"]

INFO_MESSAGES = ["request served", "order placed", "cache hit", "session refreshed", "health check ok",
                 "invoice rendered", "payment authorised", "user logged in"]
WARN_MESSAGES = ["slow query took 850ms", "retrying request to upstream", "rate limited client", "deprecated API used"]
ERROR_MESSAGES = ["connection refused to postgres:5432", "upstream timed out while reading response header",
                  "payment declined by provider", "failed to publish event to kafka", "request failed with NullPointerException"]
FATAL_MESSAGES = ["out of memory: cannot allocate", "panic: runtime error: index out of range"]


def _ts(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def daily_index(moment: dt.datetime, prefix: str = "logstash") -> str:
    return f"{prefix}-{moment:%Y.%m.%d}"


def indices_for(start: dt.datetime, end: dt.datetime, prefix: str = "logstash") -> list[str]:
    day = start.date()
    out = []
    while day <= end.date():
        out.append(f"{prefix}-{day:%Y.%m.%d}")
        day += dt.timedelta(days=1)
    return out


def make_doc(rnd: random.Random, moment: dt.datetime, app: str, level: str, message: str, *,
             pod: str | None = None, status: int | None = None, response_time: float | None = None,
             user: str | None = None, client_ip: str | None = None) -> dict[str, Any]:
    namespace, pods = APPS[app]
    pod = pod or rnd.choice(pods)
    node = NODES[sum(map(ord, pod)) % len(NODES)]
    path = rnd.choice(PATHS)
    if status is None:
        status = {"ERROR": rnd.choice([500, 502, 503, 504]), "FATAL": 503, "WARN": rnd.choice([429, 404])}.get(
            level, rnd.choice([200, 200, 200, 200, 201, 204, 301]))
    if response_time is None:
        response_time = round(min(rnd.lognormvariate(-3.0, 0.6), 5.0), 3)
    stamp = _ts(moment)
    return {
        "@timestamp": stamp,
        "log": f"{stamp} {level} [{app}] {message}\n",
        "message": message,
        "level": level,
        "stream": "stderr" if level in ("ERROR", "FATAL") else "stdout",
        "kubernetes": {
            "namespace_name": namespace,
            "pod_name": pod,
            "container_name": app,
            "host": node,
            "labels": {"app": app},
        },
        "host": node,
        "status": status,
        "response_time": response_time,
        "client_ip": client_ip or f"10.0.{rnd.randint(0, 3)}.{rnd.randint(2, 12)}",
        "request": f"{rnd.choice(['GET', 'GET', 'POST'])} {path} HTTP/1.1",
        "user": user or rnd.choice(USERS),
    }


def _level(rnd: random.Random) -> str:
    roll = rnd.random()
    if roll < 0.88:
        return "INFO"
    if roll < 0.95:
        return "WARN"
    if roll < 0.995:
        return "ERROR"
    return "FATAL"


def _message(rnd: random.Random, level: str) -> str:
    return rnd.choice({"INFO": INFO_MESSAGES, "WARN": WARN_MESSAGES, "ERROR": ERROR_MESSAGES,
                       "FATAL": FATAL_MESSAGES}[level])


def generate(total: int, start: dt.datetime, end: dt.datetime, seed: int = 2024,
             history: dt.timedelta = dt.timedelta(0)) -> list[dict[str, Any]]:
    """``total`` documents in (start, end), sorted by time; no document sits exactly on a
    whole second, so range boundaries (gt/lte vs gte/lt) never decide a match.

    With ``history``, steady traffic at the same rate (no incidents) also fills
    [start - history, start): the cluster had logs before the range, as a real one does,
    so a tool that looks back before its window sees a normal baseline, not nothing."""
    rnd = random.Random(seed)
    before: list[dict[str, Any]] = []
    if history > dt.timedelta(0):
        rate = total / (end - start).total_seconds()
        h_rnd = random.Random(seed + 1)
        h_apps = list(WEIGHTS)
        for _ in range(int(rate * history.total_seconds())):
            seconds = h_rnd.uniform(1.0, history.total_seconds() - 1.0)
            seconds = int(seconds) + 0.001 + h_rnd.randint(1, 998) / 1000.0
            moment = start - history + dt.timedelta(seconds=seconds)
            app = h_rnd.choices(h_apps, [WEIGHTS[a] for a in h_apps])[0]
            level = _level(h_rnd)
            before.append(make_doc(h_rnd, moment, app, level, _message(h_rnd, level)))
    length = (end - start).total_seconds()

    def at(fraction: float) -> dt.datetime:
        return start + dt.timedelta(seconds=length * fraction)

    def moment_between(a: float, b: float) -> dt.datetime:
        seconds = length * (a + (b - a) * rnd.random())
        seconds = int(seconds) + 0.001 + rnd.randint(1, 998) / 1000.0  # never on a whole second
        return start + dt.timedelta(seconds=min(seconds, length - 0.5))

    docs: list[dict[str, Any]] = []
    incidents = max(total // 10, 20)
    # 1. Error burst in checkout (connection refused), 30-33 % of the range.
    for _ in range(incidents * 3 // 10):
        docs.append(make_doc(rnd, moment_between(0.30, 0.33), "checkout", "ERROR", ERROR_MESSAGES[0], status=503))
    # 2. Slow invoice responses, 40-45 %.
    for _ in range(incidents // 10):
        docs.append(make_doc(rnd, moment_between(0.40, 0.45), "invoice", "WARN", WARN_MESSAGES[0],
                             status=200, response_time=round(rnd.uniform(2.0, 4.5), 3)))
    # 3. 5xx spike at the ingress, 75-78 %.
    for _ in range(incidents * 4 // 10):
        docs.append(make_doc(rnd, moment_between(0.75, 0.78), "ingress-nginx", "ERROR", ERROR_MESSAGES[1],
                             status=rnd.choice([502, 503, 504])))
    # 4. OOM kills in cart, a handful around 60 %.
    for _ in range(max(incidents // 100, 3)):
        docs.append(make_doc(rnd, moment_between(0.58, 0.62), "cart", "FATAL", "container OOMKilled: out of memory",
                             status=503))
    # 5. New users and client IPs near the end, 85-95 %.
    for _ in range(incidents // 20):
        docs.append(make_doc(rnd, moment_between(0.85, 0.95), "login", "INFO", "user logged in",
                             user=rnd.choice(NEW_USERS), client_ip=f"192.168.7.{rnd.randint(2, 40)}"))
    apps = list(WEIGHTS)
    weights = [WEIGHTS[a] for a in apps]
    quiet = (at(0.55), at(0.70))  # 6. payments goes silent
    while len(docs) < total:
        moment = moment_between(0.0, 1.0)
        app = rnd.choices(apps, weights)[0]
        if app == "payments" and quiet[0] <= moment < quiet[1]:
            continue
        level = _level(rnd)
        docs.append(make_doc(rnd, moment, app, level, _message(rnd, level)))
    docs = before + docs
    docs.sort(key=lambda d: d["@timestamp"])
    return docs


class Engine:
    """Just enough of the engine's REST API over ``http.client`` to load the data."""

    def __init__(self, port: int, host: str = "127.0.0.1"):
        self.host, self.port = host, port

    def request(self, method: str, path: str, body: Any = None, ndjson: bool = False) -> tuple[int, Any]:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=300)
        try:
            data = None
            headers = {}
            if body is not None:
                data = body if isinstance(body, (bytes, str)) else json.dumps(body)
                data = data.encode() if isinstance(data, str) else data
                headers["Content-Type"] = "application/x-ndjson" if ndjson else "application/json"
            conn.request(method, path, body=data, headers=headers)
            resp = conn.getresponse()
            raw = resp.read()
            try:
                return resp.status, json.loads(raw) if raw else None
            except ValueError:
                return resp.status, raw.decode(errors="replace")
        finally:
            conn.close()

    def info(self) -> dict[str, Any]:
        status, body = self.request("GET", "/")
        if status != 200:
            raise RuntimeError(f"engine on port {self.port}: GET / -> {status}")
        return body

    def delete_indices(self, names: list[str]) -> None:
        for name in names:
            if "*" in name or not name:
                raise ValueError("refusing wildcard delete")
            self.request("DELETE", f"/{name}?ignore_unavailable=true")

    def load(self, docs: list[dict[str, Any]], chunk: int = 5000) -> dict[str, int]:
        per_index: dict[str, int] = {}
        for i in range(0, len(docs), chunk):
            lines = []
            for doc in docs[i:i + chunk]:
                index = "logstash-" + doc["@timestamp"][:10].replace("-", ".")
                per_index[index] = per_index.get(index, 0) + 1
                lines.append(json.dumps({"index": {"_index": index}}))
                lines.append(json.dumps(doc))
            status, body = self.request("POST", "/_bulk", "\n".join(lines) + "\n", ndjson=True)
            if status != 200 or body.get("errors"):
                first = next((it["index"] for it in body.get("items", []) if it["index"].get("error")), body)
                raise RuntimeError(f"_bulk failed ({status}): {str(first)[:300]}")
        self.request("POST", "/" + ",".join(sorted(per_index)) + "/_refresh")
        return per_index

    def count(self, index: str) -> int:
        status, body = self.request("GET", f"/{index}/_count")
        return int(body.get("count", 0)) if status == 200 else -1

