"""Soak: logalert's daemon and ElastAlert2's, one after the other, over a live log stream.

    python benchmarks/soak.py                      # N = 200 and 1,000 rules, 30 min per tool
    python benchmarks/soak.py --quick              # N = 200, 5 min per tool (a smoke test)
    python benchmarks/soak.py -N 1000 --minutes 60 --tools logalert --save

For each N and each tool in turn (fresh log and writeback indices each time):
1. the log indices get 30 min of steady traffic (``soakload.backfill``);
2. a loader process (``soakload.py``) indexes ~50 lines/s with @timestamp = now, incidents
   every cycle and timed probe lines, for D minutes;
3. the daemon runs as a real process behind a counting proxy (``proxy.py``):
   ``logalert run --config X`` or ElastAlert2's ``python -m elastalert.elastalert --config X``
   (its virtualenv, ``ea2env.py``; its writeback index made first with its create_index);
   N generated rules of every type both tools have (``rulegen.comparison_rule``) plus two
   probe rules (any, frequency), all at run_every 1 min, alerting through ``slack`` to a
   webhook receiver in this process (``soakmon.Receiver``) instead of Slack;
4. every 10 s: CPU % of one core and RSS of the daemon's process tree from /proc, engine
   requests so far, alerts received so far;
5. at D minutes the daemon gets SIGTERM (SIGKILL 45 s later), then the loader.
Reported per tool: peak / final RSS, RSS slope after warm-up (least squares), CPU, engine
requests per minute, alerts per minute, and detection latency — a probe line's @timestamp
to its alert's arrival at the receiver — p50 / p99 for the any and frequency probe rules.

Everything listens on and talks to 127.0.0.1 only; children run in their own process groups
and are killed on exit, Ctrl-C or SIGTERM; the engine is stopped only if this started it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import efkdocs  # noqa: E402
import rulegen  # noqa: E402
import soakload  # noqa: E402
import soakreport  # noqa: E402
from compare_elastalert2 import ENGINE_SH, FORBIDDEN_PORTS, EngineControl  # noqa: E402
from proxy import CountingProxy  # noqa: E402
from soakmon import Receiver, Sampler, latencies, read_probes  # noqa: E402

PUBLISH = common.BENCH / "soak"  # plots for the README (committed); results/ is not
LA_WRITEBACK = "logalert_soak"
EA_WRITEBACK = "elastalert_soak"
EA_INDICES = [EA_WRITEBACK, EA_WRITEBACK + "_status", EA_WRITEBACK + "_silence", EA_WRITEBACK + "_error",
              EA_WRITEBACK + "_past"]
STOP_GRACE = 45.0  # seconds between SIGTERM and SIGKILL for a daemon


class Children:
    """Every process this harness starts, each in its own session, killed on the way out."""

    def __init__(self) -> None:
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, argv: list[str], stdout: Path, stderr: Path, **kw: Any) -> subprocess.Popen[bytes]:
        with open(stdout, "wb") as out, open(stderr, "wb") as err:  # the child keeps its own copies
            proc = subprocess.Popen(argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True,
                                    **kw)
        self.procs.append(proc)
        return proc

    def stop(self, proc: subprocess.Popen[bytes], grace: float) -> int | None:
        """SIGTERM to the child's group, SIGKILL after ``grace`` seconds; the exit code."""
        if proc.poll() is None:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                proc.wait(grace)
            except subprocess.TimeoutExpired:
                print(f"  pid {proc.pid} still running {grace:.0f} s after SIGTERM: SIGKILL", file=sys.stderr)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # and anything it left behind in its group
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        if proc in self.procs:
            self.procs.remove(proc)
        return proc.returncode

    def stop_all(self) -> None:
        for proc in list(self.procs):
            self.stop(proc, 5.0)


