"""The daemon with a wrong password behind the TLS proxy: each retry logs one line
``401 from https://HOST:PORT/: check es_username/es_password`` (no password), the process
keeps running, and once the password file is fixed the alert for the documents that
were waiting arrives at a real webhook receiver — nothing lost, no restart."""

from __future__ import annotations

import re
import time

import pytest

from tests.integration.helpers import start_daemon, stop_daemon, wait_log, write_config, write_yaml
from tests.support.receivers import WebhookReceiver

from .conftest import AUTH, PASSWORD, USER, WRONG, assert_no_secret

pytestmark = pytest.mark.matrix


def test_a_wrong_password_file_is_retried_and_fixing_it_delivers_the_alert(tmp_path, ca, tls_proxy, errors_index):
    proxy = tls_proxy(AUTH["basic"][0])
    secret_file = tmp_path / "es_password"
    secret_file.write_text(WRONG["es_password"] + "\n")
    write_config(tmp_path, f"https://127.0.0.1:{proxy.port}", use_ssl=True, ca_certs=ca.cert,
                 es_username=USER, es_password_file=str(secret_file))
    with WebhookReceiver() as hook:
        write_yaml(tmp_path / "rules" / "errors.yaml", {
            "name": "payment errors", "type": "any", "index": errors_index, "realert": {"minutes": 0},
            "filter": [{"query": {"query_string": {"query": "level:ERROR"}}}],
            "alert": ["post"], "http_post_url": f"{hook.url}/alerts/8f14e45fceea167a"})
        proc = start_daemon(tmp_path)
        try:
            refused = f"401 from https://127.0.0.1:{proxy.port}/: check es_username/es_password"
            wait_log(tmp_path, refused, count=3)
            assert proc.poll() is None, "the daemon exited on a 401"
            assert hook.requests == []
            secret_file.write_text(PASSWORD + "\n")
            deadline = time.monotonic() + 60
            while len(hook.delivered) < 3 and time.monotonic() < deadline:
                time.sleep(0.2)
            log = (tmp_path / "daemon.log").read_text()
            assert sorted(r.body["message"] for r in hook.delivered) == [f"payment failed {i}" for i in range(3)], log
        finally:
            code = stop_daemon(proc)
    assert code == 0
    log = (tmp_path / "daemon.log").read_text()
    assert_no_secret(log)
    assert "Traceback" not in log
    # Every line about the refusal is that one line (after the logger's prefix), nothing more.
    lines = [line for line in log.splitlines() if "401" in line]
    assert lines and all(re.search(re.escape(refused) + r"$", line) for line in lines), "\n".join(lines)
