"""The Apprise notifier: URL checks at load time, what it sends (json:// through
``responses``, no network), tag selection, failure classification, partial delivery and
masking of the URLs' secrets."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import pytest
import requests
import responses

from logalert.errors import ConfigError, DeliveryError
from logalert.model import Alert
from logalert.notify.alerters.apprise import AppriseAlerter
from logalert.rules import load_rule
from tests.support.notifiers import notifier as _alerter

HOOK = "json://hooks.example.com/alerts/TOKENa1b2c3d4"
HOOK_HTTP = "http://hooks.example.com/alerts/TOKENa1b2c3d4"
OTHER = "json://other.example.com/notify/SECRETx9y8z7"
OTHER_HTTP = "http://other.example.com/notify/SECRETx9y8z7"

RULE = "name: r\ntype: any\nindex: x\nalert: [apprise]\n"


def _rule(make_rule, extra: str):
    return make_rule(RULE + extra)


def _alert(rule, alert_id="a1", subject="Error!!", body="occur error on some components!"):
    return Alert(alert_id, rule, (), subject, body)  # no matches, as when a pending alert is retried


def _problems(tmp_path, config, text: str) -> list[str]:
    path = tmp_path / "bad.yaml"
    path.write_text("name: r\ntype: any\nindex: x\nalert: apprise\n" + text)
    with pytest.raises(ConfigError) as info:
        load_rule(str(path), config)
    return [f"{p.option}: {p.message}" for p in info.value.problems]


# --- the module ---------------------------------------------------------------------------
def test_importing_the_notifier_does_not_import_apprise():
    """Rule loading imports every notifier module: the library loads in send/check only."""
    code = ("import sys, logalert.notify.alerters.apprise as m; "
            "print(any(k == 'apprise' or k.startswith('apprise.') for k in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_module_name_does_not_shadow_the_library():
    import apprise

    from logalert.notify.alerters import apprise as ours

    assert hasattr(apprise, "Apprise") and not hasattr(ours, "Apprise")
    assert ours.__name__ == "logalert.notify.alerters.apprise"


# --- loading: check() -----------------------------------------------------------------------
def test_unknown_scheme_is_rejected_without_printing_the_url(tmp_path, config):
    problems = _problems(tmp_path, config, f"apprise_urls:\n  - {HOOK}\n  - foo://tok3nhost/s3cretpath\n")
    assert problems == ["apprise_urls[1]: Apprise cannot parse this URL (scheme 'foo://' is not one it knows)"]


def test_a_known_scheme_with_bad_parts_says_what_the_plugin_said(tmp_path, config):
    problems = _problems(tmp_path, config, "apprise_urls: discord://1234567\n")
    assert problems == ["apprise_urls: Apprise cannot parse this URL "
                        "(Discord: An invalid Discord Webhook Token (None) was specified.)"]


def test_a_url_without_scheme_and_one_the_plugin_cannot_parse(tmp_path, config):
    problems = _problems(tmp_path, config, "apprise_urls:\n  - justatoken12345\n  - url: tgram://x\n    tag: ops\n")
    assert problems[0] == ("apprise_urls[0]: Apprise cannot parse this URL "
                           "(it has no scheme; an Apprise URL looks like json://host/path)")
    assert problems[1] == ("apprise_urls[1]: Apprise cannot parse this URL (a 'tgram://' URL Telegram cannot use; "
                           "see https://appriseit.com/services/telegram/)")
    assert not any("justatoken12345" in p for p in problems)


def test_a_plugin_reason_quoting_the_url_is_masked(tmp_path, config):
    problems = _problems(tmp_path, config, "apprise_urls: prowl://badkey12345\n")
    assert problems == ["apprise_urls: Apprise cannot parse this URL "
                        "(Prowl: An invalid Prowl API Key (<secret>) was specified.)"]


def test_apprise_logs_nothing_while_urls_are_checked(tmp_path, config, caplog):
    caplog.set_level(logging.DEBUG)
    _problems(tmp_path, config, "apprise_urls: foo://tok3nhost/s3cretpath\n")
    assert [r for r in caplog.records if r.name.startswith("apprise")] == []


def test_urls_or_a_config_file_are_required(tmp_path, config):
    assert _problems(tmp_path, config, "apprise_title: x\n") == [
        "apprise_urls: set apprise_urls (one Apprise URL or a list) or apprise_config"]


def test_tags_that_select_no_url_are_an_error(tmp_path, config):
    problems = _problems(tmp_path, config, f"apprise_urls:\n  - url: {HOOK}\n    tag: db\napprise_tags: ops\n")
    assert problems == ["apprise_tags: no URL of apprise_urls carries any of these tags "
                        "(tag one with {url: URL, tag: [TAGS]})"]


def test_a_malformed_url_item_is_a_schema_error_that_quotes_nothing(tmp_path, config):
    problems = _problems(tmp_path, config, f"apprise_urls:\n  - link: {HOOK}\n")
    assert problems == ["apprise_urls: must be an Apprise URL or a list of them, "
                        "each a URL or {url: URL, tag: TAG or [TAGS]}"]


def test_options_and_defaults(make_rule):
    alerter = _alerter(_rule(make_rule, f"apprise_urls: {HOOK}\n"))
    assert isinstance(alerter, AppriseAlerter)
    o = alerter.options
    assert (o["apprise_body_format"], o["apprise_notify_type"], o["apprise_timeout"]) == ("text", "warning", 10)


# --- describe and masking ----------------------------------------------------------------
def test_describe_names_schemes_tags_and_config_but_no_secret(make_rule, tmp_path):
    (tmp_path / "apprise.yml").write_text(f"urls:\n  - {OTHER}\n")
    rule = _rule(make_rule, f"apprise_urls:\n  - {HOOK}\n  - url: form://x.example.com/p/Tok3nTok3n\n    tag: ops\n"
                            f"apprise_tags: [ops, db]\napprise_config: {tmp_path / 'apprise.yml'}\n")
    assert _alerter(rule).describe() == (f"apprise (2 URLs: json://<secret>, form://<secret>; "
                                         f"config {tmp_path / 'apprise.yml'}; tags ops, db)")


def test_several_urls_in_one_string_count_separately(make_rule):
    rule = _rule(make_rule, f"apprise_urls: '{HOOK}, {OTHER}'\n")
    assert _alerter(rule).describe() == "apprise (2 URLs: json://<secret>, json://<secret>)"


# --- what is sent ------------------------------------------------------------------------
@responses.activate
def test_posts_title_message_and_type(make_rule):
    responses.post(HOOK_HTTP)
    rule = _rule(make_rule, f"apprise_urls: {HOOK}\n")
    _alerter(rule).send(_alert(rule))
    (call,) = responses.calls
    assert call.request.url == HOOK_HTTP
    assert json.loads(call.request.body) == {"version": "1.0", "title": "Error!!", "attachments": [],
                                             "message": "occur error on some components!", "type": "warning"}


@responses.activate
def test_title_type_and_body_format_options(make_rule):
    responses.post(HOOK_HTTP)
    rule = _rule(make_rule, f"apprise_urls: {HOOK}?format=html\napprise_title: Fixed\n"
                            "apprise_notify_type: failure\napprise_body_format: markdown\n")
    _alerter(rule).send(_alert(rule, body="**bold**"))
    body = json.loads(responses.calls[0].request.body)
    assert (body["title"], body["type"], body["message"]) == ("Fixed", "failure", "<p><strong>bold</strong></p>")


@responses.activate
def test_an_empty_body_sends_the_subject(make_rule):
    responses.post(HOOK_HTTP)
    rule = _rule(make_rule, f"apprise_urls: {HOOK}\n")
    _alerter(rule).send(_alert(rule, body=""))
    assert json.loads(responses.calls[0].request.body)["message"] == "Error!!"


@responses.activate
def test_tags_select_urls(make_rule):
    responses.post(HOOK_HTTP)
    responses.post(OTHER_HTTP)
    responses.post("http://always.example.com/always/Tok3nAlways")
    rule = _rule(make_rule, f"apprise_urls:\n  - url: {HOOK}\n    tag: [ops, db]\n  - url: {OTHER}\n    tag: web\n"
                            "  - url: json://always.example.com/always/Tok3nAlways\n    tag: always\n"
                            "  - json://untagged.example.com/untagged/Tok3nUntagged\n"
                            "apprise_tags: db\n")
    _alerter(rule).send(_alert(rule))
    assert sorted(c.request.url for c in responses.calls) == ["http://always.example.com/always/Tok3nAlways", HOOK_HTTP]


@responses.activate
def test_without_tags_every_url_is_notified(make_rule):
    responses.post(HOOK_HTTP)
    responses.post(OTHER_HTTP)
    rule = _rule(make_rule, f"apprise_urls:\n  - url: {HOOK}\n    tag: ops\n  - {OTHER}\n")
    _alerter(rule).send(_alert(rule))
    assert sorted(c.request.url for c in responses.calls) == [HOOK_HTTP, OTHER_HTTP]


@responses.activate
def test_config_file_urls_and_their_tags(make_rule, tmp_path):
    responses.post(OTHER_HTTP)
    path = tmp_path / "apprise.yml"
    path.write_text(f"urls:\n  - {OTHER}:\n    - tag: ops\n  - json://db.example.com/dbhook/Tok3nDb:\n    - tag: db\n")
    rule = _rule(make_rule, f"apprise_config: {path}\napprise_tags: ops\n")
    _alerter(rule).send(_alert(rule))
    assert [c.request.url for c in responses.calls] == [OTHER_HTTP]


def test_a_missing_config_file_is_not_retryable(make_rule, tmp_path):
    rule = _rule(make_rule, f"apprise_config: {tmp_path / 'nope.yml'}\n")
    with pytest.raises(DeliveryError) as info:
        _alerter(rule).send(_alert(rule))
    assert info.value.retryable is False
    assert str(info.value).startswith(f"cannot read apprise_config {tmp_path / 'nope.yml'}: ")


def test_a_config_file_without_usable_urls_is_not_retryable(make_rule, tmp_path):
    path = tmp_path / "apprise.yml"
    path.write_text("urls:\n  - foo://nothing/nothing-Tok3n\n")
    rule = _rule(make_rule, f"apprise_config: {path}\n")
    with pytest.raises(DeliveryError) as info:
        _alerter(rule).send(_alert(rule))
    assert (info.value.retryable, str(info.value)) == (False, f"apprise_config {path} holds no URL Apprise can use")


def test_tags_matching_nothing_at_send_time_are_not_retryable(make_rule, tmp_path):
    path = tmp_path / "apprise.yml"
    path.write_text(f"urls:\n  - {OTHER}:\n    - tag: web\n")
    rule = _rule(make_rule, f"apprise_config: {path}\napprise_tags: ops\n")
    with pytest.raises(DeliveryError) as info:
        _alerter(rule).send(_alert(rule))
    assert (info.value.retryable, str(info.value)) == (False, "apprise_tags ops select none of the 1 Apprise URLs")


# --- failures ---------------------------------------------------------------------------
@pytest.mark.parametrize("status, retryable", [(500, True), (503, True), (408, True), (429, True),
                                               (400, False), (401, False), (404, False)])
@responses.activate
def test_http_failures_are_classified_from_apprises_log(make_rule, status, retryable):
    responses.post(HOOK_HTTP, status=status, body=f"no such hook {HOOK_HTTP}")
    rule = _rule(make_rule, f"apprise_urls: {HOOK}\n")
    with pytest.raises(DeliveryError) as info:
        _alerter(rule).send(_alert(rule))
    assert info.value.retryable is retryable
    message = str(info.value)
    assert message.startswith("Apprise: 1 of 1 URL not delivered: apprise_urls (JSON): Failed to send JSON POST ")
    assert f"error={status}" in message
    assert "TOKENa1b2c3d4" not in message and "hooks.example.com" not in message


@responses.activate
def test_connection_errors_are_retryable_and_the_host_is_masked(make_rule, caplog):
    responses.post(HOOK_HTTP, body=requests.ConnectionError(f"cannot reach {HOOK_HTTP}"))
    rule = _rule(make_rule, f"apprise_urls: {HOOK}\n")
    caplog.set_level(logging.WARNING)
    with pytest.raises(DeliveryError) as info:
        _alerter(rule).send(_alert(rule))
    assert info.value.retryable is True
    assert str(info.value) == ("Apprise: 1 of 1 URL not delivered: apprise_urls (JSON): "
                               "A Connection error occurred sending JSON notification to <secret>.")
    logged = [r.getMessage() for r in caplog.records if r.name == "apprise"]
    assert logged == ["A Connection error occurred sending JSON notification to <secret>."]


@responses.activate
def test_only_refusals_everywhere_make_a_failure_final(make_rule):
    responses.post(HOOK_HTTP, status=404)
    responses.post(OTHER_HTTP, status=503)
    rule = _rule(make_rule, f"apprise_urls: [{HOOK}, {OTHER}]\n")
    with pytest.raises(DeliveryError) as info:
        _alerter(rule).send(_alert(rule))
    assert info.value.retryable is True
    assert "2 of 2 URLs not delivered: apprise_urls[0] (JSON): " in str(info.value)
    assert "; apprise_urls[1] (JSON): " in str(info.value)


@responses.activate
def test_a_partial_failure_is_retried_only_where_it_failed(make_rule):
    responses.post(HOOK_HTTP)
    responses.post(OTHER_HTTP, status=503)
    rule = _rule(make_rule, f"apprise_urls: [{HOOK}, {OTHER}]\n")
    alerter = _alerter(rule)
    with pytest.raises(DeliveryError) as info:
        alerter.send(_alert(rule))
    assert info.value.retryable is True
    assert str(info.value).startswith("Apprise: 1 of 2 URLs not delivered (1 delivered; a retry re-sends only "
                                      "to the others): apprise_urls[1] (JSON): ")
    responses.replace(responses.POST, OTHER_HTTP, status=200)
    alerter.send(_alert(rule))  # the retry
    assert [c.request.url for c in responses.calls].count(HOOK_HTTP) == 1
    assert [c.request.url for c in responses.calls].count(OTHER_HTTP) == 2
    alerter.send(_alert(rule, alert_id="a2"))  # another alert goes everywhere
    assert [c.request.url for c in responses.calls].count(HOOK_HTTP) == 2


@responses.activate
def test_a_new_notifier_forgets_partial_deliveries(make_rule):
    """A restart or rule reload builds a new notifier: the retry re-sends to every URL."""
    responses.post(HOOK_HTTP)
    responses.post(OTHER_HTTP, status=503)
    rule = _rule(make_rule, f"apprise_urls: [{HOOK}, {OTHER}]\n")
    with pytest.raises(DeliveryError):
        _alerter(rule).send(_alert(rule))
    responses.replace(responses.POST, OTHER_HTTP, status=200)
    _alerter(rule).send(_alert(rule))
    assert [c.request.url for c in responses.calls].count(HOOK_HTTP) == 2


def test_a_crashing_plugin_is_a_retryable_failure(make_rule, monkeypatch):
    import apprise

    def boom(*args, **kwargs):
        raise RuntimeError(f"exploded near {HOOK}")

    monkeypatch.setattr(apprise.Apprise, "notify", boom)
    rule = _rule(make_rule, f"apprise_urls: {HOOK}\n")
    with pytest.raises(DeliveryError) as info:
        _alerter(rule).send(_alert(rule))
    assert info.value.retryable is True
    assert str(info.value) == ("Apprise: 1 of 1 URL not delivered: apprise_urls (JSON): "
                               "RuntimeError: exploded near <secret>")


@responses.activate
def test_a_url_listed_twice_is_notified_once(make_rule):
    responses.post(HOOK_HTTP)
    rule = _rule(make_rule, f"apprise_urls: [{HOOK}, {HOOK}]\n")
    _alerter(rule).send(_alert(rule))
    assert len(responses.calls) == 1


@responses.activate
def test_a_resolved_notice_is_a_success_and_is_tracked_apart_from_the_firing_one(make_rule):
    import dataclasses

    if "status" not in {f.name for f in dataclasses.fields(Alert)}:
        pytest.skip("alerts carry no status here")
    responses.post(HOOK_HTTP)
    responses.post(OTHER_HTTP, status=503)
    rule = _rule(make_rule, f"apprise_urls: [{HOOK}, {OTHER}]\n")
    alerter = _alerter(rule)
    with pytest.raises(DeliveryError):
        alerter.send(_alert(rule))  # firing: HOOK got it, OTHER did not
    with pytest.raises(DeliveryError):
        alerter.send(Alert("a1", rule, (), "Resolved", "ok now", status="resolved"))
    resolved = [json.loads(c.request.body) for c in responses.calls if c.request.url == HOOK_HTTP][-1]
    assert (resolved["title"], resolved["type"]) == ("Resolved", "success")


def test_a_bare_scheme_is_named_not_masked(tmp_path, config):
    problems = _problems(tmp_path, config, "apprise_urls: json://\n")
    assert len(problems) == 1 and "'json://'" in problems[0] and "<secret>" not in problems[0]