def soak_rules(folder: Path, n: int, types: list[str], receiver: Receiver, tool: str, realert: float) -> None:
    """N comparison rules plus the two probe rules, all via slack to the receiver.

    The comparison rules alert on every match (realert 0), which over a live stream means
    hundreds of alerts a minute per 20 rules (a noisy cluster: 4.5 % ERROR lines); an
    operator's rules have a realert, so the soak's get ``realert`` minutes (per query_key
    value). The probe rules keep realert 0: every probe must alert."""
    rnd = random.Random(11)
    folder.mkdir(parents=True, exist_ok=True)
    for i, rule_type in enumerate(rulegen.mixed_types(n, types)):
        rule = rulegen.comparison_rule(i, rule_type, rnd)
        rule["realert"] = {"minutes": realert}
        rule["alert"] = ["slack"]
        rule["slack_webhook_url"] = receiver.url(tool, "bulk")
        (folder / f"soak_{i:04d}_{rule_type}.yaml").write_text(rulegen.dump(rule))
    base = {"index": rulegen.INDEX, "timestamp_field": "@timestamp", "realert": {"minutes": 0},
            "alert": ["slack"], "slack_webhook_url": receiver.url(tool, "probe")}
    probe_any = dict(base, name="soak-probe-any", type="any",
                     filter=[{"term": {"probe_kind.keyword": "any"}}],
                     alert_subject="SOAKPROBE[{0}]", alert_subject_args=["probe_id"],
                     alert_text="probe line {0} at {1}", alert_text_args=["probe_id", "@timestamp"])
    probe_freq = dict(base, name="soak-probe-frequency", type="frequency", num_events=soakload.BURST,
                      timeframe={"minutes": 1}, filter=[{"term": {"probe_kind.keyword": "frequency"}}],
                      alert_subject="SOAKPROBE[{0}]", alert_subject_args=["probe_burst"],
                      alert_text="probe burst {0} completed at {1}", alert_text_args=["probe_burst", "@timestamp"])
    (folder / "probe_any.yaml").write_text(rulegen.dump(probe_any))
    (folder / "probe_frequency.yaml").write_text(rulegen.dump(probe_freq))


def write_config(work: Path, tool: str, rules: Path, proxy_port: int) -> Path:
    opts: dict[str, Any] = {
        "rules_folder": str(rules), "run_every": {"minutes": 1}, "buffer_time": {"minutes": 15},
        "es_host": "127.0.0.1", "es_port": proxy_port, "alert_time_limit": {"days": 2},
        "old_query_limit": {"weeks": 1}, "max_query_size": 10000, "max_threads": 10,
    }
    if tool == "ea2":
        opts.update(writeback_index=EA_WRITEBACK, disable_rules_on_error=False)
    else:
        opts.update(writeback_index=LA_WRITEBACK)
    path = work / f"{tool}-config.yaml"
    path.write_text(rulegen.dump(opts))
    return path


