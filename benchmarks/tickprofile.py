"""Where a tick of many rules spends CPU and keeps memory, in minutes instead of a soak.

    python benchmarks/tickprofile.py --port 9273 -N 1000 --ticks 12

Over logs already in the engine (what ``soak.py --keep-engine`` leaves: 30 min of backfill
plus the run), the soak's rules (``soak.soak_rules``) run tick after tick in this process
with a simulated clock one run_every apart, ending at the newest log: the steady state of
a daemon, without waiting for it. Printed per tick: CPU seconds, documents and bytes the
engine returned, and Python memory (tracemalloc) in the rules' memory; then the top of a
cProfile of the steady ticks (every thread) and the largest live allocations by line.
Writes go to a scratch writeback index, deleted first.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import pstats
import sys
import tempfile
import threading
import time
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import efkdocs  # noqa: E402
import rulegen  # noqa: E402
import soak  # noqa: E402

from logalert.config import load_config  # noqa: E402
from logalert.engine import Pool  # noqa: E402
from logalert.engine.base import Backend  # noqa: E402
from logalert.rules import load_folder  # noqa: E402
from logalert.run.runner import RuleRunner  # noqa: E402
from logalert.run.tick import run_tick  # noqa: E402
from logalert.cli.common import writeback  # noqa: E402

WRITEBACK = "logalert_tickprofile"


class Received:
    """Bytes and hits of every engine answer (wraps Backend._call)."""

    def __init__(self) -> None:
        self.bytes = 0
        self.hits = 0
        self._lock = threading.Lock()
        me = self
        import logalert.engine.elasticsearch  # noqa: F401 - the flavours whose _call is wrapped
        import logalert.engine.opensearch  # noqa: F401

        def wrap(original: Any) -> Any:
            def call(backend: Backend, method: str, path: str, **kw: Any) -> Any:
                answer = original(backend, method, path, **kw)
                hits = 0
                if isinstance(answer, dict):
                    for response in answer.get("responses", [answer]):
                        if isinstance(response, dict):
                            hits += len((response.get("hits") or {}).get("hits") or [])
                with me._lock:
                    me.hits += hits
                return answer
            return call

        for cls in [Backend, *Backend.__subclasses__()]:
            if "_call" in vars(cls):
                cls._call = wrap(vars(cls)["_call"])  # type: ignore[method-assign]

    def take(self) -> int:
        with self._lock:
            out, self.hits = self.hits, 0
        return out


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--port", type=int, default=9273)
    p.add_argument("-N", "--rules", type=int, default=1000)
    p.add_argument("--ticks", type=int, default=12)
    p.add_argument("--threads", type=int, default=10)
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--no-trace", action="store_true", help="without tracemalloc (CPU figures undisturbed)")
    args = p.parse_args()
    engine = efkdocs.Engine(args.port)
    engine.delete_indices([WRITEBACK])
    _status, newest = engine.request("POST", f"/{rulegen.INDEX}/_search",
                                     {"size": 0, "aggs": {"t": {"max": {"field": "@timestamp"}}}})
    end = dt.datetime.fromisoformat(newest["aggregations"]["t"]["value_as_string"].replace("Z", "+00:00"))
    work = Path(tempfile.mkdtemp(prefix="logalert-tickprofile-"))

    class NoReceiver:
        def url(self, tool: str, kind: str) -> str:
            return "http://127.0.0.1:9/unused"

    soak.soak_rules(work / "rules", args.rules, rulegen.available_types(None), NoReceiver(), "logalert", 5)
    config = work / "config.yaml"
    config.write_text(rulegen.dump({"rules_folder": str(work / "rules"), "run_every": {"minutes": 1},
                                    "buffer_time": {"minutes": 15}, "es_host": "127.0.0.1", "es_port": args.port,
                                    "writeback_index": WRITEBACK, "max_query_size": 10000}))
    cfg = load_config(str(config), environ={})
    loaded = load_folder([str(work / "rules")], cfg)
    pool = Pool()
    state = writeback(cfg, pool)
    clock = [end - args.ticks * dt.timedelta(minutes=1)]
    runners = [RuleRunner(rule, pool, state, alerters=[], clock=lambda: clock[0]) for rule in loaded.rules]
    received = Received()
    waited = [0.0]  # wall seconds in _msearch rounds (engine + transfer + parse)
    from logalert.engine import batch
    from logalert.run import tick as tick_module

    original_execute = batch.execute

    def timed_execute(jobs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_execute(jobs)
        finally:
            waited[0] += time.perf_counter() - started

    tick_module.batch.execute = timed_execute  # type: ignore[attr-defined]
    if not args.no_trace:
        tracemalloc.start(4)
    # CPU time of the thread, not wall time: with 10 threads sharing the GIL, wall time would
    # charge a function for the time it waited for the others.
    prof = cProfile.Profile(time.thread_time)
    profiles: list[cProfile.Profile] = []

    def start_profile() -> None:  # each pool thread, from its start (warm-up ticks included)
        thread_prof = cProfile.Profile(time.thread_time)
        profiles.append(thread_prof)
        thread_prof.enable()

    warm = max(1, args.ticks // 3)
    print(f"{len(runners)} rules; {args.ticks} ticks ending {end:%H:%M:%S}; the first {warm} are warm-up")
    print(f"{'tick':>4} {'wall s':>7} {'msearch s':>9} {'cpu s':>7} {'hits':>8} {'traced MiB':>10}")
    with ThreadPoolExecutor(max_workers=args.threads, initializer=start_profile) as workers:
        for tick in range(args.ticks):
            clock[0] += dt.timedelta(minutes=1)
            if tick == warm:
                prof.enable()
            cpu, wall, waited[0] = time.process_time(), time.perf_counter(), 0.0
            results = run_tick(runners, state, workers, send=False)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            errors = [r for r in results if r.error]
            traced = tracemalloc.get_traced_memory()[0] / 2**20 if tracemalloc.is_tracing() else 0.0
            print(f"{tick:4d} {wall:7.2f} {waited[0]:9.2f} {cpu:7.2f} {received.take():8d} {traced:10.1f}" + (f"  {len(errors)} errors: {errors[0].error}" if errors else ""))
        prof.disable()
    stats = pstats.Stats(prof)
    for thread_prof in profiles:
        try:
            stats.add(thread_prof)
        except (TypeError, ValueError):
            pass
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("tottime").print_stats(args.top)
    stats.sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    if tracemalloc.is_tracing():
        snap = tracemalloc.take_snapshot()
        print("## live allocations by line")
        for stat in snap.statistics("lineno")[:args.top]:
            print(f"{stat.size / 2**20:8.2f} MiB {stat.count:9d}  {stat.traceback[0]}")
    pool.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
