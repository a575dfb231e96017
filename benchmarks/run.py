"""Run every benchmark and print its tables (``make bench``).

    python benchmarks/run.py                      # validate/start-up, then compare at N=50 and N=500
    python benchmarks/run.py --quick              # 200 rules to validate; compare at N=20 over 5,000 docs
    python benchmarks/run.py --rules 50 --docs 20000 --only compare
    python benchmarks/run.py --save               # also write the tables to benchmarks/results/

Each benchmark runs as its own child process with this interpreter (the one logalert is
installed in); ElastAlert2 gets its own virtualenv under benchmarks/.venv-elastalert2.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="logalert benchmarks")
    p.add_argument("--rules", "-N", help="comma list of rule counts for the comparison (default 50,500; --quick 20)")
    p.add_argument("--docs", "-M", type=int, help="documents for the comparison (default 20000; --quick 5000)")
    p.add_argument("--validate-rules", type=int, help="rules for the validate benchmark (default 1000; --quick 200)")
    p.add_argument("--types", help="comma list of rule types (default: every type logalert has registered)")
    p.add_argument("--only", choices=["validate", "compare"], help="run one benchmark only")
    p.add_argument("--quick", action="store_true", help="small sizes, for a smoke test in about a minute or two")
    p.add_argument("--engine-port", type=int, default=9270)
    p.add_argument("--profile", action="store_true", help="validate: always print cProfile hotspots")
    p.add_argument("--save", action="store_true", help="also save the tables under benchmarks/results/")
    args = p.parse_args(argv)

    rules = args.rules or ("20" if args.quick else "50,500")
    docs = args.docs or (5000 if args.quick else 20000)
    validate_rules = args.validate_rules or (200 if args.quick else 1000)
    extra = ["--save"] if args.save else []
    types = ["--types", args.types] if args.types else []
    failed = 0
    if args.only in (None, "validate"):
        cmd = [sys.executable, str(HERE / "validate_startup.py"), "--rules", str(validate_rules), *types, *extra]
        if args.profile:
            cmd.append("--profile")
        if args.quick:
            cmd += ["--runs", "1", "--startup-runs", "2"]
        print("#", " ".join(cmd[1:]), flush=True)
        failed |= subprocess.call(cmd) != 0
        print(flush=True)
    if args.only in (None, "compare"):
        cmd = [sys.executable, str(HERE / "compare_elastalert2.py"), "--rules", rules, "--docs", str(docs),
               "--engine-port", str(args.engine_port), *types, *extra]
        print("#", " ".join(cmd[1:]), flush=True)
        failed |= subprocess.call(cmd) != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
