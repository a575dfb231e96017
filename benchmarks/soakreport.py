"""The soak's figures from its samples: summary per tool, the side-by-side table, plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import common
from soakmon import Sample, slope_per_hour


def warmup_seconds(minutes: float, given: float | None) -> float:
    """The part of a run left out of the RSS fit and the steady CPU: start-up, the first
    catch-up over buffer_time, caches filling. 20 % of the run but at least 3 minutes,
    and never more than half of it (a quick run keeps something to fit)."""
    if given is not None:
        return given * 60.0
    return min(max(0.2 * minutes * 60.0, 180.0), 0.5 * minutes * 60.0)


def summarize(samples: Sequence[Sample], peak_hwm: float, warmup: float, elapsed: float,
              http: dict[str, Any], alerts: int, latency: dict[str, dict[str, Any]]) -> dict[str, Any]:
    steady = [s for s in samples if s.t >= warmup]
    last = samples[-1] if samples else None
    first_steady = steady[0] if steady else None
    minutes = elapsed / 60.0 if elapsed else 0.0
    engine = [s.engine_cpu_pct for s in samples if s.engine_cpu_pct is not None]
    steady_cpu = None
    if first_steady and last and last.t > first_steady.t:
        steady_cpu = 100.0 * (last.cpu_s - first_steady.cpu_s) / (last.t - first_steady.t)
    by_kind = http.get("by_kind", {})
    return {
        "samples": len(samples),
        "elapsed_s": round(elapsed, 1),
        "warmup_s": warmup,
        "peak_rss_mib": max([s.rss_mib for s in samples] + [peak_hwm]) if samples else None,
        "final_rss_mib": last.rss_mib if last else None,
        "rss_after_warmup_mib": first_steady.rss_mib if first_steady else None,
        "rss_slope_mib_per_h": slope_per_hour([s.t for s in steady], [s.rss_mib for s in steady]),
        "cpu_mean_pct": 100.0 * last.cpu_s / last.t if last and last.t else None,
        "cpu_steady_pct": steady_cpu,
        "cpu_max_pct": max(s.cpu_pct for s in samples) if samples else None,
        "cpu_total_s": last.cpu_s if last else None,
        "engine_cpu_mean_pct": sum(engine) / len(engine) if engine else None,
        "requests_per_min": http["total"] / minutes if minutes else None,
        "search_requests_per_min": http["search_requests"] / minutes if minutes else None,
        "msearch_subsearches_per_min": http["msearch_subsearches"] / minutes if minutes else None,
        "write_requests_per_min": by_kind.get("write", 0) / minutes if minutes else None,
        "http_errors": sum(http.get("http_errors", {}).values()),
        "mb_received_per_min": http["bytes_out"] / 1e6 / minutes if minutes else None,
        "alerts_per_min": alerts / minutes if minutes else None,
        "alerts": alerts,
        "latency": {k: {kk: vv for kk, vv in v.items() if kk != "latencies"} for k, v in latency.items()},
    }


def _f(value: Any, fmt: str = "{:.1f}") -> str:
    return "–" if value is None else fmt.format(value)


def _ratio(a: Any, b: Any) -> str:
    if a is None or b is None:
        return ""
    if not b:
        return "–" if not a else "∞"
    return f"{a / b:.1f}x"


def table(runs: dict[str, dict[str, Any]], ea_version: str) -> str:
    """ElastAlert2 | logalert | EA2 / logalert, as in the one-shot comparison's tables."""
    tools = [t for t in ("ea2", "logalert") if t in runs]
    names = {"ea2": f"ElastAlert2 {ea_version}", "logalert": f"logalert {common.logalert_version()}"}
    s = {t: runs[t]["summary"] for t in tools}

    def row(label: str, key: str, fmt: str = "{:.1f}", ratio: bool = True) -> list[str]:
        cells = [_f(s[t][key], fmt) for t in tools]
        r = _ratio(s["ea2"][key], s["logalert"][key]) if ratio and len(tools) == 2 else ""
        return [label] + cells + ([r] if len(tools) == 2 else [])

    def lat(label: str, kind: str, q: str) -> list[str]:
        cells = [_f(s[t]["latency"][kind][q]) for t in tools]
        r = (_ratio(s["ea2"]["latency"][kind][q], s["logalert"]["latency"][kind][q]) if len(tools) == 2 else None)
        return [label] + cells + ([r] if r is not None else [])

    def probes(kind: str) -> list[str]:
        cells = []
        for t in tools:
            p = s[t]["latency"][kind]
            cells.append(f"{p['alerted']}/{p['sent']}" + (f" (+{p['duplicates']} dup)" if p["duplicates"] else ""))
        return [f"  {kind} probes alerted / sent"] + cells + ([""] if len(tools) == 2 else [])

    rows = [
        row("peak RSS, MiB", "peak_rss_mib", "{:.0f}"),
        row("final RSS, MiB", "final_rss_mib", "{:.0f}"),
        row("RSS after warm-up, MiB", "rss_after_warmup_mib", "{:.0f}"),
        row("RSS slope after warm-up, MiB/h", "rss_slope_mib_per_h", "{:+.1f}", ratio=False),
        row("rule runs per rule per minute", "runs_per_rule_per_min", "{:.2f}", ratio=False),
        row("CPU, % of one core (mean)", "cpu_mean_pct", "{:.1f}"),
        row("CPU after warm-up, %", "cpu_steady_pct", "{:.1f}"),
        row("CPU, highest 10 s sample, %", "cpu_max_pct", "{:.0f}"),
        row("engine JVM CPU, % (mean)", "engine_cpu_mean_pct", "{:.1f}"),
        row("engine requests / min", "requests_per_min", "{:.0f}"),
        row("  search-type requests / min", "search_requests_per_min", "{:.0f}"),
        row("  _msearch sub-searches / min", "msearch_subsearches_per_min", "{:.0f}", ratio=False),
        row("  write requests / min", "write_requests_per_min", "{:.0f}"),
        row("  MB received from engine / min", "mb_received_per_min", "{:.1f}"),
        row("  HTTP errors from engine", "http_errors", "{:d}", ratio=False),
        row("alerts delivered / min", "alerts_per_min", "{:.0f}"),
        lat("latency any, p50, s", "any", "p50"),
        lat("latency any, p99, s", "any", "p99"),
        lat("latency frequency, p50, s", "frequency", "p50"),
        lat("latency frequency, p99, s", "frequency", "p99"),
        probes("any"),
        probes("frequency"),
        ["error lines logged"] + [str(runs[t]["error_lines"]) for t in tools] + ([""] if len(tools) == 2 else []),
        ["ran the whole time"] + [("yes" if runs[t]["alive_at_end"] else f"no: exited at {runs[t]['exited_at']:.0f} s, "
                                   f"code {runs[t]['returncode']}") for t in tools] + ([""] if len(tools) == 2 else []),
    ]
    headers = ["measure"] + [names[t] for t in tools] + (["EA2 / logalert"] if len(tools) == 2 else [])
    return common.table(headers, rows, aligns="l" + "r" * (len(headers) - 1))


