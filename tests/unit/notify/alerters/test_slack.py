"""Slack incoming-webhook request shape and error classification (responses, no network)."""

from __future__ import annotations

import json

import pytest
import requests
import responses

from logalert.errors import DeliveryError
from logalert.model import Alert
from logalert.notify.alerters.slack import SlackAlerter
from logalert.rules import load_rule
from tests.support.notifiers import notifier as _alerter

from ...conftest import FIXTURES

SEED_URL = "https://hooks.slack.com/services/XXXXX/YYYYY/ZZZZZ"


@pytest.fixture
def seed(config):
    rule, _ = load_rule(str(FIXTURES / "seed_rule.yaml"), config)
    return rule


def _alert(rule, body="occur error on some components!"):
    return Alert("a1", rule, (), "Error!!", body)


def test_registry_gives_the_slack_alerter(seed):
    assert isinstance(_alerter(seed), SlackAlerter)
    assert _alerter(seed).describe() == "slack (1 webhook: <secret>)"


@responses.activate
def test_seed_rule_posts_one_attachment_to_the_webhook(seed):
    responses.post(SEED_URL, body="ok")
    _alerter(seed).send(_alert(seed))
    (call,) = responses.calls
    assert call.request.url == SEED_URL
    assert call.request.headers["Content-Type"] == "application/json"
    assert json.loads(call.request.body) == {
        "username": "logalert",
        "text": "",
        "parse": "none",
        "icon_emoji": ":rotating_light:",
        "attachments": [{"color": "danger", "title": "Error!!", "text": "occur error on some components!",
                         "mrkdwn_in": ["text", "pretext"], "fields": []}],
    }


@responses.activate
def test_overrides_channels_and_several_webhooks(make_rule):
    rule = make_rule("""\
        name: r
        type: any
        index: x
        alert: [slack]
        slack_webhook_url:
          - https://hooks.slack.com/services/T1/B1/one
          - https://hooks.slack.com/services/T2/B2/two
        slack_channel_override: ["#ops", "#db"]
        slack_username_override: bot
        slack_icon_url_override: https://example.com/i.png
        slack_msg_color: warning
        slack_title: Fixed title
        slack_title_link: https://kibana.example.com/x
        slack_text_string: "<!here>"
    """)
    responses.post("https://hooks.slack.com/services/T1/B1/one")
    responses.post("https://hooks.slack.com/services/T2/B2/two")
    _alerter(rule).send(_alert(rule))
    sent = [(c.request.url.rsplit("/", 1)[1], json.loads(c.request.body)) for c in responses.calls]
    assert [(url, body["channel"]) for url, body in sent] == [("one", "#ops"), ("one", "#db"), ("two", "#ops"), ("two", "#db")]
    body = sent[0][1]
    assert body["username"] == "bot"
    assert body["icon_url"] == "https://example.com/i.png"
    assert "icon_emoji" not in body
    assert body["text"] == "<!here>"
    attachment = body["attachments"][0]
    assert (attachment["color"], attachment["title"], attachment["title_link"]) == (
        "warning", "Fixed title", "https://kibana.example.com/x")


def test_long_bodies_are_cut_below_slacks_limit(seed):
    payload = _alerter(seed).payloads(_alert(seed, body="x" * 20000))[0]
    assert len(payload["attachments"][0]["text"]) == 7900


@responses.activate
def test_429_is_retryable_with_retry_after(seed):
    responses.post(SEED_URL, status=429, headers={"Retry-After": "12"}, body="rate_limited")
    with pytest.raises(DeliveryError) as info:
        _alerter(seed).send(_alert(seed))
    assert (info.value.retryable, info.value.retry_after) == (True, 12.0)


@responses.activate
def test_429_without_usable_retry_after(seed):
    responses.post(SEED_URL, status=429, headers={"Retry-After": "soon"})
    with pytest.raises(DeliveryError) as info:
        _alerter(seed).send(_alert(seed))
    assert (info.value.retryable, info.value.retry_after) == (True, None)


@pytest.mark.parametrize("status, retryable", [(500, True), (503, True), (408, True), (400, False),
                                               (403, False), (404, False)])
@responses.activate
def test_http_errors_are_classified(seed, status, retryable):
    responses.post(SEED_URL, status=status, body="no_service")
    with pytest.raises(DeliveryError) as info:
        _alerter(seed).send(_alert(seed))
    assert info.value.retryable is retryable
    assert str(info.value) == f"Slack webhook answered HTTP {status}: no_service"


@responses.activate
def test_error_text_quoting_the_webhook_is_masked(seed):
    responses.post(SEED_URL, status=404, body=f"unknown webhook {SEED_URL}")
    with pytest.raises(DeliveryError) as info:
        _alerter(seed).send(_alert(seed))
    assert str(info.value) == "Slack webhook answered HTTP 404: unknown webhook <secret>"


@responses.activate
def test_connection_error_is_retryable_and_masked(seed):
    responses.post(SEED_URL, body=requests.ConnectionError("Max retries exceeded with url: /services/XXXXX/YYYYY/ZZZZZ"))
    with pytest.raises(DeliveryError) as info:
        _alerter(seed).send(_alert(seed))
    assert info.value.retryable is True
    assert str(info.value) == "Slack webhook unreachable: Max retries exceeded with url: <secret>"


@responses.activate
def test_timeout_is_retryable_and_says_delivery_is_unknown(seed):
    responses.post(SEED_URL, body=requests.ReadTimeout("read timed out"))
    with pytest.raises(DeliveryError) as info:
        _alerter(seed).send(_alert(seed))
    assert info.value.retryable is True
    assert "delivery unknown" in str(info.value)


