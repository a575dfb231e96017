"""A real ``logalert run`` process with the web console, over the real embedded engine
and a real rules folder, and a small HTTP client for it (Bearer or a browser-like
session with cookie + CSRF token)."""

from __future__ import annotations

import datetime as dt
import re
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.integration.helpers import engine_options, start_daemon, stop_daemon, write_config
from tests.support.efk import bulk_load, efk_doc

TOKEN = "test-token-" + "x" * 24


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rule_text(prefix: str, engine_url: str, name: str, query: str = "level:ERROR", extra: str = "") -> str:
    """A rule as a person writes it (comments, order), for the fresh test indices."""
    opts = engine_options(engine_url)
    return (f"# {name}: errors of the test logs\n"
            f"name: {name}\n"
            f"es_host: {opts['es_host']}\n"
            f"es_port: {opts['es_port']}\n"
            f"index: {prefix}-*\n"
            f"type: any\n"
            f"filter:\n"
            f"- query:\n"
            f"    query_string:\n"
            f"      query: \"{query}\"\n"
            f"realert:\n"
            f"  minutes: 0\n"
            f"alert_subject: \"ERROR on {{0}}\"\n"
            f"alert_subject_args: [kubernetes.pod_name]\n"
            f"alert:\n"
            f"- stdout\n"
            f"{extra}")


def load_logs(engine: Any, prefix: str, count: int = 12) -> None:
    """``count`` lines of the last hour, every other one an ERROR."""
    now = dt.datetime.now(dt.timezone.utc)
    docs = [efk_doc(now - dt.timedelta(minutes=2 + 4 * i), "ERROR" if i % 2 else "INFO",
                    f"checkout failed: upstream timeout #{i}" if i % 2 else f"request {i} ok") for i in range(count)]
    bulk_load(engine, None, docs, prefix=prefix)
    engine.indices.refresh(index=f"{prefix}-*")


@dataclass
class Console:
    url: str
    folder: Path
    proc: Any
    token: str = TOKEN
    log_name: str = "daemon.log"
    session: requests.Session = field(default_factory=requests.Session)

    @property
    def rules(self) -> Path:
        return self.folder / "rules"

    def api(self, method: str, path: str, token: str | None = TOKEN, **kwargs: Any) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}) or {})
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return requests.request(method, self.url + path, headers=headers, timeout=120, **kwargs)

    def log(self) -> str:
        return (self.folder / self.log_name).read_text()

    def browser_login(self) -> tuple[requests.Session, str]:
        """A session signed in with the login form, and the page's CSRF token."""
        session = requests.Session()
        answer = session.post(self.url + "login", data={"token": self.token}, allow_redirects=False, timeout=30)
        assert answer.status_code == 303, answer.text
        page = session.get(self.url, timeout=30)
        csrf = re.search(r'name="csrf-token" content="([^"]*)"', page.text).group(1)
        return session, csrf

    def wait_live(self, rel: str, timeout: float = 30) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        data: dict[str, Any] = {}
        while time.monotonic() < deadline:
            data = self.api("GET", f"api/rules/{rel}").json()
            if data.get("live", {}).get("state") == "live":
                return data
            time.sleep(0.3)
        raise AssertionError(f"{rel} never went live: {data.get('live')}\n{self.log()[-3000:]}")


def wait_ready(url: str, folder: Path, proc: Any, log_name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the daemon exited {proc.returncode}:\n{(folder / log_name).read_text()[-3000:]}")
        try:
            if requests.get(url + "api/status", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=5).ok:
                return
        except requests.ConnectionError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the console never answered:\n{(folder / log_name).read_text()[-3000:]}")


def start_console(folder: Path, engine_url: str, *, command: str = "run", env: dict[str, str] | None = None,
                  **config: Any) -> Console:
    port = free_port()
    write_config(folder, engine_url, web_port=port, web_token=TOKEN, **config)
    log_name = f"{command}-{uuid.uuid4().hex[:6]}.log"
    if command == "run":
        proc = start_daemon(folder, env=env, log_name=log_name)
    else:
        import os
        import subprocess
        import sys

        log = open(folder / log_name, "a")
        proc = subprocess.Popen([sys.executable, "-m", "logalert", "web", "--config", str(folder / "config.yaml")],
                                cwd=folder, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})))
    url = f"http://127.0.0.1:{port}/"
    wait_ready(url, folder, proc, log_name)
    return Console(url, folder, proc, log_name=log_name)


@pytest.fixture
def console(tmp_path, engine, engine_url, fresh_index):
    """``logalert run`` with the console on a free port, two rules over fresh test logs."""
    (tmp_path / "rules").mkdir()
    load_logs(engine, fresh_index)
    tag = uuid.uuid4().hex[:6]
    (tmp_path / "rules" / "errors.yaml").write_text(rule_text(fresh_index, engine_url, f"Errors {tag}"))
    (tmp_path / "rules" / "quiet.yaml").write_text(rule_text(fresh_index, engine_url, f"Quiet {tag}", "level:NOPE"))
    running = start_console(tmp_path, engine_url, run_every={"seconds": 2})
    running.prefix = fresh_index  # type: ignore[attr-defined]
    running.tag = tag  # type: ignore[attr-defined]
    try:
        yield running
    finally:
        stop_daemon(running.proc)
