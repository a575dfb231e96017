"""Shared pieces of the integration tests: writing rule/config files, running the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
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
    config = {**engine_options(engine_url), "rules_folder": "rules", "run_every": {"seconds": 1},
              "buffer_time": {"minutes": 15}, "max_threads": 4, **extra}
    return write_yaml(folder / "config.yaml", config)


def logalert(*args: str, cwd: Path | None = None, timeout: float = 120, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Run the real CLI in a child process, as a user would."""
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, "-m", "logalert", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, env=full_env, stdin=subprocess.DEVNULL)
