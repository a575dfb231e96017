"""Credentials and URL prefixes through the TLS proxy: basic auth, ``es_api_key``
(``Authorization: ApiKey``), ``es_bearer`` (``Authorization: Bearer``), ``es_url_prefix``;
a wrong credential is exactly one line ``401 from https://HOST:PORT/…: check OPTION``, and
no credential is ever printed."""

from __future__ import annotations

import pytest

from tests.support.tlsproxy import Checks

from .conftest import assert_ran, AUTH, HINT, WRONG, assert_no_secret, only_line, run_command, via, write_case

COMMANDS = ("test-rule", "validate")
# Plain `make test` runs each method through one command; the matrix runs every pair.
FAST = {"basic": "test-rule", "api_key": "validate", "bearer": "test-rule"}
PAIRS = [pytest.param(method, command, marks=() if FAST[method] == command else pytest.mark.matrix)
         for method in AUTH for command in COMMANDS]


@pytest.mark.parametrize("method, command", PAIRS)
def test_each_auth_method_reaches_the_engine(tmp_path, ca, tls_proxy, errors_index, method, command):
    checks, options = AUTH[method]
    proxy = tls_proxy(checks)
    write_case(tmp_path, errors_index, via(proxy, ca, **options))
    proc = run_command(command, tmp_path)
    assert_ran(proc, command)
    assert proxy.refused() == [], "a request went without the credential"
    assert {seen.authorization for seen in proxy.forwarded()} == {
        {"basic": "Basic", "api_key": "ApiKey", "bearer": "Bearer"}[method]}
    assert_no_secret(proc.stdout, proc.stderr)


@pytest.mark.parametrize("method, command", PAIRS)
def test_a_wrong_credential_is_one_401_line_naming_the_option(tmp_path, ca, tls_proxy, errors_index, method,
                                                              command):
    checks, options = AUTH[method]
    proxy = tls_proxy(checks)
    wrong = {**options, **{k: v for k, v in WRONG.items() if k in options}}
    write_case(tmp_path, errors_index, via(proxy, ca, **wrong))
    proc = run_command(command, tmp_path)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    line = only_line(proc, "401")
    assert line.endswith(f"401 from https://127.0.0.1:{proxy.port}/: check {HINT[method]}")
    assert "Traceback" not in proc.stderr
    assert proxy.forwarded() == []
    assert_no_secret(proc.stdout, proc.stderr)


def test_no_credential_for_a_cluster_that_wants_one_lists_the_options(tmp_path, ca, tls_proxy, errors_index):
    proxy = tls_proxy(AUTH["basic"][0])
    write_case(tmp_path, errors_index, via(proxy, ca))
    proc = run_command("validate", tmp_path)
    assert proc.returncode == 2
    assert only_line(proc, "401").endswith(f"401 from https://127.0.0.1:{proxy.port}/: the cluster asks for "
                                           "credentials: set es_username/es_password, es_api_key or es_bearer")


def test_an_api_key_wins_over_a_bearer_token_and_a_password(tmp_path, ca, tls_proxy, errors_index):
    """ElastAlert2's precedence: es_api_key, then es_bearer, then es_username/es_password."""
    proxy = tls_proxy(Checks(api_key=AUTH["api_key"][1]["es_api_key"]))
    options = {**AUTH["basic"][1], **AUTH["bearer"][1], **AUTH["api_key"][1]}
    write_case(tmp_path, errors_index, via(proxy, ca, **options))
    assert_ran(run_command("validate", tmp_path), "validate")
    assert {seen.authorization for seen in proxy.forwarded()} == {"ApiKey"}


@pytest.mark.parametrize("prefix", [pytest.param("search"), pytest.param("/es/v1/", marks=pytest.mark.matrix)])
def test_es_url_prefix_reaches_the_engine_behind_an_ingress_path(tmp_path, ca, tls_proxy, errors_index, prefix):
    proxy = tls_proxy(Checks(prefix=prefix, bearer=AUTH["bearer"][1]["es_bearer"]))
    write_case(tmp_path, errors_index, via(proxy, ca, es_url_prefix=prefix, **AUTH["bearer"][1]))
    proc = run_command("test-rule", tmp_path)
    assert_ran(proc, "test-rule")
    head = "/" + prefix.strip("/")
    assert all(seen.path.startswith(head + "/") for seen in proxy.seen), [s.path for s in proxy.seen]
    assert any("_search" in (seen.forwarded or "") or "_msearch" in (seen.forwarded or "")
               for seen in proxy.forwarded())
    assert f"engine:  https://127.0.0.1:{proxy.port}{head}" in proc.stdout


def test_a_missing_prefix_says_which_path_answered(tmp_path, ca, tls_proxy, errors_index):
    proxy = tls_proxy(Checks(prefix="search"))
    write_case(tmp_path, errors_index, via(proxy, ca))
    proc = run_command("validate", tmp_path)
    assert proc.returncode == 2
    assert f"GET / on https://127.0.0.1:{proxy.port} answered HTTP 404" in only_line(proc, "404")
