"""Shared pieces of the integration tests: writing rule/config files, running the CLI."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml


def engine_options(engine_url: str) -> dict[str, Any]:
    parts = urlsplit(engine_url)
    return {"es_host": parts.hostname, "es_port": parts.port or 9200}


def write_yaml(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def write_config(folder: Path, engine_url: str, **extra: Any) -> Path:
    """A config for one test; its own writeback index so tests never share state."""
    config = {**engine_options(engine_url), "rules_folder": "rules", "run_every": {"seconds": 1},
              "buffer_time": {"minutes": 15}, "max_threads": 4,
              # Short leases: a daemon restarted after kill -9 waits out its predecessor's.
              "lease_duration": {"seconds": 6}, "lease_renew_interval": {"seconds": 2},
              "writeback_index": f"logalert_status_{uuid.uuid4().hex[:8]}", **extra}
    return write_yaml(folder / "config.yaml", config)


def start_daemon(folder: Path, *extra: str, env: dict[str, str] | None = None, log_name: str = "daemon.log") -> subprocess.Popen:
    """``logalert run`` as a child process, logging into FOLDER/LOG_NAME (appended)."""
    log = open(folder / log_name, "a")
    return subprocess.Popen([sys.executable, "-m", "logalert", "run", "--config", str(folder / "config.yaml"), *extra],
                            cwd=folder, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})))


def stop_daemon(proc: subprocess.Popen, timeout: float = 40) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return -9


def wait_log(folder: Path, text: str, timeout: float = 60, log_name: str = "daemon.log", count: int = 1) -> str:
    deadline = time.monotonic() + timeout
    content = ""
    while time.monotonic() < deadline:
        content = (folder / log_name).read_text()
        if content.count(text) >= count:
            return content
        time.sleep(0.2)
    raise AssertionError(f"{text!r} (x{count}) not in {log_name}:\n{content[-4000:]}")


def logalert(*args: str, cwd: Path | None = None, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI in a child process, as a user would."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "logalert", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=full_env, stdin=subprocess.DEVNULL)
