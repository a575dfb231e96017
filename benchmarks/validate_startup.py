"""`logalert validate` on 1,000 generated rules and `test-rule --schema-only` start-up time.

    python benchmarks/validate_startup.py [--rules 1000] [--runs 3] [--startup-runs 5] [--profile]

Measures, each in a fresh child process (what a CI job or a user sees):

* ``logalert validate DIR`` over N generated, valid rule files: best of 3 and median;
* ``logalert test-rule RULE --schema-only`` from process start to exit: best of 5 and median;
* ``python -X importtime`` of that same command: the costliest imports (cumulative);
* with ``--profile`` (or when a target is missed): cProfile of both commands, the top
  functions by cumulative and by own time.

Targets (issue 3): validate under 1 s, start-up under 0.5 s.
"""

from __future__ import annotations

import argparse
import io
import pstats
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import rulegen  # noqa: E402

VALIDATE_TARGET = 1.0
STARTUP_TARGET = 0.5


def time_command(argv: list[str], runs: int, cwd: Path) -> tuple[list[float], common.ChildResult]:
    walls = []
    last = None
    for _ in range(runs):
        last = common.run_child(argv, cwd=cwd, env=common.clean_env(), timeout=300)
        if last.returncode != 0:
            raise SystemExit(f"{' '.join(argv)} exited {last.returncode}:\n{last.stdout[-2000:]}\n{last.stderr[-2000:]}")
        walls.append(last.wall)
    assert last is not None
    return walls, last