def engine_pid(port: int) -> int | None:
    try:
        pid = int((ENGINE_SH.parent / f".run-{port}" / "engine.pid").read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def error_lines(path: Path) -> tuple[int, list[str]]:
    count, first = 0, []
    with open(path, errors="replace") as f:
        for line in f:
            if re.search(r"\b(ERROR|CRITICAL)\b|Traceback", line) and "SOAKPROBE" not in line:
                count += 1
                if len(first) < 5:
                    first.append(line.rstrip()[:300])
    return count, first


LA_RUN_LINE = re.compile(r"rule '[^']+': \d+ hits, ")


def rule_runs(tool: str, engine: efkdocs.Engine, stderr: Path) -> int | None:
    """Rule runs the daemon completed: ElastAlert2 writes one status document per run to
    its ``_status`` index; logalert logs one line per run. None when neither can be read."""
    if tool == "ea2":
        engine.request("POST", f"/{EA_WRITEBACK}_status/_refresh")
        count = engine.count(EA_WRITEBACK + "_status")
        return count if count >= 0 else None
    with open(stderr, errors="replace") as f:
        count = sum(1 for line in f if LA_RUN_LINE.search(line))
    return count or None


def run_tool(tool: str, n: int, args: argparse.Namespace, ctx: dict[str, Any]) -> dict[str, Any]:
    engine, proxy, receiver, children = ctx["engine"], ctx["proxy"], ctx["receiver"], ctx["children"]
    work = Path(tempfile.mkdtemp(prefix=f"logalert-soak-{tool}-{n}-"))
    rules = work / "rules"
    # Deliveries are counted per tool and N: probe ids restart with every run, and a run's
    # late alerts must never be taken for the next run's probes.
    key = f"{tool}-n{n}"
    soak_rules(rules, n, ctx["types"], receiver, key, args.realert)
    config = write_config(work, tool, rules, proxy.port)
    today = dt.datetime.now(dt.timezone.utc)
    log_indices = efkdocs.indices_for(today - dt.timedelta(days=1), today + dt.timedelta(days=1))
    engine.delete_indices(log_indices + EA_INDICES + [LA_WRITEBACK])
    loaded = soakload.backfill(engine, args.backfill, args.rate)
    print(f"[{tool} N={n}] fresh indices, {loaded} lines of backfill over {args.backfill:g} min; work dir {work}",
          file=sys.stderr)
    if tool == "ea2":
        made = subprocess.run([str(ctx["ea_python"]), "-m", "elastalert.create_index", "--config", str(config),
                               "--host", "127.0.0.1", "--port", str(args.engine_port), "--no-auth", "--no-ssl"],
                              capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL, check=False)
        if made.returncode != 0:
            raise SystemExit(f"ElastAlert2 create_index failed:\n{made.stdout[-2000:]}\n{made.stderr[-2000:]}")
        argv = [str(ctx["ea_python"]), "-m", "elastalert.elastalert", "--config", str(config)]
    elif args.profile:
        argv = [sys.executable, str(common.BENCH / "soakprofile.py"), str(work / "profile"), "--",
                "run", "--config", str(config)]
    else:
        argv = common.logalert_command() + ["run", "--config", str(config)]
    probes_file = work / "probes.jsonl"
    seconds = args.minutes * 60.0
    loader = children.start([sys.executable, str(common.BENCH / "soakload.py"), "--port", str(args.engine_port),
                             "--rate", str(args.rate), "--seconds", str(seconds + 5), "--cycle", str(args.cycle),
                             "--probe-any", str(args.probe_any), "--probe-frequency", str(args.probe_frequency),
                             "--probe-stop", str(90 + 5), "--probes", str(probes_file)],
                            work / "loader.stdout", work / "loader.stderr", env=common.clean_env())
    proxy.reset()
    print(f"[{tool} N={n}] {' '.join(argv)}  ({args.minutes:g} min)", file=sys.stderr)
    daemon = children.start(argv, work / f"{tool}.stdout", work / f"{tool}.stderr", cwd=work,
                            env=common.clean_env(PYTHONUNBUFFERED="1"))
    sampler = Sampler(daemon.pid, engine_pid(args.engine_port))
    started = sampler.started
    exited_at = None
    next_sample = started + args.sample
    next_report = started + 60.0
    while time.monotonic() - started < seconds:
        time.sleep(max(0.0, min(next_sample, started + seconds) - time.monotonic()))
        if daemon.poll() is not None:
            exited_at = time.monotonic() - started
            print(f"[{tool} N={n}] the daemon exited after {exited_at:.0f} s with code {daemon.returncode}",
                  file=sys.stderr)
            break
        if time.monotonic() >= next_sample:
            s = sampler.sample(proxy.snapshot()["total"], receiver.total(key))
            next_sample += args.sample
            if s and time.monotonic() >= next_report:
                next_report += 60.0
                print(f"  {s.t / 60:4.1f} min: RSS {s.rss_mib:.0f} MiB, CPU {s.cpu_pct:.1f} %, "
                      f"{s.requests} requests, {s.alerts} alerts", file=sys.stderr)
    elapsed = (exited_at if exited_at is not None else time.monotonic() - started)
    http = proxy.snapshot()
    alerts = receiver.total(key)
    returncode = children.stop(daemon, STOP_GRACE * (4 if args.profile else 1))  # a profile takes a while to write
    children.stop(loader, 15.0)
    errors, first_errors = error_lines(work / f"{tool}.stderr")
    runs_done = rule_runs(tool, engine, work / f"{tool}.stderr")
    probes = read_probes(probes_file)
    lat = latencies(probes, receiver.probe_arrivals(key))
    warmup = soakreport.warmup_seconds(args.minutes, args.warmup)
    summary = soakreport.summarize(sampler.samples, sampler.peak_hwm, warmup, elapsed, http, alerts, lat)
    summary["rule_runs"] = runs_done
    summary["runs_per_rule_per_min"] = runs_done / (n + 2) / (elapsed / 60.0) if runs_done and elapsed else None
    loader_tail = (work / "loader.stderr").read_text(errors="replace").strip().splitlines()[-1:]
    result = {
        "tool": tool, "n": n, "argv": argv, "work": str(work), "summary": summary,
        "samples": [vars(s) for s in sampler.samples], "http": http, "latency": lat,
        "error_lines": errors, "first_errors": first_errors, "returncode": returncode,
        "alive_at_end": exited_at is None, "exited_at": exited_at, "loader": loader_tail,
    }
    if args.profile and tool == "logalert":
        print(f"[{tool} N={n}] profile (cProfile + tracemalloc; CPU and RSS above are inflated by it): "
              f"{work / 'profile'}/cpu.txt, memory.txt", file=sys.stderr)
    print(f"[{tool} N={n}] done: {summary['samples']} samples, exit {returncode}, {errors} error lines; "
          f"loader: {' '.join(loader_tail)}", file=sys.stderr)
    if exited_at is not None:
        tail = (work / f"{tool}.stderr").read_text(errors="replace").strip().splitlines()[-15:]
        print("  last lines of its stderr:\n    " + "\n    ".join(tail), file=sys.stderr)
    return result


def measured_commit() -> str:
    """HEAD when the run starts (later commits do not change what was measured), with
    ``+dirty`` when logalert/ has uncommitted changes: the package is installed editable,
    so those changes are what runs."""
    head = common.git_head()
    try:
        dirty = subprocess.run(["git", "-C", str(common.ROOT), "status", "--porcelain", "--", "logalert"],
                               capture_output=True, text=True, timeout=30, check=False).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        dirty = ""
    return head + ("+dirty" if dirty else "")


def quiet_resets(server: Any) -> None:
    """A daemon killed mid-request resets its connections; the proxy need not print a traceback."""
    default = server.handle_error

    def handle_error(request: Any, address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):
            default(request, address)

    server.handle_error = handle_error


def ensure_matplotlib() -> bool:
    """matplotlib is a benchmark dependency only: installed into this interpreter's venv on demand."""
    try:
        import matplotlib  # noqa: F401

        return True
    except ImportError:
        pass
    print("installing matplotlib into this interpreter's environment (plots only) ...", file=sys.stderr)
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "matplotlib"], timeout=900, check=False)
    return done.returncode == 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rules", "-N", help="comma list of rule counts (default 200,1000; --quick 200)")
    p.add_argument("--minutes", type=float, help="minutes per tool and N (default 30; --quick 5)")
    p.add_argument("--quick", action="store_true", help="N = 200 for 5 minutes per tool")
    p.add_argument("--tools", default="logalert,ea2", help="which to run, in order (default logalert,ea2)")
    p.add_argument("--types", help="comma list of rule types (default: every type both tools have)")
    p.add_argument("--rate", type=float, default=50.0, help="background log lines per second (default 50)")
    p.add_argument("--cycle", type=float, default=600.0, help="incident cycle, seconds (default 600)")
    p.add_argument("--backfill", type=float, default=30.0, help="minutes of steady logs before each run (default 30)")
    p.add_argument("--probe-any", type=float, default=10.0, help="seconds between any probe lines (default 10)")
    p.add_argument("--probe-frequency", type=float, default=20.0, help="seconds between frequency bursts (default 20)")
    p.add_argument("--realert", type=int, default=5.0, help="realert of the generated rules, minutes (default 5)")
    p.add_argument("--sample", type=float, default=10.0, help="seconds between samples (default 10)")
    p.add_argument("--warmup", type=float, help="minutes left out of the RSS fit (default 20 %%, at least 3, "
                                                 "at most half the run)")
    p.add_argument("--engine-port", type=int, default=9272, help="OpenSearch on 127.0.0.1 (default 9272)")
    p.add_argument("--no-engine", action="store_true", help="do not start an engine; use the one on --engine-port")
    p.add_argument("--keep-engine", action="store_true", help="leave an engine this started running")
    p.add_argument("--reuse", metavar="DIR",
                   help="take the runs of tools not in --tools from DIR/soak_nN.json (an earlier --save on the "
                        "same machine, e.g. ElastAlert2's, which does not change when logalert does)")
    p.add_argument("--profile", action="store_true",
                   help="run logalert under cProfile (all threads) and tracemalloc (soakprofile.py); the reports "
                        "go to its work dir. Slows it: not for the published figures")
    p.add_argument("--save", action="store_true", help="write tables, JSON and PNG plots to benchmarks/results/")
    p.add_argument("--publish", action="store_true", help="with --save: also the plots to benchmarks/soak/ "
                                                           "(committed, for the README; not with --quick)")
    args = p.parse_args(argv)
    if args.engine_port in FORBIDDEN_PORTS:
        raise SystemExit(f"port {args.engine_port} is reserved (9200: engine-up, 9250/9260: the test suites)")
    if args.publish and args.profile:
        raise SystemExit("--publish: not with --profile (profilers inflate CPU and memory)")
    if args.publish and (args.quick or not args.save):
        raise SystemExit("--publish needs --save and a full run (the README's plots come from a full run)")
    counts = [int(x) for x in (args.rules or ("200" if args.quick else "200,1000")).split(",") if x.strip()]
    args.minutes = args.minutes or (5.0 if args.quick else 30.0)
    tools = [t.strip() for t in args.tools.split(",") if t.strip()]
    if not tools or set(tools) - {"logalert", "ea2"}:
        raise SystemExit("--tools: logalert and/or ea2")
    if args.save and not ensure_matplotlib():
        raise SystemExit("could not install matplotlib for the plots (drop --save to run without them)")

    def on_term(_signum: int, _frame: Any) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_term)
    # Started in the background by a non-interactive shell, SIGINT arrives ignored: Ctrl-C
    # (or kill -INT) must still stop the run and its children.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    types = rulegen.available_types(args.types.split(",") if args.types else None)
    ea_python, ea_version = None, "-"
    if "ea2" in tools:
        import ea2env

        ea_python, ea_version = ea2env.ensure()
    control = EngineControl(args.engine_port, manage=not args.no_engine)
    children = Children()
    out: list[str] = []
    stamp = dt.datetime.now(dt.timezone.utc)
    head = measured_commit()
    try:
        control.up()
        engine = efkdocs.Engine(args.engine_port)
        info = engine.info()
        header = (f"# soak — {stamp:%Y-%m-%d %H:%M} UTC, {args.minutes:g} min per tool\n"
                  f"{common.machine()}; logalert {common.logalert_version()} at {head} "
                  f"(Python {sys.version.split()[0]}), ElastAlert2 {ea_version}; OpenSearch "
                  f"{info['version']['number']} on 127.0.0.1:{args.engine_port} behind a counting proxy\n"
                  f"stream: {args.rate:g} lines/s + incidents every {args.cycle / 60:g} min, backfill "
                  f"{args.backfill:g} min; run_every 1 min, buffer_time 15 min, realert {args.realert:g} min; rule types: {', '.join(types)}; "
                  f"+2 probe rules (any every {args.probe_any:g} s, frequency burst every {args.probe_frequency:g} s)")
        print(header, flush=True)
        out.append(header)
        with CountingProxy(args.engine_port) as proxy, Receiver() as receiver:
            quiet_resets(proxy.server)
            ctx = {"engine": engine, "proxy": proxy, "receiver": receiver, "children": children,
                   "types": types, "ea_python": ea_python}
            for n in counts:
                runs = {tool: run_tool(tool, n, args, ctx) for tool in tools}
                if args.reuse:
                    earlier = json.loads((Path(args.reuse) / f"soak_n{n}.json").read_text())["runs"]
                    runs.update({tool: run for tool, run in earlier.items() if tool not in runs})
                text = f"## N = {n} rules (+2 probes), {args.minutes:g} min each\n\n" + soakreport.table(runs, ea_version)
                print("\n" + text, flush=True)
                out.append(text)
                if args.save:
                    detail = {"n": n, "minutes": args.minutes, "header": header, "runs": runs}
                    common.save_result(f"soak_n{n}.json", json.dumps(detail, indent=1, default=str))
                    paths = [common.RESULTS / f"soak_n{n}.png"] + ([PUBLISH / f"soak_n{n}.png"] if args.publish else [])
                    soakreport.plot(runs, f"soak, N = {n} rules, {args.minutes:g} min, {stamp:%Y-%m-%d} "
                                          f"(logalert {head})", paths)
                    print("plots: " + ", ".join(str(x) for x in paths), file=sys.stderr)
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the clean-up short
            signal.signal(signum, signal.SIG_IGN)
        children.stop_all()
        if not args.keep_engine:
            control.down()
    if args.save:
        print(f"\nsaved {common.save_result('soak.txt', chr(10).join(out))}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("soak: interrupted; the daemon, the loader and the proxy are stopped", file=sys.stderr)
        sys.exit(130)
