"""Fixtures for tests that run against a real search engine.

``engine_url`` (session): ``$LOGALERT_TEST_ES_URL`` when set; otherwise it
starts the embedded single-node engine that ``$LOGALERT_TEST_ENGINE`` and
``$LOGALERT_TEST_ENGINE_VERSION`` pick (OpenSearch 2.19 by default, with
``tools/search-engine/engine.sh up``) on ``$LOGALERT_TEST_ENGINE_PORT`` (default
9250 for OpenSearch 2, 9254 for 3; 9260 for Elasticsearch 9, 9264 for 8, 9266
for 7) and stops it at the end of the session, but only when this fixture started it. It never skips: when no
engine can be had the tests fail with the engine's log tail.

Every test under ``tests/integration`` is marked ``integration``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.support.efk import delete_index_templates, delete_indices, make_client  # noqa: E402

# LOGALERT_TEST_ENGINE picks the embedded engine: opensearch (default) or elasticsearch;
# LOGALERT_TEST_ENGINE_VERSION its major version (engine.sh's LOGALERT_ENGINE_VERSION):
# opensearch 2 (2.19, default) or 3 (3.x); elasticsearch 9 (9.2, default), 8 (8.17) or 7 (7.17).
# Each version has its own default port, so two versions can run side by side.
ENGINE = os.environ.get("LOGALERT_TEST_ENGINE", "opensearch").strip() or "opensearch"
ENGINE_DIRS = {"opensearch": "search-engine", "elasticsearch": "elasticsearch-engine"}
if ENGINE not in ENGINE_DIRS:
    raise pytest.UsageError(f"LOGALERT_TEST_ENGINE={ENGINE!r}: use opensearch or elasticsearch")
ENGINE_PORTS = {"opensearch": {"2": "9250", "3": "9254"},
                "elasticsearch": {"9": "9260", "8": "9264", "7": "9266"}}[ENGINE]
ENGINE_VERSION = os.environ.get("LOGALERT_TEST_ENGINE_VERSION", "").strip() or next(iter(ENGINE_PORTS))
if ENGINE_VERSION not in ENGINE_PORTS:
    raise pytest.UsageError(f"LOGALERT_TEST_ENGINE_VERSION={ENGINE_VERSION!r} for {ENGINE}: use "
                            + " or ".join(ENGINE_PORTS))
ENGINE_SH = ROOT / "tools" / ENGINE_DIRS[ENGINE] / "engine.sh"
DEFAULT_PORT = ENGINE_PORTS[ENGINE_VERSION]
HERE = Path(__file__).resolve().parent
# First start builds the engine and may resolve ~80 MB of jars from Maven Central.
ENGINE_UP_TIMEOUT_S = 900


def pytest_configure(config):
    config.addinivalue_line("markers", "integration: needs a real search engine (OpenSearch/Elasticsearch)")


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(getattr(item, "path", None) or item.fspath)).resolve()
        if HERE == path or HERE in path.parents:
            item.add_marker(pytest.mark.integration)


def _engine_env(port: str) -> dict[str, str]:
    env = dict(os.environ)
    env["LOGALERT_ENGINE_PORT"] = port
    env["LOGALERT_ENGINE_VERSION"] = ENGINE_VERSION
    return env


def _run_engine_sh(command: str, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["bash", str(ENGINE_SH), command],
        env=env,
        cwd=str(ROOT),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _wait_for_external(url: str, timeout_s: float = 60.0) -> None:
    client = make_client(url, max_retries=0)
    deadline = time.monotonic() + timeout_s
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            health = client.cluster.health(request_timeout=10)
            if health.get("status") in ("yellow", "green"):
                return
            last_error = RuntimeError(f"cluster health is {health.get('status')}")
        except Exception as exc:  # connection refused while it starts, etc.
            last_error = exc
        time.sleep(1)
    pytest.fail(f"LOGALERT_TEST_ES_URL={url} is not a usable engine after {timeout_s:.0f}s: {last_error}", pytrace=False)


@pytest.fixture(scope="session")
def engine_url():
    """Base URL of a running engine (no trailing slash)."""
    external = os.environ.get("LOGALERT_TEST_ES_URL", "").strip()
    if external:
        url = external.rstrip("/")
        _wait_for_external(url)
        yield url
        return

    port = os.environ.get("LOGALERT_TEST_ENGINE_PORT", DEFAULT_PORT).strip() or DEFAULT_PORT
    env = _engine_env(port)
    already_running = _run_engine_sh("status", env, timeout=30).returncode == 0
    try:
        up = _run_engine_sh("up", env, timeout=ENGINE_UP_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:
        logs = _run_engine_sh("logs", env, timeout=30)
        pytest.fail(
            f"engine.sh up did not finish within {exc.timeout}s\n{exc.stdout or ''}{exc.stderr or ''}\n{logs.stdout}",
            pytrace=False,
        )
    if up.returncode != 0:
        pytest.fail(
            f"could not start the search engine: engine.sh up (port {port}) exited {up.returncode}\n"
            f"{up.stdout}{up.stderr}",
            pytrace=False,
        )
    started_here = not already_running
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        if started_here:
            down = _run_engine_sh("down", env, timeout=60)
            if down.returncode != 0:
                sys.stderr.write(f"engine.sh down failed ({down.returncode}):\n{down.stdout}{down.stderr}\n")


@pytest.fixture(scope="session")
def engine(engine_url):
    """An ``opensearchpy.OpenSearch`` client for the engine."""
    client = make_client(engine_url)
    yield client
    client.close()


@pytest.fixture
def fresh_index(engine):
    """A unique index prefix such as ``logstash-t1a2b3c4``.

    Daily indices built from it (``daily_index(prefix, dt)``) match both
    ``logstash-*`` and ``{prefix}-*``. The indices and the index templates
    whose names start with the prefix are deleted afterwards.
    """
    prefix = f"logstash-t{uuid.uuid4().hex[:8]}"
    yield prefix
    delete_indices(engine, f"{prefix}*")
    delete_index_templates(engine, f"{prefix}*")
