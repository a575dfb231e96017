"""Connection pieces without a network: the nodes es_host/es_hosts name, which credential
is sent (ElastAlert2's precedence), secret files read again on each connect, the
one-line messages for TLS and 401, and the pool dropping a backend refused its credential."""

from __future__ import annotations

import pytest

from logalert import secrets
from logalert.config import load_config
from logalert.engine import Pool, describe_target
from logalert.engine.connection import (API_KEY, BASIC, BEARER, Unauthorized, credentials, nodes, tls_problem)
from logalert.errors import ConfigError

BASE = {"es_host": "es1.example.com", "es_port": 9200}


@pytest.mark.parametrize("hosts, expected", [
    (None, [("es1.example.com", 9200)]),
    (["es2.example.com", "es3.example.com:9201"], [("es1.example.com", 9200), ("es2.example.com", 9200),
                                                   ("es3.example.com", 9201)]),
    ("es2.example.com:9300, es1.example.com", [("es1.example.com", 9200), ("es2.example.com", 9300)]),
    (["[::1]:9202", "es1.example.com:9200"], [("es1.example.com", 9200), ("::1", 9202)]),
])
def test_es_host_comes_first_then_each_other_es_hosts_entry(hosts, expected):
    assert nodes({**BASE, "es_hosts": hosts}) == expected


def test_describe_target_counts_the_extra_nodes_and_brackets_ipv6():
    assert describe_target({**BASE, "use_ssl": True, "es_url_prefix": "/es/",
                            "es_hosts": ["es2.example.com"]}) == "https://es1.example.com:9200/es (+1 more in es_hosts)"
    assert describe_target({"es_host": "::1", "es_port": 9200}) == "http://[::1]:9200"


@pytest.mark.parametrize("options, option, header", [
    ({"es_username": "u", "es_password": "p", "es_bearer": "b", "es_api_key": "k"}, API_KEY, "ApiKey k"),
    ({"es_username": "u", "es_password": "p", "es_bearer": "b"}, BEARER, "Bearer b"),
    ({"es_username": "u", "es_password": "p"}, BASIC, None),
    ({}, "", None),
])
def test_an_api_key_wins_over_a_bearer_token_which_wins_over_a_password(options, option, header):
    creds = credentials(options)
    assert (creds.option, creds.header) == (option, header)
    assert creds.basic == (("u", "p") if option == BASIC else None)


@pytest.mark.parametrize("option, target", [("es_password_file", "es_password"), ("es_api_key_file", "es_api_key")])
def test_a_secret_file_is_read_again_on_each_connect(tmp_path, option, target):
    secret = tmp_path / "secret"
    secret.write_text("first-secret-value-1\n")
    (tmp_path / "config.yaml").write_text(f"es_username: u\n{option}: {secret}\n")
    cfg = load_config(str(tmp_path / "config.yaml"), environ={})
    assert cfg[target] == "first-secret-value-1"
    secret.write_text("second-secret-value-2\n")
    creds = credentials(cfg.options)
    sent = creds.basic[1] if creds.basic else (creds.header or "").split(" ", 1)[1]
    assert sent == "second-secret-value-2"
    assert secrets.mask("x second-secret-value-2 y") == "x <secret> y"


def test_a_secret_file_that_went_away_keeps_the_value_read_at_start(tmp_path):
    secret = tmp_path / "secret"
    secret.write_text("kept-secret-value-3")
    (tmp_path / "config.yaml").write_text(f"es_username: u\nes_password_file: {secret}\n")
    cfg = load_config(str(tmp_path / "config.yaml"), environ={})
    secret.unlink()
    assert credentials(cfg.options).basic == ("u", "kept-secret-value-3")


@pytest.mark.parametrize("value", [["es2:92x"], "a b", ["http://es2:9200"], []])
def test_es_hosts_that_are_not_host_or_host_port_are_refused_at_load(tmp_path, value):
    import yaml

    (tmp_path / "config.yaml").write_text(yaml.safe_dump({"es_hosts": value}))
    with pytest.raises(ConfigError, match="es_hosts: must be a list of host or host:port"):
        load_config(str(tmp_path / "config.yaml"), environ={})


