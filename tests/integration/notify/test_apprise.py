"""The Apprise notifier against a real HTTP receiver on 127.0.0.1: what Apprise's json://
and form:// services send, tag selection, failures (503, 404, refused connection,
timeout), partial delivery, load-time rejection of a URL Apprise cannot parse, and the
URLs' secrets masked in describe(), errors and Apprise's own log lines."""

from __future__ import annotations

import logging
import os
import time
from urllib.parse import parse_qs

import pytest

from logalert.errors import ConfigError, DeliveryError
from logalert.rules import load_rule
from tests.support.receivers import Behaviour, free_port

from .conftest import alert_for, notifier

TOKEN = "Tok3nApprise9f8e7d"
HEAD = "name: r\ntype: any\nindex: x\nalert: [apprise]\n"


def _json(receiver, path: str) -> str:
    return f"json://127.0.0.1:{receiver.port}/{path}/{TOKEN}"


def _rule(make_rule, extra: str):
    return make_rule(HEAD + extra)


def _secret_free(text: str, *urls: str) -> None:
    for url in urls:
        assert url not in text
    assert TOKEN not in text


def test_json_posts_title_message_and_type(make_rule, receiver):
    url = _json(receiver, "apprise-json")
    rule = _rule(make_rule, f"apprise_urls: {url}\napprise_notify_type: failure\n")
    notifier(rule).send(alert_for(rule, {"message": "disk full"}, subject="Disk full", body="host a: 99%"))
    (got,) = receiver.delivered
    assert (got.method, got.path) == ("POST", f"/apprise-json/{TOKEN}")
    assert got.header("Content-Type") == "application/json"
    assert got.header("User-Agent") == "Apprise"
    assert got.body == {"version": "1.0", "title": "Disk full", "message": "host a: 99%", "type": "failure",
                        "attachments": []}


def test_form_posts_the_same_fields_form_encoded(make_rule, receiver):
    url = f"form://127.0.0.1:{receiver.port}/apprise-form/{TOKEN}"
    rule = _rule(make_rule, f"apprise_urls: {url}\napprise_title: From logalert\n")
    notifier(rule).send(alert_for(rule, subject="ignored", body="the body"))
    (got,) = receiver.delivered
    assert got.path == f"/apprise-form/{TOKEN}"
    assert got.header("Content-Type").startswith("application/x-www-form-urlencoded")
    assert parse_qs(got.raw.decode()) == {"version": ["1.0"], "title": ["From logalert"], "message": ["the body"],
                                          "type": ["warning"]}


def test_an_alert_without_matches_is_sent(make_rule, receiver):
    """A pending alert retried by a later run carries no matches."""
    rule = _rule(make_rule, f"apprise_urls: {_json(receiver, 'apprise-nomatch')}\n")
    notifier(rule).send(alert_for(rule, subject="S", body="B"))
    assert receiver.delivered[0].body["message"] == "B"


def test_tags_select_the_urls_notified(make_rule, receiver):
    rule = _rule(make_rule, f"""\
apprise_urls:
  - url: {_json(receiver, 'apprise-ops')}
    tag: [ops, oncall]
  - url: {_json(receiver, 'apprise-db')}
    tag: db
  - {_json(receiver, 'apprise-untagged')}
apprise_tags: oncall
""")
    notifier(rule).send(alert_for(rule))
    assert [r.path for r in receiver.delivered] == [f"/apprise-ops/{TOKEN}"]


def test_config_file_urls_reach_the_receiver(make_rule, receiver, tmp_path):
    config = tmp_path / "apprise.yml"
    config.write_text(f"urls:\n  - {_json(receiver, 'apprise-cfg-ops')}:\n    - tag: ops\n"
                      f"  - {_json(receiver, 'apprise-cfg-db')}:\n    - tag: db\n")
    rule = _rule(make_rule, f"apprise_config: {config}\napprise_tags: [db]\n")
    notifier(rule).send(alert_for(rule))
    assert [r.path for r in receiver.delivered] == [f"/apprise-cfg-db/{TOKEN}"]


def test_503_is_a_retryable_masked_delivery_error(make_rule, receiver, caplog):
    url = _json(receiver, "apprise-503")
    receiver.default = Behaviour(503, body=f"down, try {url}")
    rule = _rule(make_rule, f"apprise_urls: {url}\n")
    alerter = notifier(rule)
    caplog.set_level(logging.WARNING)
    with pytest.raises(DeliveryError) as info:
        alerter.send(alert_for(rule))
    assert info.value.retryable is True
    message = str(info.value)
    assert message.startswith("Apprise: 1 of 1 URL not delivered: apprise_urls (JSON): "
                              "Failed to send JSON POST notification: ")
    assert message.endswith("error=503.")
    assert len(receiver.requests) == 1
    _secret_free(message, url)
    _secret_free(alerter.describe(), url)
    assert alerter.describe() == "apprise (1 URL: json://<secret>)"
    for record in caplog.records:
        _secret_free(record.getMessage(), url)


