"""``logalert run`` under cProfile (every thread) and tracemalloc, for ``soak.py --profile``.

    python benchmarks/soakprofile.py OUT_DIR [--frames 8] -- run --config X

Runs the CLI in this process. Every thread gets its own cProfile profiler (the daemon's
work happens in the scheduler's and the rule pool's threads, which a plain
``cProfile.run`` never sees); tracemalloc takes a snapshot every ``--every`` seconds.
When the CLI returns (SIGTERM from the soak harness), OUT_DIR gets:

- ``cpu.txt``: the merged profile, top functions by cumulative and by own time;
- ``cpu.pstats``: the same for ``python -m pstats``;
- ``memory.txt`` (rewritten at every snapshot after the warm-up): the largest allocations
  alive at the latest snapshot, by line and by traceback, and what grew since the last
  snapshot of the warm-up.

Both profilers slow the daemon (tracemalloc roughly doubles CPU): figures from a profiled
run say where time and memory go, not how much the daemon costs.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
import threading
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

_profiles: list[cProfile.Profile] = []
_lock = threading.Lock()


def _profile_threads() -> None:
    """Give every thread started from now on its own profiler (kept for the merge)."""
    original = threading.Thread.run

    def run(self: threading.Thread) -> None:
        prof = cProfile.Profile()
        with _lock:
            _profiles.append(prof)
        prof.enable()
        try:
            original(self)
        finally:
            prof.disable()

    threading.Thread.run = run  # type: ignore[method-assign]


def _snapshots(every: float, warmup: float, out: Path, top: int, stop: threading.Event) -> None:
    """A snapshot every ``every`` seconds; after the warm-up each one rewrites memory.txt
    (so a daemon killed at the end still leaves the report of its last minute)."""
    started = time.monotonic()
    keep: list[tracemalloc.Snapshot] = []
    while not stop.wait(every):
        snap = tracemalloc.take_snapshot().filter_traces((tracemalloc.Filter(False, tracemalloc.__file__),))
        if not keep or (len(keep) == 1 and time.monotonic() - started < warmup):
            keep[:] = [snap]  # the baseline: the last snapshot of the warm-up
            continue
        keep[1:] = [snap]
        (out / "memory.txt").write_text(_memory_report(keep, top))


def _memory_report(snaps: list[tracemalloc.Snapshot], top: int) -> str:
    out = io.StringIO()
    current, peak = tracemalloc.get_traced_memory()
    out.write(f"traced now {current / 2**20:.1f} MiB, traced peak {peak / 2**20:.1f} MiB\n\n")
    if not snaps:
        return out.getvalue() + "no snapshot taken\n"
    last = snaps[-1]
    out.write(f"## alive at the last snapshot, by line (top {top})\n")
    for stat in last.statistics("lineno")[:top]:
        out.write(f"{stat.size / 2**20:8.2f} MiB {stat.count:9d} blocks  {stat.traceback[0]}\n")
    out.write(f"\n## alive at the last snapshot, by traceback (top {top // 2})\n")
    for stat in last.statistics("traceback")[:top // 2]:
        out.write(f"{stat.size / 2**20:8.2f} MiB {stat.count:9d} blocks\n")
        for line in stat.traceback.format()[-12:]:
            out.write(f"    {line}\n")
    if len(snaps) > 1:
        out.write(f"\n## grown from the end of warm-up to the last snapshot, by line (top {top})\n")
        for diff in last.compare_to(snaps[0], "lineno")[:top]:
            out.write(f"{diff.size_diff / 2**20:+8.2f} MiB {diff.count_diff:+9d} blocks  {diff.traceback[0]}\n")
    return out.getvalue()


def _cpu_report(main: cProfile.Profile, top: int) -> tuple[str, pstats.Stats]:
    stats = pstats.Stats(main)
    for prof in list(_profiles):
        try:
            stats.add(prof)
        except (TypeError, ValueError):  # a thread still running: its profile is left out
            continue
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    return out.getvalue(), stats


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path)
    p.add_argument("--frames", type=int, default=8, help="tracemalloc frames per allocation (default 8)")
    p.add_argument("--every", type=float, default=60.0, help="seconds between tracemalloc snapshots")
    p.add_argument("--warmup", type=float, default=120.0, help="seconds before the baseline snapshot")
    p.add_argument("--top", type=int, default=40)
    p.add_argument("cli", nargs=argparse.REMAINDER, help="-- then the logalert CLI arguments")
    args = p.parse_args()
    cli = args.cli[1:] if args.cli[:1] == ["--"] else args.cli
    args.out.mkdir(parents=True, exist_ok=True)
    from logalert.cli import main as logalert_main

    tracemalloc.start(args.frames)
    _profile_threads()
    stop = threading.Event()
    sampler = threading.Thread(target=_snapshots, args=(args.every, args.warmup, args.out, args.top, stop), daemon=True)
    sampler.start()
    main_prof = cProfile.Profile()
    main_prof.enable()
    try:
        code = logalert_main(cli)
    finally:
        main_prof.disable()
        stop.set()
        text, stats = _cpu_report(main_prof, args.top)
        stats.dump_stats(str(args.out / "cpu.pstats"))
        (args.out / "cpu.txt").write_text(text)
        print(f"soakprofile: wrote {args.out}/cpu.txt, memory.txt", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