KIBANA = """\
generate_kibana_discover_url: true
kibana_discover_app_url: "http://kibana:5601/app/discover#/"
kibana_discover_index_pattern_id: "logs-id"
kibana_discover_version: "8.11"
"""
SLACK = "name: r\ntype: any\nindex: x\nalert: [slack]\nslack_webhook_url: https://hooks.slack.com/services/A/B/C\n"


def _match_alert(rule, doc):
    import datetime as dt

    from logalert.model import Match

    match = Match(dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc), doc)
    return Alert("a1", rule, (match,), "Subject", "Body")


def test_attachment_options_map_onto_slack_fields(make_rule):
    rule = make_rule(SLACK + """\
slack_msg_pretext: "heads up"
slack_footer: logalert
slack_footer_icon: https://example.com/f.png
slack_image_url: https://example.com/i.png
slack_thumb_url: https://example.com/t.png
slack_author_name: ops
slack_author_link: https://example.com/ops
slack_author_icon: https://example.com/a.png
slack_title: Disk
slack_title_link: https://example.com/runbook
""")
    (payload,) = _alerter(rule).payloads(_match_alert(rule, {}))
    (attachment,) = payload["attachments"]
    assert {k: attachment[k] for k in ("pretext", "footer", "footer_icon", "image_url", "thumb_url", "author_name",
                                       "author_link", "author_icon", "title", "title_link")} == {
        "pretext": "heads up", "footer": "logalert", "footer_icon": "https://example.com/f.png",
        "image_url": "https://example.com/i.png", "thumb_url": "https://example.com/t.png", "author_name": "ops",
        "author_link": "https://example.com/ops", "author_icon": "https://example.com/a.png", "title": "Disk",
        "title_link": "https://example.com/runbook"}


def test_alert_fields_read_the_first_match_and_missing_ones_say_so(make_rule):
    rule = make_rule(SLACK + """\
alert_missing_value: "-"
slack_alert_fields:
- {title: Host, value: monitor.host, short: true}
- {title: Status, value: monitor.status}
- {title: Zone, value: beat.name, short: true}
""")
    (payload,) = _alerter(rule).payloads(_match_alert(rule, {"monitor": {"host": "web-1", "status": 503}}))
    assert payload["attachments"][0]["fields"] == [
        {"title": "Host", "value": "web-1", "short": True},
        {"title": "Status", "value": "503", "short": False},
        {"title": "Zone", "value": "-", "short": True}]


def test_discover_links_are_extra_attachments_with_their_colour_and_title(make_rule):
    from logalert.notify import discover

    rule = make_rule(SLACK + KIBANA + """\
generate_opensearch_discover_url: true
opensearch_discover_app_url: "http://dash:5601/app/data-explorer/discover#"
opensearch_discover_index_pattern_id: "os-logs"
opensearch_discover_version: "2.11"
slack_attach_kibana_discover_url: true
slack_attach_opensearch_discover_url: true
slack_kibana_discover_title: Logs
""")
    alert = _match_alert(rule, {"level": "ERROR"})
    (payload,) = _alerter(rule).payloads(alert)
    _main, kibana, opensearch = payload["attachments"]
    assert kibana == {"color": "#ec4b98", "title": "Logs",
                      "title_link": discover.url(rule, alert.matches[0], "kibana")}
    assert opensearch == {"color": "#ec4b98", "title": "Discover in Opensearch",
                          "title_link": discover.url(rule, alert.matches[0], "opensearch")}


def test_no_discover_attachment_unless_generated_and_attached(make_rule):
    attach_only = make_rule(SLACK + "slack_attach_kibana_discover_url: true\n")
    assert len(_alerter(attach_only).payloads(_match_alert(attach_only, {}))[0]["attachments"]) == 1
    generate_only = make_rule(SLACK + KIBANA)
    assert len(_alerter(generate_only).payloads(_match_alert(generate_only, {}))[0]["attachments"]) == 1


def test_every_slack_option_of_elastalert2_loads_and_only_jira_ones_warn(tmp_path, config):
    path = tmp_path / "r.yaml"
    path.write_text(SLACK + KIBANA + """\
slack_timeout: 5
slack_ca_certs: /etc/ssl/certs/ca-certificates.crt
slack_ignore_ssl_errors: false
slack_proxy: http://proxy:3128
slack_alert_fields: [{title: t, value: v}]
slack_attach_kibana_discover_url: true
slack_kibana_discover_color: "#000000"
slack_attach_jira_ticket_url: true
slack_jira_ticket_title: Ticket
""")
    _rule, warnings = load_rule(str(path), config)
    assert sorted(w.option for w in warnings) == ["slack_attach_jira_ticket_url", "slack_jira_ticket_title"]
    assert all("not implemented" in str(w) and "slack_title_link" in str(w) for w in warnings)


@responses.activate
def test_timeout_and_tls_options_reach_the_request(make_rule, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a real bundle")
    rule = make_rule(SLACK + f"slack_timeout: 3\nslack_ca_certs: {bundle}\n")
    seen = {}

    def capture(request):
        seen["ok"] = True
        return (200, {}, "ok")

    responses.add_callback(responses.POST, "https://hooks.slack.com/services/A/B/C", callback=capture)
    from unittest import mock

    import requests as requests_module

    with mock.patch.object(requests_module.Session, "request", autospec=True,
                           side_effect=requests_module.Session.request) as spy:
        _alerter(rule).send(_match_alert(rule, {}))
    assert seen == {"ok": True}
    kwargs = spy.call_args.kwargs
    assert (kwargs["timeout"], kwargs["verify"]) == (3.0, str(bundle))
