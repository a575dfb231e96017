"""Runs inside ElastAlert2's virtualenv: every rule once over [--start, --end], then exits.

    .venv-elastalert2/bin/python ea2_driver.py --config X --start T --end T --debug

ElastAlert2's own entry point (``python -m elastalert.elastalert ... --end T``) does the same
rule runs but from its APScheduler: each rule job starts 0-15 s (+5 s jitter) after start-up
and the main loop then sleeps a whole ``run_every`` before exiting, so its wall time is mostly
sleep, and a job may even run a second time over the same window if the sleep outlasts its
interval. This driver builds the same ``ElastAlerter`` from the same arguments and calls the
method the scheduler's job calls, ``handle_rule_execution(rule)``, once per rule in turn (like
``logalert run --once``), with the start time applied as ``ElastAlerter.start()`` applies it.
Matches are printed by ElastAlert2's debug alerter (``--debug``: nothing is sent and nothing
is written to the writeback index)."""

from __future__ import annotations

import sys
import time

from elastalert.elastalert import ElastAlerter
from elastalert.util import ts_to_dt


def main(argv: list[str]) -> int:
    started = time.perf_counter()
    client = ElastAlerter(argv)
    if not client.args.start or not client.args.end:
        print("ea2_driver: --start and --end are required", file=sys.stderr)
        return 2
    start = ts_to_dt(client.args.start)
    for rule in client.rules:
        rule["initial_starttime"] = start
    loaded = time.perf_counter()
    for rule in client.rules:
        client.handle_rule_execution(rule)
    done = time.perf_counter()
    print(f"ea2_driver: {len(client.rules)} rules loaded in {loaded - started:.2f} s, ran in {done - loaded:.2f} s",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
