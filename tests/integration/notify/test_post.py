"""``post`` against a real HTTP receiver on 127.0.0.1: the request as ElastAlert2's HTTP
POST alerter documents it (method, path, headers, JSON body), retry classification, and
the URL (a secret) kept out of every error."""

from __future__ import annotations

import textwrap

import pytest

from logalert.errors import DeliveryError
from tests.support.receivers import Behaviour, free_port

from .conftest import alert_for, notifier

TOKEN = "hook-token-5f1c2e9a"
DOC = {"@timestamp": "2026-03-01T10:00:00Z", "clientip": "10.1.2.3", "host": {"name": "web-1"},
       "message": 'GET /login "500"\nstack trace'}


def _rule(make_rule, receiver, extra: str = ""):
    return make_rule(textwrap.dedent(f"""\
        name: login errors
        type: any
        index: logs-*
        alert: post
        http_post_url: "{receiver.url}/api/{TOKEN}?source=logalert"
        """) + textwrap.dedent(extra))


def test_documented_example_posts_the_mapped_fields_static_payload_and_headers(make_rule, receiver):
    rule = _rule(make_rule, receiver, """\
        http_post_payload:
          ip: clientip
          host: host.name
        http_post_static_payload:
          apikey: k3y-static-post-77
        http_post_headers:
          authorization: Basic 123dr3234
        """)
    notifier(rule).send(alert_for(rule, DOC))
    (got,) = receiver.requests
    assert (got.method, got.path) == ("POST", f"/api/{TOKEN}?source=logalert")
    assert got.header("authorization") == "Basic 123dr3234"
    assert got.header("content-type") == "application/json"
    assert got.header("accept") == "application/json;charset=utf-8"
    assert got.body == {"ip": "10.1.2.3", "host": "web-1", "apikey": "k3y-static-post-77"}


def test_without_payload_the_whole_first_match_is_posted_once_per_url(make_rule, receiver):
    rule = make_rule(f"""\
        name: r
        type: any
        index: logs-*
        alert:
          - post:
              http_post_url:
                - {receiver.url}/one
                - {receiver.url}/two
        """)
    notifier(rule).send(alert_for(rule, DOC, {"clientip": "10.9.9.9"}))
    assert [(r.path, r.body) for r in receiver.requests] == [("/one", DOC), ("/two", DOC)]


@pytest.mark.parametrize("status, retryable", [(503, True), (400, False)])
def test_failures_are_classified_and_never_show_the_url(make_rule, receiver, status, retryable):
    receiver.default = Behaviour(status, body=f"unknown hook /api/{TOKEN}")
    rule = _rule(make_rule, receiver)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is retryable
    assert TOKEN not in str(info.value)
    assert str(info.value) == f"HTTP POST answered HTTP {status}: unknown hook <secret>"


def test_429_is_retryable_after_the_time_the_service_asks_for(make_rule, receiver):
    receiver.default = Behaviour(429, headers={"Retry-After": "7"}, body="slow down")
    rule = _rule(make_rule, receiver)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert (info.value.retryable, info.value.retry_after) == (True, 7.0)


def test_an_unreachable_receiver_is_retryable_and_masked(make_rule):
    port = free_port()  # nothing listens there
    rule = make_rule(f"""\
        name: r
        type: any
        index: logs-*
        alert: post
        http_post_url: http://127.0.0.1:{port}/api/{TOKEN}
        """)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is True
    assert str(info.value).startswith("HTTP POST unreachable")
    assert TOKEN not in str(info.value)


def test_a_timeout_is_retryable_and_says_delivery_is_unknown(make_rule, receiver):
    receiver.default = Behaviour(200, delay=3)
    rule = _rule(make_rule, receiver, "http_post_timeout: 0.5\n")
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is True
    assert str(info.value) == "HTTP POST did not answer within 0.5 s (delivery unknown)"


def test_retry_after_a_partial_failure_skips_the_url_that_took_it(make_rule, receiver):
    receiver.script = [Behaviour(200), Behaviour(503)]
    rule = make_rule(f"""\
        name: r
        type: any
        index: logs-*
        alert: post
        http_post_url: ["{receiver.url}/one", "{receiver.url}/two"]
        """)
    alerter = notifier(rule)
    alert = alert_for(rule, DOC)
    with pytest.raises(DeliveryError):
        alerter.send(alert)
    alerter.send(alert)
    assert [r.path for r in receiver.delivered] == ["/one", "/two"]
    assert [r.path for r in receiver.requests] == ["/one", "/two", "/two"]
