"""ElastAlert2 notifiers logalert does not build in, and what a migrating rule uses instead.

A rule carried over from ElastAlert2 with one of these names is refused at validate time
with one line that says where to go: the Apprise URL scheme of the same service (the
``apprise`` notifier covers it), or ``post2`` (a Jinja-templated HTTP POST) for a service
with an HTTP API that Apprise does not know. Kept as data so ``logalert migrate`` and the
README's table read the same facts.
"""

from __future__ import annotations

from typing import Mapping

# name -> ("apprise", "scheme://…") or ("post2", "what to POST to")
INSTEAD: Mapping[str, tuple[str, str]] = {
    "dingtalk": ("apprise", "dingtalk://"),
    "sns": ("apprise", "sns://"),
    "ses": ("apprise", "ses://"),
    "rocketchat": ("apprise", "rockets://"),
    "linenotify": ("apprise", "line://"),
    "line": ("apprise", "line://"),
    "twilio": ("apprise", "twilio://"),
    "victorops": ("apprise", "splunk://"),
    "pagertree": ("apprise", "pagertree://"),
    "lark": ("apprise", "lark://"),
    "workwechat": ("apprise", "wecombot://"),
    "wechat": ("apprise", "wechat://"),
    "webex_webhook": ("apprise", "wxteams://"),
    "webex_incoming": ("apprise", "wxteams://"),
    "smseagle": ("apprise", "smseagle://"),
    "exotel": ("apprise", "exotel://"),
    "matrixhookshot": ("apprise", "matrix://"),
    "gitter": ("apprise", "matrix://"),  # Gitter moved to Matrix
    "alerta": ("post2", "Alerta's /api/alert endpoint"),
    "chatwork": ("post2", "Chatwork's rooms/{id}/messages endpoint"),
    "datadog": ("post2", "Datadog's /api/v1/events endpoint"),
    "gelf": ("post2", "a Graylog GELF HTTP input"),
    "hivealerter": ("post2", "TheHive's /api/alert endpoint"),
    "iris": ("post2", "DFIR-IRIS's /alerts/add endpoint"),
    "servicenow": ("post2", "ServiceNow's table API"),
    "tencent_sms": ("post2", "Tencent Cloud's SMS API through an HTTP bridge"),
    "yzj": ("post2", "Yunzhijia's robot webhook"),
    "flashduty": ("post2", "Flashduty's event webhook"),
    "sqs": ("post2", "an HTTP bridge to SQS"),
    "stomp": ("post2", "an HTTP bridge to the broker"),
    "opensearch": ("post2", "the engine's /{index}/_doc endpoint"),
    "indexer": ("post2", "the engine's /{index}/_doc endpoint"),
}


def instead(name: str) -> str | None:
    """The migration advice for a foreign notifier name, or None when it is not one."""
    found = INSTEAD.get(name)
    if found is None:
        return None
    kind, target = found
    if kind == "apprise":
        return (f"'{name}' is not built in; use 'apprise' with apprise_urls: ['{target}…'] "
                "(see README › Alerters)")
    return f"'{name}' is not built in; use 'post2' to {target} (see README › Alerters)"