def import_times(argv_tail: list[str], cwd: Path, top: int = 14) -> list[tuple[str, float, float]]:
    """(module, cumulative ms, self ms) of the costliest imports, from ``-X importtime``.

    Listed: top-level imports and every module imported directly by a ``logalert`` module,
    so the third-party packages logalert pulls in show up once, with their whole cost."""
    cmd = [sys.executable, "-X", "importtime", "-c",
           "import sys; from logalert.cli import main; sys.exit(main(sys.argv[1:]))", *argv_tail]
    result = common.run_child(cmd, cwd=cwd, env=common.clean_env(), timeout=120)
    parsed = []
    for line in result.stderr.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            parsed.append((len(m.group(3)) // 2, m.group(4), int(m.group(2)) / 1000.0, int(m.group(1)) / 1000.0))
    # importtime prints children before their parent: walk backwards to know each parent.
    rows = []
    stack: list[tuple[int, str]] = []
    for depth, name, cum, own in reversed(parsed):
        while stack and stack[-1][0] >= depth:
            stack.pop()
        parent = stack[-1][1] if stack else None
        if parent is None or parent.startswith("logalert"):
            rows.append((name if parent is None else f"{name} (from {parent})", cum, own))
        stack.append((depth, name))
    rows.sort(key=lambda r: r[1], reverse=True)
    return rows[:top]


def profile(argv_tail: list[str], cwd: Path, top: int = 15) -> str:
    """cProfile of ``logalert ARGS`` in a child process; the top functions as text."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "prof.out"
        code = ("import cProfile, sys; from logalert.cli import main; "
                f"cProfile.run('rc = main(sys.argv[1:])', {str(out)!r})")
        result = common.run_child([sys.executable, "-c", code, *argv_tail], cwd=cwd, env=common.clean_env(), timeout=300)
        if not out.exists():
            return f"(profiling failed: {result.stderr[-500:]})"
        buf = io.StringIO()
        stats = pstats.Stats(str(out), stream=buf)
        stats.strip_dirs()
        total = stats.total_tt  # type: ignore[attr-defined]
        buf.write(f"total {total:.3f} s under cProfile\n")
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("tottime").print_stats(top)
        text = buf.getvalue()
    # Keep the tables, drop pstats' preamble noise.
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith(("Ordered by", "   List reduced"))]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rules", type=int, default=1000, help="rule files to generate (default 1000)")
    p.add_argument("--runs", type=int, default=3, help="validate runs (default 3)")
    p.add_argument("--startup-runs", type=int, default=5, help="test-rule --schema-only runs (default 5)")
    p.add_argument("--types", help="comma list of rule types (default: every type logalert has registered)")
    p.add_argument("--profile", action="store_true", help="always print cProfile hotspots (default: only when a target is missed)")
    p.add_argument("--keep", help="write the rules to this folder and keep them")
    p.add_argument("--save", action="store_true", help="also save the table under benchmarks/results/")
    args = p.parse_args(argv)

    types = rulegen.available_types(args.types.split(",") if args.types else None)
    tmp = tempfile.TemporaryDirectory(prefix="logalert-bench-validate-")
    work = Path(tmp.name)
    rules_dir = Path(args.keep) if args.keep else work / "rules"
    paths = rulegen.write_validation_rules(rules_dir, args.rules, types)
    one_rule = paths[0]
    la = common.logalert_command()

    validate_walls, validate_last = time_command(la + ["validate", str(rules_dir)], args.runs, work)
    summary = validate_last.stdout.strip().splitlines()[-1] if validate_last.stdout.strip() else ""
    if not summary.startswith(f"{args.rules} rule(s) valid"):
        print(f"warning: validate did not accept every generated rule: {summary}", file=sys.stderr)
        print(validate_last.stdout[-3000:], file=sys.stderr)
    startup_walls, startup_last = time_command(la + ["test-rule", str(one_rule), "--schema-only"], args.startup_runs, work)
    v_best, v_med = common.best_and_median(validate_walls)
    s_best, s_med = common.best_and_median(startup_walls)
    baseline = common.run_child([sys.executable, "-c", "pass"], env=common.clean_env()).wall

    lines = []
    lines.append(f"logalert {common.logalert_version()} ({common.git_head()}), Python {sys.version.split()[0]}, "
                 f"{common.machine()}")
    lines.append(f"{args.rules} generated rules, types: {', '.join(types)}; validate says: {summary}")
    lines.append("")
    lines.append(common.table(
        ["measure", "target", "best", "median", "runs", "peak RSS", "verdict"],
        [
            [f"logalert validate ({args.rules} rules)", f"< {VALIDATE_TARGET:.1f} s", f"{v_best:.3f} s", f"{v_med:.3f} s",
             args.runs, f"{validate_last.maxrss_mb:.0f} MiB", "ok" if v_best < VALIDATE_TARGET else "MISSED"],
            ["logalert test-rule --schema-only (start-up)", f"< {STARTUP_TARGET:.1f} s", f"{s_best:.3f} s",
             f"{s_med:.3f} s", args.startup_runs, f"{startup_last.maxrss_mb:.0f} MiB",
             "ok" if s_best < STARTUP_TARGET else "MISSED"],
            ["(bare `python -c pass`, for scale)", "", f"{baseline:.3f} s", "", 1, "", ""],
        ], aligns="lrrrrrl"))
    lines.append("")
    lines.append("Costliest imports of `test-rule --schema-only` (python -X importtime; top-level imports and what logalert modules import directly):")
    lines.append(common.table(["module", "cumulative ms", "self ms"],
                              [[m, f"{c:.1f}", f"{s:.1f}"] for m, c, s in import_times(["test-rule", str(one_rule), "--schema-only"], work)],
                              aligns="lrr"))
    missed = v_best >= VALIDATE_TARGET or s_best >= STARTUP_TARGET
    if args.profile or missed:
        lines.append("")
        lines.append(f"cProfile: logalert validate ({args.rules} rules)")
        lines.append(profile(["validate", str(rules_dir)], work))
        lines.append("")
        lines.append("cProfile: logalert test-rule --schema-only")
        lines.append(profile(["test-rule", str(one_rule), "--schema-only"], work))
    text = "\n".join(lines)
    print(text)
    if args.save:
        print(f"\nsaved {common.save_result('validate_startup.txt', text)}")
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
