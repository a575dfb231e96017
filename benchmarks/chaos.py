"""Chaos run of several replicas (issue 14): logs arrive all the time while replicas are
started, SIGTERMed and kill -9ed at random; every log must alert exactly once.

The same harness as tests/integration/test_replicas.py (tests/support/replicas.py), for
longer: one rule per service, one ERROR log per service a second, each with a unique
message that becomes the Slack title at a local webhook receiver. Printed: the actions,
how many logs and deliveries, lost and duplicate alerts (each duplicate must follow a
kill -9 of the replica that sent it within 3 s: the at-least-once gap), and how long the
rules of a killed (or stopped) replica went without alerting: from the signal to the
first alert of one of its rules by another replica.

    .venv/bin/python benchmarks/chaos.py                 # 10 minutes, 3 replicas, lease 6 s / renew 2 s
    .venv/bin/python benchmarks/chaos.py --minutes 2 --seed 7
    .venv/bin/python benchmarks/chaos.py --lease 30 --renew 10   # the defaults of a deployment

Starts its own engine (embedded OpenSearch) on 127.0.0.1:9291 unless one runs there.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
from compare_elastalert2 import FORBIDDEN_PORTS, EngineControl  # noqa: E402

from tests.support.efk import delete_indices, make_client  # noqa: E402
from tests.support.replicas import (  # noqa: E402
    Cluster,
    LogStream,
    Receiver,
    failover_after,
    percentile,
    tally,
    wait_delivered,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--replicas", type=int, default=3, help="started at first; kept between 1 and this + 1")
    parser.add_argument("--services", type=int, default=6, help="rules (one per service)")
    parser.add_argument("--lease", type=float, default=6)
    parser.add_argument("--renew", type=float, default=2)
    parser.add_argument("--every", type=float, nargs=2, default=(4, 12), metavar=("MIN", "MAX"),
                        help="seconds between two actions (uniform)")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--port", type=int, default=9291)
    parser.add_argument("--save", action="store_true", help="also write the table to benchmarks/results/")
    args = parser.parse_args(argv)
    if args.port in FORBIDDEN_PORTS:
        parser.error(f"port {args.port} belongs to the tests")
    engine = EngineControl(args.port, manage=True)
    engine.up()
    try:
        return run(args)
    finally:
        engine.down()


def run(args: argparse.Namespace) -> int:
    rng = random.Random(args.seed)
    url = f"http://127.0.0.1:{args.port}"
    client = make_client(url)
    prefix = f"logstash-chaos{uuid.uuid4().hex[:6]}"
    services = [f"svc{i}" for i in range(args.services)]
    kills: list[tuple[float, list[str]]] = []
    terms: list[tuple[float, list[str]]] = []
    with tempfile.TemporaryDirectory(prefix="logalert-chaos-") as tmp, Receiver() as receiver:
        cluster = Cluster(Path(tmp), url, receiver.url, prefix, services, lease=args.lease, renew=args.renew)
        stream = LogStream(client, prefix, services)
        try:
            for _ in range(args.replicas):
                cluster.start()
            cluster.wait_owned(timeout=120)
            stream.start()
            end = time.monotonic() + args.minutes * 60
            while time.monotonic() < end:
                time.sleep(rng.uniform(*args.every))
                alive = len(cluster.members)
                choices = (["kill", "term", "start"] if 1 < alive <= args.replicas else
                           ["start"] if alive <= 1 else ["kill", "term"])
                action = rng.choice(choices)
                if action == "start":
                    cluster.start()
                    continue
                victim = rng.choice(sorted(cluster.members))
                owners = cluster.owners()
                theirs = [rule for rule, owner in owners.items() if owner == victim]
                if action == "kill":
                    kills.append((cluster.kill(victim), theirs))
                else:
                    terms.append((time.time(), theirs))
                    cluster.term(victim)
                print(f"{time.strftime('%H:%M:%S')} {action} {victim} ({len(theirs)} rule(s)); "
                      f"{len(cluster.members)} running", file=sys.stderr)
            if not cluster.members:
                cluster.start()
            stream.stop()
            wait_delivered(stream, receiver, timeout=args.lease * 3 + 60)
            time.sleep(5)
        finally:
            stream.stop()
            cluster.stop_all()
            delete_indices(client, f"{prefix}*")
            client.indices.delete(index=cluster.index, ignore_unavailable=True)
        result = tally(stream, receiver)
        deliveries = receiver.deliveries()
        killed_at = [k for k, _ in kills]
        explained = [m for m in result.duplicates if any(0 <= k - deliveries[m][0] <= 3 for k in killed_at)]
        failover = [x for k, rules in kills if rules
                    if (x := failover_after(k, rules, stream, receiver)) is not None]
        handover = [x for k, rules in terms if rules
                    if (x := failover_after(k, rules, stream, receiver)) is not None]
    starts = sum(1 for _, what, _ in cluster.events if what == "start")
    rows = [[f"{args.minutes:g} min", args.replicas, f"{args.lease:g}/{args.renew:g} s", len(kills), len(terms), starts,
             result.logs, sum(len(t) for t in deliveries.values()), len(result.lost),
             f"{result.duplicate_count} ({len(explained)} after a kill -9)",
             f"{percentile(failover, 50):.1f} / {percentile(failover, 99):.1f} (n={len(failover)})",
             f"{percentile(handover, 50):.1f} / {percentile(handover, 99):.1f} (n={len(handover)})"]]
    text = common.table(["run", "replicas", "lease/renew", "kill -9", "SIGTERM", "starts", "logs", "alerts", "lost",
                         "duplicates", "failover p50 / p99 s", "handover p50 / p99 s"], rows)
    print(f"\n{common.machine()}; logalert {common.logalert_version()}; seed {args.seed}\n\n{text}")
    if args.save:
        print(f"saved {common.save_result('chaos', text)}")
    ok = not result.lost and len(explained) == len(result.duplicates)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
