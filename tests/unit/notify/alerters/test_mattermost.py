"""Mattermost incoming-webhook payload shape and option handling (responses, no network)."""

from __future__ import annotations

import datetime as dt
import json

import responses

from logalert.model import Alert, Match
from logalert.notify.alerters import get
from logalert.notify.alerters.mattermost import TEXT_LIMIT, MattermostAlerter

URL = "https://chat.example.com/hooks/xxxgeneratedkeyxxx"
BASE = f"name: r\ntype: any\nindex: x\nalert: [mattermost]\nmattermost_webhook_url: \"{URL}\"\n"


def _hook(make_rule, extra: str = ""):
    rule = make_rule(BASE + extra)
    target = rule.alerts[0]
    return rule, get(target.name)(rule, target.options)


def _alert(rule, *docs, body="Errors in checkout\n\nmessage: boom\n"):
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    return Alert("a1", rule, tuple(Match(when, d) for d in docs), "ERROR in checkout", body)


@responses.activate
def test_defaults_body_as_text_subject_as_attachment_title(make_rule):
    rule, hook = _hook(make_rule)
    assert isinstance(hook, MattermostAlerter)
    responses.post(URL, body="ok")
    hook.send(_alert(rule))
    (call,) = responses.calls
    assert call.request.headers["Content-Type"] == "application/json"
    assert json.loads(call.request.body) == {
        "username": "logalert",
        "icon_emoji": ":ghost:",
        "text": "Errors in checkout\n\nmessage: boom",
        "attachments": [{"fallback": "ERROR in checkout", "color": "danger", "title": "ERROR in checkout",
                         "fields": []}],
    }


@responses.activate
def test_every_option_and_one_post_per_webhook_and_channel(make_rule):
    rule, hook = _hook(make_rule, """\
mattermost_webhook_url: [https://chat.example.com/hooks/one, https://chat.example.com/hooks/two]
mattermost_channel_override: ["#ops", "@alice"]
mattermost_username_override: alertbot
mattermost_icon_url_override: https://example.com/bot.png
mattermost_msg_pretext: "@channel"
mattermost_msg_color: "#ff8800"
mattermost_title: Checkout
mattermost_title_link: https://kibana.example.com/app/discover
mattermost_footer: logalert
mattermost_footer_icon: https://example.com/f.png
mattermost_image_url: https://example.com/i.png
mattermost_thumb_url: https://example.com/t.png
mattermost_author_name: SRE
mattermost_author_link: https://sre.example.com
mattermost_author_icon: https://example.com/a.png
mattermost_msg_fields:
  - title: Stack
    value: "{0} {1}"
    short: false
    args: [type, msg.status_code]
  - title: Pod
    args: [kubernetes.pod_name, missing.field]
  - title: Name
    value: static field
    short: true
""")
    for url in ("https://chat.example.com/hooks/one", "https://chat.example.com/hooks/two"):
        responses.post(url, body="ok")
    hook.send(_alert(rule, {"type": "nginx", "msg": {"status_code": 502}, "kubernetes": {"pod_name": "web-1"}}))
    sent = [(c.request.url.rsplit("/", 1)[1], json.loads(c.request.body)) for c in responses.calls]
    assert [(url, body["channel"]) for url, body in sent] == [("one", "#ops"), ("one", "@alice"), ("two", "#ops"),
                                                              ("two", "@alice")]
    body = sent[0][1]
    assert (body["username"], body["icon_url"], "icon_emoji" in body) == ("alertbot", "https://example.com/bot.png",
                                                                           False)
    assert body["attachments"] == [{
        "fallback": "Checkout: @channel", "pretext": "@channel", "color": "#ff8800", "title": "Checkout",
        "title_link": "https://kibana.example.com/app/discover", "footer": "logalert",
        "footer_icon": "https://example.com/f.png", "image_url": "https://example.com/i.png",
        "thumb_url": "https://example.com/t.png", "author_name": "SRE", "author_link": "https://sre.example.com",
        "author_icon": "https://example.com/a.png",
        "fields": [{"title": "Stack", "value": "nginx 502", "short": False},
                   {"title": "Pod", "value": "web-1\n<MISSING VALUE>"},
                   {"title": "Name", "value": "static field", "short": True}],
    }]


def test_alert_text_only_puts_the_body_in_the_attachment(make_rule):
    rule, hook = _hook(make_rule, "alert_text: hello\nalert_text_type: alert_text_only\n")
    payload = hook.payload(_alert(rule, body="hello\n"))
    assert "text" not in payload and payload["attachments"][0]["text"] == "hello"


def test_an_alert_without_matches_fills_args_with_the_missing_value(make_rule):
    rule, hook = _hook(make_rule, "alert_missing_value: '-'\n"
                                  "mattermost_msg_fields: [{title: T, value: 'x={0}', args: [a]}]\n")
    assert hook.payload(_alert(rule))["attachments"][0]["fields"] == [{"title": "T", "value": "x=-"}]


def test_long_bodies_are_cut_below_mattermosts_post_limit(make_rule):
    rule, hook = _hook(make_rule)
    text = hook.payload(_alert(rule, body="x" * 50_000))["text"]
    assert len(text) == TEXT_LIMIT < 16_383
    assert text.endswith("(cut at Mattermost's message limit)")


def test_describe_hides_the_webhooks(make_rule):
    _rule, hook = _hook(make_rule)
    assert hook.describe() == "mattermost (1 webhook: <secret>)"


def test_discover_links_follow_as_attachments(make_rule):
    from logalert.notify import discover

    rule, hook = _hook(make_rule, """\
generate_kibana_discover_url: true
kibana_discover_app_url: "http://kibana:5601/app/discover#/"
kibana_discover_index_pattern_id: "logs-id"
kibana_discover_version: "7.17"
mattermost_attach_kibana_discover_url: true
mattermost_kibana_discover_color: "#123456"
""")
    alert = _alert(rule, {"level": "ERROR"})
    first, link = hook.payload(alert)["attachments"]
    assert first["title"] == "ERROR in checkout"
    assert link == {"color": "#123456", "title": "Discover in Kibana",
                    "title_link": discover.url(rule, alert.matches[0], "kibana")}
