"""``post2`` against a real HTTP receiver on 127.0.0.1: templated payload and headers as
ElastAlert2's HTTP POST 2 documents them, log lines that would break hand-made JSON, retry
classification, the URL kept out of errors, and template errors named by ``validate``."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from logalert.errors import DeliveryError
from tests.support.receivers import Behaviour

from .conftest import alert_for, notifier

ROOT = Path(__file__).resolve().parents[3]
TOKEN = "p2-secret-77aa10"
LINE = 'user "bob" said: \\o/\r\nnext\tline {{ not a template }} ü'
DOC = {"@timestamp": "2026-03-01T10:00:00Z", "clientip": "10.1.2.3", "type": "auth",
       "user": {"name": "bob"}, "client.ip": "192.0.2.7", "message": LINE, "status": 500}


def _rule(make_rule, receiver, extra: str):
    return make_rule(textwrap.dedent(f"""\
        name: auth failures
        type: any
        index: logs-*
        alert: post2
        http_post2_url: {receiver.url}/hooks/{TOKEN}
        """) + textwrap.dedent(extra))


def test_documented_mapping_example_with_raw_fields_and_templated_headers(make_rule, receiver):
    rule = _rule(make_rule, receiver, """\
        http_post2_payload:
          description: "An event came from IP {{clientip}}"
          username: "{{user.name}}"
          line: '{{ message }}'
          quoted: 'hello {{ _data["user"]["name"] }}'
        http_post2_raw_fields:
          ip: clientip
          status: status
        http_post2_headers:
          authorization: Basic 123dr3234
          X-custom-type: '{{type}}'
        """)
    notifier(rule).send(alert_for(rule, DOC))
    (got,) = receiver.requests
    assert (got.method, got.path) == ("POST", f"/hooks/{TOKEN}")
    assert got.header("authorization") == "Basic 123dr3234"
    assert got.header("x-custom-type") == "auth"
    assert got.header("content-type") == "application/json"
    assert got.body == {"description": "An event came from IP 10.1.2.3", "username": "bob", "line": LINE,
                        "quoted": "hello bob", "ip": "10.1.2.3", "status": 500}


def test_documented_json_text_example_survives_quotes_and_newlines_in_the_log_line(make_rule, receiver):
    rule = _rule(make_rule, receiver, """\
        jinja_root_name: _new_root
        http_post2_payload: |
          {
            "description": "An event came from IP {{ _new_root["client.ip"] }}",
            "username": "{{ _new_root['user']['name'] }}",
            "line": "{{ message }}",
            "status": {{ status }}
          }
        http_post2_headers: |
          {
            "authorization": "Basic 123dr3234",
            "X-custom-{{ type }}": "{{ clientip }}"
          }
        """)
    notifier(rule).send(alert_for(rule, DOC))
    (got,) = receiver.requests
    assert got.body == {"description": "An event came from IP 192.0.2.7", "username": "bob", "line": LINE,
                        "status": 500}
    assert got.header("x-custom-auth") == "10.1.2.3"
    assert got.header("authorization") == "Basic 123dr3234"


def test_without_payload_every_field_of_the_first_match_is_sent(make_rule, receiver):
    rule = _rule(make_rule, receiver, "")
    notifier(rule).send(alert_for(rule, DOC, {"other": 1}))
    assert receiver.requests[0].body == DOC


def test_a_log_line_cannot_inject_a_header(make_rule, receiver):
    rule = _rule(make_rule, receiver, "http_post2_headers: {X-Line: '{{ message }}'}\n")
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is False
    assert "X-Line contains a line break" in str(info.value)
    assert receiver.requests == []


@pytest.mark.parametrize("status, retryable", [(503, True), (400, False)])
def test_failures_are_classified_and_never_show_the_url(make_rule, receiver, status, retryable):
    receiver.default = Behaviour(status, body={"error": f"no hook {receiver.url}/hooks/{TOKEN}"})
    rule = _rule(make_rule, receiver, "http_post2_payload: {a: '{{ type }}'}\n")
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert info.value.retryable is retryable
    assert TOKEN not in str(info.value)
    assert str(info.value) == f'HTTP POST 2 answered HTTP {status}: {{"error": "no hook <secret>"}}'


def test_429_is_retryable_after_the_time_the_service_asks_for(make_rule, receiver):
    receiver.default = Behaviour(429, headers={"Retry-After": "12"})
    rule = _rule(make_rule, receiver, "")
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule, DOC))
    assert (info.value.retryable, info.value.retry_after) == (True, 12.0)


def test_validate_names_the_file_and_line_of_a_broken_template(tmp_path):
    rule = tmp_path / "broken.yaml"
    rule.write_text(textwrap.dedent("""\
        name: broken
        type: any
        index: logs-*
        alert: post2
        http_post2_url: http://127.0.0.1:9/x
        http_post2_headers:
          X-Ok: fine
        http_post2_payload:
          description: "{{ clientip "
        """))
    done = subprocess.run([sys.executable, "-m", "logalert", "validate", str(rule)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert f"{rule}:8: http_post2_payload: Jinja template error (value of 'description'): " \
           "unexpected end of template" in done.stdout + done.stderr