def plot(runs: dict[str, dict[str, Any]], title: str, paths: Sequence[Path]) -> None:
    """RSS and CPU over time, both tools on the same axes; one PNG written to each path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_rss, ax_cpu) = plt.subplots(2, 1, figsize=(9, 7), sharex=True)
    labels = {"ea2": "ElastAlert2", "logalert": "logalert"}
    for tool in ("logalert", "ea2"):
        if tool not in runs:
            continue
        samples = runs[tool]["samples"]
        minutes = [s["t"] / 60.0 for s in samples]
        ax_rss.plot(minutes, [s["rss_mib"] for s in samples], label=labels[tool], linewidth=1.5)
        ax_cpu.plot(minutes, [s["cpu_pct"] for s in samples], label=labels[tool], linewidth=1.0)
    warmup = next(iter(runs.values()))["summary"]["warmup_s"] / 60.0
    for ax in (ax_rss, ax_cpu):
        ax.axvline(warmup, color="grey", linestyle=":", linewidth=1)
        ax.grid(True, alpha=0.3)
        ax.legend(loc="upper left")
    ax_rss.set_ylabel("RSS, MiB")
    ax_rss.set_ylim(bottom=0)
    ax_cpu.set_ylabel("CPU, % of one core (10 s)")
    ax_cpu.set_ylim(bottom=0)
    ax_cpu.set_xlabel("minutes since the daemon started (dotted: end of warm-up)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=100)
    plt.close(fig)