def test_es_bearer_is_a_declared_secret():
    from logalert import options

    assert options.BY_NAME["es_bearer"].secret and "es_bearer" not in options.FOREIGN_SECRETS
    assert secrets.is_secret("es_bearer")


URL = "https://es.example.com:9200"
VERIFY = ("HTTPSConnectionPool(host='es.example.com', port=9200): Max retries exceeded with url: / (Caused by "
          "SSLError(SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: "
          "unable to get local issuer certificate (_ssl.c:1006)')))")


@pytest.mark.parametrize("text, options, expected", [
    (VERIFY, {}, f"cannot verify the TLS certificate of {URL}: unable to get local issuer certificate; set ca_certs "
                 "to the CA that signed it (or verify_certs: false)"),
    (VERIFY, {"ca_certs": "/etc/ca.pem"}, f"cannot verify the TLS certificate of {URL}: unable to get local issuer "
                                          "certificate; ca_certs (/etc/ca.pem) does not hold the CA that signed it"),
    ("[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] tlsv13 alert certificate required (_ssl.c:2580)", {},
     f"{URL} asks for a client certificate: set client_cert and client_key"),
    ("SSLEOFError(8, 'EOF occurred in violation of protocol (_ssl.c:2427)')", {},
     f"{URL} closed the connection during the TLS handshake, as a server that requires a client certificate "
     "does: set client_cert and client_key"),
    ("[SSL: WRONG_VERSION_NUMBER] wrong version number (_ssl.c:1006)", {},
     f"{URL} does not speak TLS: set use_ssl: false, or check es_port"),
])
def test_tls_problems_are_one_line_naming_the_node_and_the_fix(text, options, expected):
    assert tls_problem(URL, options, Exception(text)) == expected


@pytest.mark.parametrize("option, hint", [
    (BASIC, "check es_username/es_password"), (API_KEY, "check es_api_key"), (BEARER, "check es_bearer"),
    ("", "the cluster asks for credentials: set es_username/es_password, es_api_key or es_bearer")])
def test_a_401_names_the_node_the_path_and_the_option(option, hint):
    error = Unauthorized(URL, "/_msearch", option)
    assert str(error) == f"401 from {URL}/_msearch: {hint}"
    assert error.unreachable and error.status == 401


def test_the_pool_connects_again_after_a_backend_was_refused_its_credential(monkeypatch):
    import logalert.engine as engine

    class Backend:
        stale = False
        closed = False

        def close(self):
            self.closed = True

    made: list[Backend] = []
    monkeypatch.setattr(engine, "connect", lambda options: made.append(Backend()) or made[-1])
    now = [0.0]
    pool = Pool(clock=lambda: now[0])
    first = pool.get(("k", ["a", "b"]), {})
    assert pool.get(("k", ["a", "b"]), {}) is first
    first.stale = True
    second = pool.get(("k", ["a", "b"]), {})
    assert second is not first and len(made) == 2
    # Another rule's run may still be in a request on the old one: it stays open a while.
    assert not first.closed
    now[0] = Pool.RETIRE_AFTER - 1
    assert pool.get(("k", ["a", "b"]), {}) is second and not first.closed
    now[0] = Pool.RETIRE_AFTER
    assert pool.get(("k", ["a", "b"]), {}) is second and first.closed and not second.closed
    pool.close()
    assert second.closed


def test_a_backend_that_lost_a_connect_race_is_closed_and_the_first_one_shared(monkeypatch):
    import threading

    import logalert.engine as engine

    class Backend:
        closed = False

        def close(self):
            self.closed = True

    made: list[Backend] = []
    both_in = threading.Barrier(2)

    def connect(options):
        both_in.wait(5)  # both threads connect before either stores its backend
        made.append(Backend())
        return made[-1]

    monkeypatch.setattr(engine, "connect", connect)
    pool = Pool()
    got: list[Backend] = []
    threads = [threading.Thread(target=lambda: got.append(pool.get(("k",), {}))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(made) == 2 and got[0] is got[1]
    assert [b.closed for b in made].count(True) == 1 and not got[0].closed
