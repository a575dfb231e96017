"""The notifiers' ``*_proxy`` options through a real forward proxy on 127.0.0.1: the
notification reaches the receiver, and it went through the proxy (the proxy relayed
it), not straight to the receiver. No search engine is involved."""

from __future__ import annotations

import textwrap

import pytest

from logalert.errors import DeliveryError
from tests.integration.notify.conftest import alert_for
from tests.support.forwardproxy import ForwardProxy
from tests.support.notifiers import notifier
from tests.support.receivers import WebhookReceiver
from tests.unit.conftest import config, make_rule  # noqa: F401 - fixtures

DOC = {"@timestamp": "2026-03-01T10:00:00Z", "message": "payment failed", "level": "ERROR"}
PROXY_PASSWORD = "proxy-pw-3b1f0e7a"


@pytest.fixture
def receiver():
    with WebhookReceiver() as hook:
        yield hook


@pytest.fixture
def proxy():
    with ForwardProxy() as forward:
        yield forward


def test_http_post_proxy_relays_the_post(make_rule, receiver, proxy):
    rule = make_rule(textwrap.dedent(f"""\
        name: r
        type: any
        index: logs-*
        alert: post
        http_post_url: "{receiver.url}/hook/abc123def456"
        http_post_proxy: "{proxy.url}"
        """))
    notifier(rule).send(alert_for(rule, DOC))
    (got,) = receiver.delivered
    assert got.path == "/hook/abc123def456" and got.body["message"] == "payment failed"
    assert [(r.method, r.target, r.status) for r in proxy.relayed] == [
        ("POST", f"{receiver.url}/hook/abc123def456", 200)]


def test_slack_proxy_relays_the_message(make_rule, receiver, proxy):
    rule = make_rule(textwrap.dedent(f"""\
        name: r
        type: any
        index: logs-*
        alert: slack
        slack_webhook_url: "{receiver.url}/services/T1/B1/XYZ"
        slack_proxy: "{proxy.url}"
        """))
    notifier(rule).send(alert_for(rule, DOC))
    assert len(receiver.delivered) == 1
    assert [(r.method, r.target) for r in proxy.relayed] == [("POST", f"{receiver.url}/services/T1/B1/XYZ")]


def test_a_proxy_refusing_our_login_fails_without_printing_the_url_or_password(make_rule, receiver):
    with ForwardProxy(login=("alerts", PROXY_PASSWORD)) as proxy:
        rule = make_rule(textwrap.dedent(f"""\
            name: r
            type: any
            index: logs-*
            alert: post
            http_post_url: "{receiver.url}/hook/abc123def456"
            http_post_proxy: "http://alerts:wrong-{PROXY_PASSWORD}@127.0.0.1:{proxy.port}"
            """))
        with pytest.raises(DeliveryError) as failed:
            notifier(rule).send(alert_for(rule, DOC))
    assert "407" in str(failed.value)
    assert "abc123def456" not in str(failed.value) and PROXY_PASSWORD not in str(failed.value)
    assert receiver.requests == []
