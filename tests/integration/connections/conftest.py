"""The connection matrix: the embedded engine behind a real TLS proxy on 127.0.0.1
(tests/support/tlsproxy.py) with a test CA made for this session, reached through
``logalert test-rule``, ``logalert validate --engine`` and the daemon.

Cases marked ``matrix`` (every auth method through every command, the daemon runs) are
slow and run only with LOGALERT_TEST_MATRIX=1 (``make test-matrix``); the others run in
plain ``make test``."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.integration.helpers import logalert, write_yaml
from tests.support.efk import bulk_load, efk_doc
from tests.support.tlsproxy import Checks, TestCA, TlsProxy

MATRIX = os.environ.get("LOGALERT_TEST_MATRIX", "").strip() == "1"

# Credentials the proxy accepts; none of them may ever be printed.
USER, PASSWORD = "logalert", "pw-7Hq2-correct-horse"
API_KEY = "bG9nYWxlcnQ6a2V5LTlmM2MtdmFsaWQ="
BEARER = "bearer-tok-41d8cd98f00b204e"
WRONG = {"es_password": "pw-wrong-battery-staple", "es_api_key": "bG9nYWxlcnQ6a2V5LXdyb25nLXh4eA==",
         "es_bearer": "bearer-tok-wrong-0badc0de"}
SECRETS = (PASSWORD, API_KEY, BEARER, *WRONG.values())

# Each auth method: the proxy's check and the options that pass it.
AUTH: dict[str, tuple[Checks, dict[str, Any]]] = {
    "basic": (Checks(basic=(USER, PASSWORD)), {"es_username": USER, "es_password": PASSWORD}),
    "api_key": (Checks(api_key=API_KEY), {"es_api_key": API_KEY}),
    "bearer": (Checks(bearer=BEARER), {"es_bearer": BEARER}),
}
# The option a 401 names for each.
HINT = {"basic": "es_username/es_password", "api_key": "es_api_key", "bearer": "es_bearer"}


def pytest_collection_modifyitems(config, items):
    skip = pytest.mark.skip(reason="slow connection matrix case: set LOGALERT_TEST_MATRIX=1 (make test-matrix)")
    for item in items:
        if "matrix" in item.keywords and not MATRIX:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def ca(tmp_path_factory) -> TestCA:
    return TestCA(tmp_path_factory.mktemp("ca"))


@pytest.fixture
def tls_proxy(engine_url, ca) -> Iterator[Any]:
    """``tls_proxy(checks)``: a started proxy in front of the engine, closed afterwards."""
    started: list[TlsProxy] = []

    def make(checks: Checks | None = None, *, tls: bool = True) -> TlsProxy:
        proxy = TlsProxy(engine_url, ca, checks or Checks(), tls=tls).start()
        started.append(proxy)
        return proxy

    yield make
    for proxy in started:
        proxy.close()


@pytest.fixture
def errors_index(engine, fresh_index) -> str:
    """Three ERROR documents in the last minutes; the rule's index pattern."""
    now = dt.datetime.now(dt.timezone.utc)
    bulk_load(engine, None, [efk_doc(now - dt.timedelta(minutes=2 + i), "ERROR", f"payment failed {i}")
                             for i in range(3)], prefix=fresh_index)
    return f"{fresh_index}-*"


def via(proxy: TlsProxy, ca: TestCA | None = None, **extra: Any) -> dict[str, Any]:
    """Connection options reaching the engine through ``proxy``."""
    options: dict[str, Any] = {"es_host": "127.0.0.1", "es_port": proxy.port, "use_ssl": proxy.tls}
    if ca is not None:
        options["ca_certs"] = ca.cert
    return {**options, **extra}


def write_case(folder: Path, index: str, connection: dict[str, Any]) -> tuple[Path, Path]:
    """config.yaml holding the connection options, and one rule (``rules/errors.yaml``)
    finding the ERROR documents; (config, rule)."""
    config = write_yaml(folder / "config.yaml", {**connection, "rules_folder": "rules"})
    rule = write_yaml(folder / "rules" / "errors.yaml", {
        "name": "payment errors", "type": "any", "index": index, "realert": {"minutes": 0},
        "filter": [{"query": {"query_string": {"query": "level:ERROR"}}}], "alert": ["stdout"]})
    return config, rule


def run_command(command: str, folder: Path) -> Any:
    """``test-rule`` or ``validate`` (with --engine) on the case ``write_case`` made."""
    config, rule = folder / "config.yaml", folder / "rules" / "errors.yaml"
    if command == "test-rule":
        return logalert("test-rule", "--config", str(config), str(rule), "--days", "1", cwd=folder)
    return logalert("validate", "--engine", "--config", str(config), str(folder / "rules"), cwd=folder)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, "a secret was printed"


def assert_ran(proc, command: str) -> None:
    """The command succeeded against the engine: test-rule found the case's 3 documents,
    validate passed the rule."""
    assert proc.returncode == 0, proc.stdout + proc.stderr
    if command == "test-rule":
        assert "hits:    3" in proc.stdout
    else:
        assert proc.stdout.startswith("1 rule(s) valid, 0 file(s) invalid")


def only_line(proc: Any, text: str) -> str:
    """The one line of the command's output holding ``text``: the whole message."""
    output = proc.stdout + proc.stderr
    found = [line for line in output.splitlines() if text in line]
    assert len(found) == 1, output
    return found[0]
