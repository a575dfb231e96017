"""Small helpers shared by the benchmarks: finding the logalert command, timing child
processes with their own resource usage, formatting tables, machine facts."""

from __future__ import annotations

import os
import platform
import resource
import signal
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"


def logalert_command() -> list[str]:
    """The ``logalert`` console script of the interpreter running the benchmark."""
    script = Path(sys.executable).parent / "logalert"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "logalert"]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for a child tool: no LOGALERT_* overrides leaking in from the shell."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGALERT_")}
    env.update(extra)
    return env


@dataclass
class ChildResult:
    argv: list[str]
    returncode: int
    wall: float  # seconds from spawn to reaped
    user: float  # child CPU seconds in user mode (wait4 rusage)
    sys: float  # child CPU seconds in kernel mode
    maxrss_mb: float  # peak resident set of the child, MiB
    stdout: str
    stderr: str
    timed_out: bool = False

    @property
    def cpu(self) -> float:
        return self.user + self.sys


def run_child(argv: Sequence[str], *, cwd: str | os.PathLike | None = None, env: dict[str, str] | None = None,
              timeout: float | None = None, stdout_path: Path | None = None, stderr_path: Path | None = None) -> ChildResult:
    """Run ``argv`` and measure it with ``os.wait4``: its own CPU and peak RSS, not ours.

    Output goes to files (so a chatty child never blocks on a full pipe) and is read back.
    On timeout the child's process group is killed and ``timed_out`` is set."""
    import tempfile

    out_f = open(stdout_path, "w+b") if stdout_path else tempfile.TemporaryFile()
    err_f = open(stderr_path, "w+b") if stderr_path else tempfile.TemporaryFile()
    started = time.perf_counter()
    proc = subprocess.Popen(list(argv), cwd=cwd, env=env, stdout=out_f, stderr=err_f, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    timed_out = threading.Event()

    def kill() -> None:
        timed_out.set()
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    timer = threading.Timer(timeout, kill) if timeout else None
    if timer:
        timer.daemon = True
        timer.start()
    try:
        _, status, usage = os.wait4(proc.pid, 0)
    finally:
        if timer:
            timer.cancel()
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    out_f.seek(0)
    err_f.seek(0)
    stdout = out_f.read().decode("utf-8", "replace")
    stderr = err_f.read().decode("utf-8", "replace")
    out_f.close()
    err_f.close()
    return ChildResult(list(argv), proc.returncode, wall, usage.ru_utime, usage.ru_stime,
                       usage.ru_maxrss / 1024.0, stdout, stderr, timed_out.is_set())


def best_and_median(values: Sequence[float]) -> tuple[float, float]:
    return min(values), statistics.median(values)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], aligns: str | None = None) -> str:
    """A plain-text table (also valid Markdown)."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    aligns = aligns or ("l" + "r" * (len(headers) - 1))

    def fmt(row: Sequence[str]) -> str:
        parts = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, aligns)]
        return "| " + " | ".join(parts) + " |"

    sep = "|" + "|".join(("-" * (w + 1) + ":") if a == "r" else ("-" * (w + 2)) for w, a in zip(widths, aligns)) + "|"
    return "\n".join([fmt(cells[0]), sep] + [fmt(r) for r in cells[1:]])


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores ({cpu}){mem}"


def logalert_version() -> str:
    try:
        from logalert import __version__

        return __version__
    except Exception:  # noqa: BLE001
        return "?"


def git_head() -> str:
    try:
        return subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip() or "?"
    except Exception:  # noqa: BLE001
        return "?"


def save_result(name: str, text: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / name
    path.write_text(text if text.endswith("\n") else text + "\n")
    return path


def self_usage() -> resource.struct_rusage:
    return resource.getrusage(resource.RUSAGE_SELF)
