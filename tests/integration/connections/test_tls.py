"""TLS to the cluster through a real TLS proxy: a private CA in ``ca_certs``, a missing
CA (one line naming the node and the CA problem), ``verify_certs: false``, and mutual
TLS with ``client_cert``/``client_key`` (one line when the certificate is missing)."""

from __future__ import annotations

import pytest

from tests.support.tlsproxy import Checks

from .conftest import assert_ran, only_line, run_command, via, write_case


@pytest.mark.parametrize("command", [
    pytest.param("test-rule"), pytest.param("validate", marks=pytest.mark.matrix)])
def test_a_private_ca_in_ca_certs_verifies_the_cluster(tmp_path, ca, tls_proxy, errors_index, command):
    proxy = tls_proxy()
    write_case(tmp_path, errors_index, via(proxy, ca))
    assert_ran(run_command(command, tmp_path), command)
    assert proxy.forwarded(), "the requests went around the proxy"
    assert proxy.handshake_failures == []


@pytest.mark.parametrize("command", [
    pytest.param("validate"), pytest.param("test-rule", marks=pytest.mark.matrix)])
def test_without_the_ca_one_line_names_the_node_and_the_ca_problem(tmp_path, tls_proxy, errors_index, command):
    proxy = tls_proxy()
    write_case(tmp_path, errors_index, via(proxy, verify_certs=True))
    proc = run_command(command, tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = only_line(proc, "cannot verify")
    assert f"cannot verify the TLS certificate of https://127.0.0.1:{proxy.port}: unable to get local issuer " \
           "certificate; set ca_certs to the CA that signed it (or verify_certs: false)" in line
    assert "Traceback" not in proc.stderr
    assert proxy.forwarded() == []


def test_a_ca_certs_file_of_another_ca_is_named(tmp_path, tls_proxy, errors_index):
    from tests.support.tlsproxy import TestCA

    other = TestCA(tmp_path / "other-ca", name="some other CA")
    proxy = tls_proxy()
    write_case(tmp_path, errors_index, via(proxy, other))
    proc = run_command("validate", tmp_path)
    assert proc.returncode == 2
    line = only_line(proc, "cannot verify")
    assert f"ca_certs ({other.cert}) does not hold the CA that signed it" in line


def test_verify_certs_false_connects_and_warns_once(tmp_path, tls_proxy, errors_index):
    proxy = tls_proxy()
    write_case(tmp_path, errors_index, via(proxy, verify_certs=False))
    proc = run_command("test-rule", tmp_path)
    assert_ran(proc, "test-rule")
    warning = only_line(proc, "verify_certs is false")
    assert f"the TLS certificate of https://127.0.0.1:{proxy.port} is not checked" in warning
    assert "InsecureRequestWarning" not in proc.stderr


@pytest.mark.parametrize("command", [
    pytest.param("test-rule"), pytest.param("validate", marks=pytest.mark.matrix)])
def test_mutual_tls_with_client_cert_and_key(tmp_path, ca, tls_proxy, errors_index, command):
    proxy = tls_proxy(Checks(client_cert=True))
    write_case(tmp_path, errors_index, via(proxy, ca, client_cert=ca.client_cert, client_key=ca.client_key))
    assert_ran(run_command(command, tmp_path), command)
    assert proxy.forwarded()


@pytest.mark.parametrize("command", [
    pytest.param("validate"), pytest.param("test-rule", marks=pytest.mark.matrix)])
def test_a_demanded_client_certificate_that_is_missing_is_one_clear_line(tmp_path, ca, tls_proxy, errors_index,
                                                                        command):
    proxy = tls_proxy(Checks(client_cert=True))
    write_case(tmp_path, errors_index, via(proxy, ca))
    proc = run_command(command, tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = only_line(proc, "client certificate")
    assert f"https://127.0.0.1:{proxy.port}" in line and "set client_cert and client_key" in line
    assert proxy.forwarded() == []


def test_plain_http_to_a_tls_port_says_use_ssl(tmp_path, ca, tls_proxy, errors_index):
    proxy = tls_proxy()
    write_case(tmp_path, errors_index, via(proxy, use_ssl=False))
    proc = run_command("validate", tmp_path)
    assert proc.returncode == 2
    assert f"http://127.0.0.1:{proxy.port}: the server reset the connection" in only_line(proc, "use_ssl: true?")
