"""ElastAlert2 notifiers logalert does not build in, their options, and what a migrating
rule uses instead.

A rule whose ``alert:`` names one of these is refused at validate time with one line
that says where to go: the Apprise URL scheme of the same service (the ``apprise``
notifier covers it), or ``post2`` (a Jinja-templated HTTP POST) for a service with an
HTTP API that Apprise does not know. Their options (``dingtalk_access_token``,
``sns_topic_arn``, …) are recognised by prefix or name, so a rule that still carries them
hears "this belongs to ElastAlert2's dingtalk notifier; use apprise …" rather than
"unknown option". Kept as data so ``validate``, ``logalert migrate`` and the README's
table read the same facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from logalert import secrets

APPRISE, POST2 = "apprise", "post2"


@dataclass(frozen=True)
class Foreign:
    """One ElastAlert2 notifier: ``via`` names the logalert notifier that replaces it,
    ``target`` its Apprise URL scheme (``via`` apprise) or what post2 posts to; its
    options are every name starting with one of ``prefixes`` plus ``names``; ``secret``
    those whose values must never be printed (beyond the usual ``*_token``/``*_api_key``)."""

    name: str
    via: str
    target: str
    prefixes: tuple[str, ...] = ()
    names: frozenset[str] = frozenset()
    secret: frozenset[str] = frozenset()

    def owns(self, option: str) -> bool:
        return option in self.names or (bool(self.prefixes) and option.startswith(self.prefixes))

    def change(self) -> str:
        """The suggested edit of the rule, one line."""
        if self.via == APPRISE:
            return f"alert: [{self.name}] -> alert: [apprise] with apprise_urls: ['{self.target}…']"
        return (f"alert: [{self.name}] -> alert: [post2] with http_post2_url set to {self.target} "
                "and the body in http_post2_payload")


def _f(name: str, via: str, target: str, *prefixes: str, names: tuple[str, ...] = (),
       secret: tuple[str, ...] = ()) -> Foreign:
    return Foreign(name, via, target, tuple(prefixes), frozenset(names), frozenset(secret))


_NOTIFIERS: tuple[Foreign, ...] = (
    _f("dingtalk", APPRISE, "dingtalk://", "dingtalk_", secret=("dingtalk_sign",)),
    _f("sns", APPRISE, "sns://", "sns_", secret=("sns_aws_secret_access_key", "sns_aws_access_key_id")),
    _f("ses", APPRISE, "ses://", "ses_", secret=("ses_aws_secret_key", "ses_aws_secret_access_key",
                                                 "ses_aws_access_key", "ses_aws_access_key_id")),
    _f("rocketchat", APPRISE, "rockets://", "rocket_chat_"),
    _f("linenotify", APPRISE, "line://", "linenotify_"),
    _f("line", APPRISE, "line://"),
    _f("twilio", APPRISE, "twilio://", "twilio_"),
    _f("victorops", APPRISE, "splunk://", "victorops_", secret=("victorops_routing_key",)),
    _f("pagertree", APPRISE, "pagertree://", "pagertree_", secret=("pagertree_integration_url",)),
    _f("lark", APPRISE, "lark://", "lark_", secret=("lark_bot_id",)),
    _f("workwechat", APPRISE, "wecombot://", "work_wechat_", secret=("work_wechat_bot_id",)),
    _f("wechat", APPRISE, "wechat://"),
    _f("webex_webhook", APPRISE, "wxteams://", "webex_webhook_", secret=("webex_webhook_id",)),
    _f("webex_incoming", APPRISE, "wxteams://", "webex_incoming_"),
    _f("smseagle", APPRISE, "smseagle://", "smseagle_"),
    _f("exotel", APPRISE, "exotel://", "exotel_", secret=("exotel_account_sid",)),
    _f("matrixhookshot", APPRISE, "matrix://", "matrixhookshot_"),
    _f("gitter", APPRISE, "matrix://", "gitter_"),  # Gitter moved to Matrix
    _f("alerta", POST2, "Alerta's /api/alert endpoint", "alerta_"),
    _f("chatwork", POST2, "Chatwork's rooms/{id}/messages endpoint", "chatwork_", secret=("chatwork_apikey",)),
    _f("datadog", POST2, "Datadog's /api/v1/events endpoint", "datadog_", secret=("datadog_app_key",)),
    _f("gelf", POST2, "a Graylog GELF HTTP input", "gelf_"),
    _f("hivealerter", POST2, "TheHive's /api/alert endpoint", "hive_", secret=("hive_connection",)),
    _f("iris", POST2, "DFIR-IRIS's /alerts/add endpoint", "iris_"),
    _f("servicenow", POST2, "ServiceNow's table API", "servicenow_", "service_now_",
       names=("username", "password", "short_description", "comments", "assignment_group", "subcategory",
              "cmdb_ci", "caller_id"), secret=("password",)),
    _f("tencent_sms", POST2, "Tencent Cloud's SMS API through an HTTP bridge", "tencent_sms_",
       secret=("tencent_sms_secret_key", "tencent_sms_secret_id")),
    _f("yzj", POST2, "Yunzhijia's robot webhook", "yzj_"),
    _f("flashduty", POST2, "Flashduty's event webhook", "flashduty_", secret=("flashduty_integration_key",)),
    _f("sqs", POST2, "an HTTP bridge to SQS", "sqs_"),
    _f("stomp", POST2, "an HTTP bridge to the broker", "stomp_"),
    # No prefix: opensearch_* names are Discover-link options of every rule.
    _f("opensearch", POST2, "the engine's /{index}/_doc endpoint"),
    _f("indexer", POST2, "the engine's /{index}/_doc endpoint", "indexer_", secret=("indexer_connection",)),
)

NOTIFIERS: Mapping[str, Foreign] = {f.name: f for f in _NOTIFIERS}
# name -> ("apprise", "scheme://") or ("post2", "what to POST to")
INSTEAD: Mapping[str, tuple[str, str]] = {f.name: (f.via, f.target) for f in _NOTIFIERS}

# A carried-over rule may still hold these; their values are masked wherever they print.
secrets.declare(name for f in _NOTIFIERS for name in f.secret)


def instead(name: str) -> str | None:
    """The migration advice for a foreign notifier name, or None when it is not one."""
    found = NOTIFIERS.get(name)
    if found is None:
        return None
    if found.via == APPRISE:
        return (f"'{name}' is not built in; use 'apprise' with apprise_urls: ['{found.target}…'] "
                "(see README › Alerters)")
    return f"'{name}' is not built in; use 'post2' to {found.target} (see README › Alerters)"


def owner(option: str) -> Foreign | None:
    """The foreign notifier an option name belongs to (only asked about names logalert
    itself does not declare), or None."""
    return next((f for f in _NOTIFIERS if f.owns(option)), None)


def option_advice(option: str) -> str | None:
    """The warning for an option of a notifier logalert does not build in, or None."""
    found = owner(option)
    if found is None:
        return None
    use = (f"use 'apprise' with apprise_urls: ['{found.target}…']" if found.via == APPRISE
           else f"use 'post2' to {found.target}")
    return (f"an option of ElastAlert2's '{found.name}' notifier, which logalert does not build in; "
            f"ignored ({use}, see README › Alerters)")