def test_404_is_not_retryable(make_rule, receiver):
    receiver.default = Behaviour(404)
    rule = _rule(make_rule, f"apprise_urls: {_json(receiver, 'apprise-404')}\n")
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule))
    assert info.value.retryable is False
    assert "error=404" in str(info.value)


def test_a_refused_connection_is_retryable_and_the_host_is_masked(make_rule, caplog):
    url = f"json://127.0.0.1:{free_port()}/apprise-closed/{TOKEN}"
    rule = _rule(make_rule, f"apprise_urls: {url}\n")
    caplog.set_level(logging.WARNING)
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule))
    assert info.value.retryable is True
    assert str(info.value) == ("Apprise: 1 of 1 URL not delivered: apprise_urls (JSON): "
                               "A Connection error occurred sending JSON notification to <secret>.")
    apprise_lines = [r.getMessage() for r in caplog.records if r.name == "apprise"]
    assert apprise_lines == ["A Connection error occurred sending JSON notification to <secret>."]


def test_a_slow_receiver_times_out_within_apprise_timeout(make_rule, receiver):
    receiver.script = [Behaviour(200, delay=3)]
    rule = _rule(make_rule, f"apprise_urls: {_json(receiver, 'apprise-slow')}\napprise_timeout: 0.5\n")
    started = time.monotonic()
    with pytest.raises(DeliveryError) as info:
        notifier(rule).send(alert_for(rule))
    assert time.monotonic() - started < 2.5
    assert info.value.retryable is True
    assert str(info.value).startswith("Apprise: 1 of 1 URL not delivered: apprise_urls (JSON): ")
    assert str(info.value).endswith("delivery unknown)")


def test_a_partial_failure_retries_only_the_failed_url(make_rule, receiver):
    failing = {"on": True}

    def respond(request):
        return Behaviour(503) if failing["on"] and "apprise-bad" in request.path else Behaviour(200)

    receiver.respond = respond
    good, bad = _json(receiver, "apprise-good"), _json(receiver, "apprise-bad")
    rule = _rule(make_rule, f"apprise_urls: [{good}, {bad}]\n")
    alerter = notifier(rule)
    with pytest.raises(DeliveryError) as info:
        alerter.send(alert_for(rule))
    assert info.value.retryable is True
    assert "1 of 2 URLs not delivered (1 delivered; a retry re-sends only to the others): apprise_urls[1]" \
        in str(info.value)
    failing["on"] = False
    alerter.send(alert_for(rule))
    assert sorted(r.path for r in receiver.delivered) == [f"/apprise-bad/{TOKEN}", f"/apprise-good/{TOKEN}"]
    assert len(receiver.requests) == 3


def test_a_url_apprise_cannot_parse_fails_loading_without_showing_it(tmp_path, config, receiver):
    secret = f"foo://{TOKEN}@hooks.example.org/apprise-foo"
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + f"apprise_urls:\n  - {_json(receiver, 'apprise-ok')}\n  - {secret}\n")
    with pytest.raises(ConfigError) as info:
        load_rule(str(path), config)
    (problem,) = info.value.problems
    assert problem.option == "apprise_urls[1]"
    assert problem.message == "Apprise cannot parse this URL (scheme 'foo://' is not one it knows)"
    assert str(problem).startswith(f"{path}:")
    _secret_free(str(info.value), secret)


@pytest.fixture
def cli_env(monkeypatch, tmp_path):
    for key in list(os.environ):
        if key.startswith("LOGALERT_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def test_validate_reports_the_url_by_position_and_never_prints_it(tmp_path, cli_env, capsys):
    from logalert.cli import main

    secret = f"foo://{TOKEN}@hooks.example.org/apprise-validate"
    path = tmp_path / "bad.yaml"
    path.write_text(HEAD + f"apprise_urls:\n  - json://hooks.example.org/apprise-v/{TOKEN}\n  - {secret}\n")
    assert main(["validate", str(path)]) == 1
    out = capsys.readouterr()
    assert out.out.splitlines()[0].endswith(
        ": apprise_urls[1]: Apprise cannot parse this URL (scheme 'foo://' is not one it knows)")
    _secret_free(out.out + out.err, secret)
