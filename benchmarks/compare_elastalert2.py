"""logalert and ElastAlert2 side by side: same rules, same documents, same time range.

    python benchmarks/compare_elastalert2.py [--rules 50,500] [--docs 20000] [--types any,frequency]
                                             [--engine-port 9270] [--save]

1. ElastAlert2 is installed from PyPI into benchmarks/.venv-elastalert2 (see ea2env.py).
2. An embedded OpenSearch is started on 127.0.0.1:PORT (tools/search-engine/engine.sh; stopped
   at the end unless it was already running or --keep-engine).
3. M EFK documents (efkdocs.py) are loaded into logstash-YYYY.MM.DD over a fixed range.
4. N rules of mixed types (every type logalert has registered that ElastAlert2 also has) are
   written once in ElastAlert format (rulegen.comparison_rule: alert: debug, realert: 0) and
   read unchanged by both tools.
5. Each tool runs once over the range as a child process behind a counting proxy:
   ElastAlert2 ``ea2_driver.py --config X --debug --start T --end T`` (its ElastAlerter, each
   rule's handle_rule_execution once), logalert ``logalert run --once --config X --start T --end T``.
6. Per tool: child CPU (user+sys from wait4), wall time, peak RSS (ru_maxrss), HTTP requests
   the proxy forwarded (search-type ones apart), and the matches each printed, compared rule
   by rule. A per-rule diff goes to benchmarks/results/ with --save.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # noqa: E402
import ea2env  # noqa: E402
import efkdocs  # noqa: E402
import rulegen  # noqa: E402
from proxy import CountingProxy  # noqa: E402

DEFAULT_START = "2025-01-14T23:00:00Z"
DEFAULT_END = "2025-01-15T01:00:00Z"
ENGINE_SH = common.ROOT / "tools" / "search-engine" / "engine.sh"
FORBIDDEN_PORTS = {9200, 9250, 9260}
# Writeback indices, deleted before every run: logalert keeps its state there (window ends,
# documents seen, the alert outbox), and a state left by an earlier run with the same rule
# names would make it skip documents and alerts it has already handled.
EA2_WRITEBACK = "elastalert_bench"
LA_WRITEBACK = "logalert_bench"
WRITEBACK_INDICES = [EA2_WRITEBACK, EA2_WRITEBACK + "_status", EA2_WRITEBACK + "_silence", EA2_WRITEBACK + "_error",
                     EA2_WRITEBACK + "_past", LA_WRITEBACK]


def parse_time(text: str) -> dt.datetime:
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    moment = dt.datetime.fromisoformat(text)
    return moment.replace(tzinfo=dt.timezone.utc) if moment.tzinfo is None else moment.astimezone(dt.timezone.utc)


def iso(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_span(text: str) -> dict[str, int]:
    m = re.fullmatch(r"(\d+)([smhd])", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a span: {text!r} (use 30s, 1m, 15m, 2h)")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[m.group(2)]
    return {unit: int(m.group(1))}


def norm_ts(text: str) -> str:
    """A match timestamp as printed by either tool -> ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (or as is)."""
    raw = text.strip()
    try:
        moment = parse_time(raw.replace(" ", "T", 1))
    except ValueError:
        return raw
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


# --- engine --------------------------------------------------------------------------------------

class EngineControl:
    def __init__(self, port: int, manage: bool):
        self.port = port
        self.manage = manage
        self.started = False

    def _sh(self, action: str) -> subprocess.CompletedProcess[str]:
        env = common.clean_env(LOGALERT_ENGINE_PORT=str(self.port))
        return subprocess.run(["bash", str(ENGINE_SH), action], env=env, capture_output=True, text=True, timeout=600)

    def up(self) -> None:
        engine = efkdocs.Engine(self.port)
        try:
            engine.info()
            print(f"engine: using the one already running on 127.0.0.1:{self.port}", file=sys.stderr)
            return
        except Exception:  # noqa: BLE001
            pass
        if not self.manage:
            raise SystemExit(f"no engine on 127.0.0.1:{self.port} (drop --no-engine to start one)")
        print(f"engine: starting OpenSearch on 127.0.0.1:{self.port} ...", file=sys.stderr)
        done = self._sh("up")
        if done.returncode != 0:
            raise SystemExit(f"engine.sh up failed:\n{done.stdout}\n{done.stderr}")
        self.started = True

    def down(self) -> None:
        if self.started:
            print(f"engine: stopping 127.0.0.1:{self.port}", file=sys.stderr)
            self._sh("down")


# --- running the tools -------------------------------------------------------------------------

ALERT_LA = re.compile(r"^=== ALERT \[(?P<rule>[^\]]+)\] (?P<subject>.*)$")
ALERT_EA = re.compile(r"Alert for (?P<rule>bench-\d{4}-[a-z_]+)(?:, (?P<key>.*?))? at (?P<ts>.*):\s*$")


def parse_logalert(stdout: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for line in stdout.splitlines():
        m = ALERT_LA.match(line)
        if m:
            subject = m.group("subject")
            ts = subject[len("bench "):] if subject.startswith("bench ") else subject
            out[m.group("rule")].append(norm_ts(ts))
    return out


def parse_ea2(stderr: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = defaultdict(list)
    for line in stderr.splitlines():
        m = ALERT_EA.search(line)
        if m:
            out[m.group("rule")].append(norm_ts(m.group("ts")))
    return out


def error_lines(text: str, tool: str) -> list[str]:
    lines = []
    for line in text.splitlines():
        if tool == "ea2":
            if line.startswith(("ERROR:", "CRITICAL:")) or "Traceback" in line:
                lines.append(line)
        elif re.search(r"\b(ERROR|CRITICAL)\b", line) and not line.startswith("=== "):
            lines.append(line)
    return lines


def write_configs(work: Path, rules_dir: Path, proxy_port: int, args: argparse.Namespace) -> tuple[Path, Path]:
    common_opts: dict[str, Any] = {
        "rules_folder": str(rules_dir),
        "run_every": args.run_every,
        "buffer_time": args.buffer_time,
        "es_host": "127.0.0.1",
        "es_port": proxy_port,
        "alert_time_limit": {"days": 2},
        "old_query_limit": {"weeks": 1},
        "max_query_size": 10000,
    }
    ea_conf = dict(common_opts, writeback_index=EA2_WRITEBACK, disable_rules_on_error=False)
    la_conf = dict(common_opts, writeback_index=LA_WRITEBACK, max_threads=10)
    ea_path, la_path = work / "elastalert2-config.yaml", work / "logalert-config.yaml"
    ea_path.write_text(rulegen.dump(ea_conf))
    la_path.write_text(rulegen.dump(la_conf))
    return ea_path, la_path


def run_tool(name: str, argv: list[str], proxy: CountingProxy, work: Path, timeout: float) -> dict[str, Any]:
    efkdocs.Engine(proxy.upstream[1]).delete_indices(WRITEBACK_INDICES)
    proxy.reset()
    print(f"running {name}: {' '.join(argv)}", file=sys.stderr)
    result = common.run_child(argv, cwd=work, env=common.clean_env(PYTHONUNBUFFERED="1"), timeout=timeout,
                              stdout_path=work / f"{name}.stdout", stderr_path=work / f"{name}.stderr")
    time.sleep(0.2)  # let the proxy finish answering the last request
    stats = proxy.snapshot()
    print(f"  {name}: exit {result.returncode}, wall {result.wall:.1f} s, cpu {result.cpu:.1f} s, "
          f"requests {stats['total']}", file=sys.stderr)
    return {"result": result, "http": stats}


def fmt_ratio(a: float, b: float) -> str:
    if not b:
        return "–" if not a else "∞"
    return f"{a / b:.1f}x"


def compare_once(n: int, types: list[str], proxy: CountingProxy, ea_python: Path, ea_version: str,
                 start: dt.datetime, end: dt.datetime, args: argparse.Namespace, docs_loaded: int) -> str:
    work = Path(tempfile.mkdtemp(prefix=f"logalert-bench-compare-{n}-"))
    rules_dir = work / "rules"
    rules = rulegen.write_comparison_rules(rules_dir, n, types)
    ea_conf, la_conf = write_configs(work, rules_dir, proxy.port, args)
    ea_argv = [str(ea_python), str(common.BENCH / "ea2_driver.py"), "--config", str(ea_conf), "--debug",
               "--start", iso(start), "--end", iso(end)]
    la_argv = common.logalert_command() + ["run", "--once", "--config", str(la_conf), "--start", iso(start), "--end", iso(end)]
    runs = {}
    order = ["ea2", "logalert"] if not args.logalert_first else ["logalert", "ea2"]
    for tool in order:
        runs[tool] = run_tool(tool, ea_argv if tool == "ea2" else la_argv, proxy, work, args.timeout)
    ea, la = runs["ea2"], runs["logalert"]
    ea_matches = parse_ea2(ea["result"].stderr)
    la_matches = parse_logalert(la["result"].stdout)
    ea_errors = error_lines(ea["result"].stderr, "ea2")
    la_errors = error_lines(la["result"].stderr, "logalert")

    by_type: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])  # rules, ea, la, agreeing
    diffs = []
    for rule in rules:
        name, rtype = rule["name"], rule["type"]
        e, l_ = sorted(ea_matches.get(name, [])), sorted(la_matches.get(name, []))
        row = by_type[rtype]
        row[0] += 1
        row[1] += len(e)
        row[2] += len(l_)
        if len(e) == len(l_):
            row[3] += 1
        if e != l_:
            only_e = sorted((Counter(e) - Counter(l_)).elements())
            only_l = sorted((Counter(l_) - Counter(e)).elements())
            diffs.append({"rule": name, "type": rtype, "ea2": len(e), "logalert": len(l_),
                          "only_ea2": only_e[:5], "only_logalert": only_l[:5],
                          "options": {k: v for k, v in rule.items() if k not in (
                              "name", "index", "timestamp_field", "type", "realert", "alert_subject",
                              "alert_subject_args", "alert_text", "alert_text_args", "alert")}})

    def r(tool: str) -> common.ChildResult:
        return runs[tool]["result"]

    def h(tool: str) -> dict[str, Any]:
        return runs[tool]["http"]

    total_ea = sum(len(v) for v in ea_matches.values())
    total_la = sum(len(v) for v in la_matches.values())
    same_count = sum(1 for rule in rules if len(ea_matches.get(rule["name"], [])) == len(la_matches.get(rule["name"], [])))
    same_exact = n - len(diffs)
    kinds_ea = ", ".join(f"{k} {v}" for k, v in sorted(h("ea2")["by_kind"].items(), key=lambda kv: -kv[1]))
    kinds_la = ", ".join(f"{k} {v}" for k, v in sorted(h("logalert")["by_kind"].items(), key=lambda kv: -kv[1]))
    rows = [
        ["daemon CPU, s (user+sys)", f"{r('ea2').cpu:.2f}", f"{r('logalert').cpu:.2f}", fmt_ratio(r("ea2").cpu, r("logalert").cpu)],
        ["  user / sys, s", f"{r('ea2').user:.2f} / {r('ea2').sys:.2f}", f"{r('logalert').user:.2f} / {r('logalert').sys:.2f}", ""],
        ["wall time, s", f"{r('ea2').wall:.2f}", f"{r('logalert').wall:.2f}", fmt_ratio(r("ea2").wall, r("logalert").wall)],
        ["peak RSS, MiB", f"{r('ea2').maxrss_mb:.0f}", f"{r('logalert').maxrss_mb:.0f}", fmt_ratio(r("ea2").maxrss_mb, r("logalert").maxrss_mb)],
        ["HTTP requests to the engine", h("ea2")["total"], h("logalert")["total"], fmt_ratio(h("ea2")["total"], h("logalert")["total"])],
        ["  search-type requests", h("ea2")["search_requests"], h("logalert")["search_requests"],
         fmt_ratio(h("ea2")["search_requests"], h("logalert")["search_requests"])],
        ["  _msearch sub-searches", h("ea2")["msearch_subsearches"], h("logalert")["msearch_subsearches"], ""],
        ["  HTTP errors from engine", sum(h("ea2")["http_errors"].values()), sum(h("logalert")["http_errors"].values()), ""],
        ["bytes sent / received, MB", f"{h('ea2')['bytes_in'] / 1e6:.1f} / {h('ea2')['bytes_out'] / 1e6:.1f}",
         f"{h('logalert')['bytes_in'] / 1e6:.1f} / {h('logalert')['bytes_out'] / 1e6:.1f}", ""],
        ["matches (alerts printed)", total_ea, total_la, ""],
        ["rules with the same match count", f"{same_count}/{n}", "", ""],
        ["rules with identical matches", f"{same_exact}/{n}", "", ""],
        ["error lines logged", len(ea_errors), len(la_errors), ""],
        ["exit code", r("ea2").returncode, r("logalert").returncode, ""],
    ]
    lines = [
        f"## N = {n} rules, M = {args.docs} documents in {iso(start)} .. {iso(end)} "
        f"(+ {docs_loaded - args.docs} in the {args.history} min before) "
        f"(run_every {args.run_every}, buffer_time {args.buffer_time})",
        "",
        common.table(["measure", f"ElastAlert2 {ea_version}", f"logalert {common.logalert_version()}", "EA2 / logalert"],
                     rows, aligns="lrrr"),
        "",
        common.table(["rule type", "rules", "EA2 matches", "logalert matches", "rules agreeing (count)"],
                     [[t, v[0], v[1], v[2], f"{v[3]}/{v[0]}"] for t, v in sorted(by_type.items())], aligns="lrrrr"),
        "",
        f"requests by kind — ElastAlert2: {kinds_ea or '-'}",
        f"requests by kind — logalert: {kinds_la or '-'}",
    ]
    notes = explain(diffs, ea_errors, la_errors, r("ea2"), r("logalert"))
    if notes:
        lines += ["", "Notes:"] + [note if note.startswith("  ") else f"- {note}" for note in notes]
    text = "\n".join(lines)
    detail = {"n": n, "diffs": diffs, "ea2_errors": ea_errors[:50], "logalert_errors": la_errors[:50],
              "http": {"ea2": h("ea2"), "logalert": h("logalert")}, "work": str(work)}
    if args.save:
        common.save_result(f"compare_n{n}.txt", text)
        common.save_result(f"compare_n{n}_detail.json", json.dumps(detail, indent=2, default=str))
    return text


# Why matches differ, as far as understood by reading both tools' code; each entry tests
# one rule's diff (its options and counts) and returns the reason, or None.
def known_reason(d: dict[str, Any]) -> str | None:
    opts, rtype = d["options"], d["type"]
    key = str(opts.get("compare_key") or "")
    if rtype in ("blacklist", "whitelist") and key.endswith(".keyword") and d["logalert"] == 0:
        return (f"compare_key {key}: ElastAlert's lookup_es_key reads a trailing .keyword as the multi-field "
                f"suffix and compares the document's {key[:-8]!r}; logalert looks for a literal {key!r} key in "
                f"_source, finds none and never matches (a compatibility gap in logalert)")
    if rtype == "frequency" and (opts.get("use_count_query") or opts.get("use_terms_query")):
        return ("count query: ElastAlert2 counts per run_every segment, stamps each count at the segment end and "
                "its EventWindow keeps stamps from t-timeframe to t, i.e. timeframe + one segment of documents; "
                "logalert counts exactly one timeframe at each checkpoint. After a match both start afresh, so the "
                "series of matches drifts by a minute and may gain or lose one")
    if rtype == "frequency":
        return ("history: a fresh logalert instance first reads one timeframe before --start, so its first windows "
                "also count documents from before the range; ElastAlert2 starts counting at --start. Both start "
                "afresh after a match, so from the first difference on the series of matches is shifted")
    if rtype == "spike":
        return ("spike timing: ElastAlert2 tests at every event (after a warm-up of 2 x timeframe from its first "
                "event) and its match is the first event of the current window; logalert tests engine counts at "
                "checkpoints of a step grid and stamps the match at the checkpoint. The same surges are found a "
                "few minutes apart; a surge near a window edge can be seen by one side only")
    if rtype == "cardinality" and d["ea2"] > d["logalert"]:
        return ("ElastAlert2 makes a match of every event while the distinct count stays above max_cardinality "
                "(realert 0 lets each through); logalert matches where the count crosses the limit and once per "
                "run while it stays across (documented in logalert/ruletypes/cardinality.py)")
    if rtype in ("metric_aggregation", "percentage_match", "spike_aggregation") and not opts.get("bucket_interval"):
        return ("no bucket_interval: both judge one query window, but ElastAlert2 splits the catch-up range into "
                "buffer_time segments (15 min) while `logalert run --once --start --end` judges the whole range as "
                "one window (and spike_aggregation compares windows at its own checkpoints), so the values judged "
                "differ")
    if rtype == "change" and d["logalert"] > d["ea2"]:
        return ("logalert first reads one timeframe before its window to learn each pod's last level (the history "
                "is in the engine), so a flip right after --start is a match; ElastAlert2 starts with no memory at "
                "--start and only learns the first value there")
    if rtype == "flatline" and d["logalert"] > d["ea2"]:
        return ("logalert tests the count at every checkpoint of the range; ElastAlert2's catch-up tests a flatline "
                "only when a query segment ends with fewer than threshold events in its EventWindow, so a silence "
                "can fall between its checks")
    return None


def explain(diffs: list[dict[str, Any]], ea_errors: list[str], la_errors: list[str],
            ea: common.ChildResult, la: common.ChildResult) -> list[str]:
    notes = []
    by_type: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for d in diffs:
        by_type[d["type"]].append(d)
    for rtype, items in sorted(by_type.items()):
        ea_total = sum(d["ea2"] for d in items)
        la_total = sum(d["logalert"] for d in items)
        sample = items[0]
        notes.append(f"{rtype}: {len(items)} rule(s) differ (EA2 {ea_total} vs logalert {la_total} matches); "
                     f"e.g. {sample['rule']} EA2 {sample['ea2']} vs logalert {sample['logalert']}, "
                     f"only EA2 {sample['only_ea2'][:2]}, only logalert {sample['only_logalert'][:2]}.")
        reasons = Counter(known_reason(d) or "NOT EXPLAINED yet: see the per-rule detail (--save)" for d in items)
        for reason, count in reasons.items():
            notes.append(f"  - {count} x {reason}")
    for tool, errors, result in (("ElastAlert2", ea_errors, ea), ("logalert", la_errors, la)):
        if result.timed_out:
            notes.append(f"{tool} was killed after the timeout")
        if errors:
            uniq = list(dict.fromkeys(re.sub(r"bench-\d{4}", "bench-NNNN", e)[:220] for e in errors))
            notes.append(f"{tool} logged {len(errors)} error line(s); distinct: " + " | ".join(uniq[:4]))
    return notes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rules", default="50,500", help="comma list of rule counts N (default 50,500)")
    p.add_argument("--docs", type=int, default=20000, help="documents M (default 20000)")
    p.add_argument("--start", default=DEFAULT_START, help=f"range start (default {DEFAULT_START})")
    p.add_argument("--end", default=DEFAULT_END, help=f"range end (default {DEFAULT_END})")
    p.add_argument("--history", type=int, default=60,
                   help="minutes of steady traffic before --start (default 60; 0: none)")
    p.add_argument("--run-every", type=parse_span, default=parse_span("1m"), help="config run_every (default 1m)")
    p.add_argument("--buffer-time", type=parse_span, default=parse_span("15m"), help="config buffer_time (default 15m)")
    p.add_argument("--types", help="comma list of rule types (default: every registered type ElastAlert2 also has)")
    p.add_argument("--engine-port", type=int, default=9270, help="OpenSearch port on 127.0.0.1 (default 9270)")
    p.add_argument("--no-engine", action="store_true", help="do not start an engine; use the one on --engine-port")
    p.add_argument("--keep-engine", action="store_true", help="leave the engine running at the end")
    p.add_argument("--skip-load", action="store_true", help="the documents are already loaded")
    p.add_argument("--timeout", type=float, default=900, help="seconds per tool run before it is killed (default 900)")
    p.add_argument("--logalert-first", action="store_true", help="run logalert before ElastAlert2")
    p.add_argument("--save", action="store_true", help="save tables and per-rule detail under benchmarks/results/")
    args = p.parse_args(argv)

    if args.engine_port in FORBIDDEN_PORTS:
        raise SystemExit(f"port {args.engine_port} is reserved (9200: engine-up, 9250/9260: the test suites)")
    counts = [int(x) for x in str(args.rules).split(",") if x.strip()]
    types = rulegen.available_types(args.types.split(",") if args.types else None)
    start, end = parse_time(args.start), parse_time(args.end)
    ea_python, ea_version = ea2env.ensure()
    engine = EngineControl(args.engine_port, manage=not args.no_engine)
    engine.up()
    out = []
    try:
        es = efkdocs.Engine(args.engine_port)
        info = es.info()
        names = efkdocs.indices_for(start - dt.timedelta(minutes=args.history), end)
        if not args.skip_load:
            history = dt.timedelta(minutes=args.history)
            docs = efkdocs.generate(args.docs, start, end, history=history)
            names = efkdocs.indices_for(start - history, end)
            es.delete_indices(names)
            per_index = es.load(docs)
            print(f"loaded {len(docs)} documents: {per_index}", file=sys.stderr)
        loaded = es.count(",".join(names))  # the range's documents and the history before it
        header = (f"# logalert vs ElastAlert2 — {dt.datetime.now(dt.timezone.utc):%Y-%m-%d %H:%M} UTC\n"
                  f"{common.machine()}; Python {sys.version.split()[0]} (logalert {common.logalert_version()} at "
                  f"{common.git_head()}), ElastAlert2 {ea_version} on {ea_python.resolve().parent.parent.name} "
                  f"({subprocess.run([str(ea_python), '-V'], capture_output=True, text=True).stdout.strip()}); "
                  f"engine OpenSearch {info['version']['number']} on 127.0.0.1:{args.engine_port} behind a counting proxy\n"
                  f"rule types: {', '.join(types)}")
        print(header)
        out.append(header)
        with CountingProxy(args.engine_port) as proxy:
            for n in counts:
                text = compare_once(n, types, proxy, ea_python, ea_version, start, end, args, loaded)
                print()
                print(text)
                sys.stdout.flush()
                out.append(text)
    finally:
        if not args.keep_engine:
            engine.down()
    if args.save:
        print(f"\nsaved {common.save_result('compare.txt', chr(10).join(out))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
