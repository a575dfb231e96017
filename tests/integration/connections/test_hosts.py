"""``es_hosts`` (ElastAlert2: the cluster's nodes, es_host the primary): when the first
nodes are down the next one answers, at connect time and after it."""

from __future__ import annotations

import pytest

from logalert.engine import EngineError, connect
from tests.support.tlsproxy import closed_port

from .conftest import AUTH, only_line, run_command, via, write_case


@pytest.mark.parametrize("command", [pytest.param("test-rule"), pytest.param("validate", marks=pytest.mark.matrix)])
def test_the_rule_runs_on_the_first_node_that_answers(tmp_path, ca, tls_proxy, errors_index, command):
    proxy = tls_proxy(AUTH["bearer"][0])
    down, also_down = closed_port(), closed_port()
    write_case(tmp_path, errors_index, via(proxy, ca, es_port=down, **AUTH["bearer"][1],
                                           es_hosts=[f"127.0.0.1:{also_down}", f"127.0.0.1:{proxy.port}"]))
    proc = run_command(command, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proxy.forwarded()
    if command == "test-rule":
        assert "hits:    3" in proc.stdout
        assert f"engine:  https://127.0.0.1:{down} (+2 more in es_hosts)" in proc.stdout


def test_hosts_from_the_environment_as_one_comma_separated_value(tmp_path, ca, tls_proxy, errors_index):
    from tests.integration.helpers import logalert

    proxy = tls_proxy()
    write_case(tmp_path, errors_index, via(proxy, ca, es_port=closed_port()))
    proc = logalert("validate", "--engine", "--config", str(tmp_path / "config.yaml"), str(tmp_path / "rules"),
                    cwd=tmp_path, env={"LOGALERT_ES_HOSTS": f"127.0.0.1:{closed_port()}, 127.0.0.1:{proxy.port}"})
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_node_answering_is_one_line_listing_each(tmp_path, ca, tls_proxy, errors_index):
    first, second = closed_port(), closed_port()
    write_case(tmp_path, errors_index, {"es_host": "127.0.0.1", "es_port": first, "use_ssl": True,
                                        "ca_certs": ca.cert, "es_hosts": [f"127.0.0.1:{second}"]})
    proc = run_command("validate", tmp_path)
    assert proc.returncode == 2
    assert only_line(proc, "cannot reach").endswith(
        f"cannot reach the search engine at any of 2 nodes: https://127.0.0.1:{first}: Connection refused; "
        f"https://127.0.0.1:{second}: Connection refused")


def test_a_node_going_down_after_connect_is_skipped(engine_url, errors_index, tls_proxy):
    """The client holds every node: once the one it used is gone, the next request goes
    to another (a connection error is retried on the next node; nothing else is)."""
    first, second = tls_proxy(tls=False), tls_proxy(tls=False)
    backend = connect({"es_host": "127.0.0.1", "es_port": first.port, "es_hosts": [f"127.0.0.1:{second.port}"]})
    try:
        body = {"query": {"query_string": {"query": "level:ERROR"}}}
        assert backend.count(errors_index, body) == 3
        first.close()
        for _ in range(3):  # round robin would come back to the dead node
            assert backend.count(errors_index, body) == 3
        assert second.forwarded()
        second.close()
        with pytest.raises(EngineError, match="cannot reach the search engine"):
            backend.count(errors_index, body)
    finally:
        backend.close()
