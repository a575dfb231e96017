"""Notifiers by the name used in ``alert:``. Adding one: a module here that declares its
options (``OPTIONS``, and the names it needs in ``REQUIRED``; see ``logalert.options``)
and one line below. Keep a module cheap to import (heavy clients inside ``send``):
loading rules reads every notifier's declarations. A module may also define
``check(options) -> list[(option, message)]`` for what a schema cannot say (a Jinja
template that does not compile, a URL its library cannot parse); ``validate`` reports
those at the option's line."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Mapping

from logalert.notify import plugins

if TYPE_CHECKING:
    from logalert.notify.alerters.base import Alerter
    from logalert.options import Option

ALERTERS: dict[str, str] = {
    "stdout": "logalert.notify.alerters.stdout:StdoutAlerter",
    "slack": "logalert.notify.alerters.slack:SlackAlerter",
    "email": "logalert.notify.alerters.email:EmailAlerter",
    "jira": "logalert.notify.alerters.jira:JiraAlerter",
    "zabbix": "logalert.notify.alerters.zabbix:ZabbixAlerter",
    "apprise": "logalert.notify.alerters.apprise:AppriseAlerter",
    "ms_teams": "logalert.notify.alerters.ms_teams:MsTeamsAlerter",
    "ms_power_automate": "logalert.notify.alerters.ms_power_automate:MsPowerAutomateAlerter",
    "telegram": "logalert.notify.alerters.telegram:TelegramAlerter",
    "discord": "logalert.notify.alerters.discord:DiscordAlerter",
    "mattermost": "logalert.notify.alerters.mattermost:MattermostAlerter",
    "googlechat": "logalert.notify.alerters.googlechat:GoogleChatAlerter",
    "alertmanager": "logalert.notify.alerters.alertmanager:AlertmanagerAlerter",
    "pagerduty": "logalert.notify.alerters.pagerduty:PagerDutyAlerter",
    "opsgenie": "logalert.notify.alerters.opsgenie:OpsGenieAlerter",
    "post": "logalert.notify.alerters.post:HttpPostAlerter",
    "post2": "logalert.notify.alerters.post2:HttpPost2Alerter",
    "command": "logalert.notify.alerters.command:CommandAlerter",
}

ALIASES = {"debug": "stdout"}


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


def names() -> list[str]:
    """Every notifier name a rule may use: the built-in ones, then installed plugins
    (which cannot take a built-in name)."""
    return list(ALERTERS) + [n for n in plugins.discovered() if n not in ALERTERS]


def known(name: str) -> bool:
    return canonical(name) in ALERTERS or canonical(name) in plugins.discovered()


def _target(name: str) -> tuple[str, str]:
    name = canonical(name)
    spec = ALERTERS.get(name) or plugins.discovered()[name]
    module, _, attr = spec.partition(":")
    return module, attr


def get(name: str) -> type["Alerter"]:
    module, attr = _target(name)
    return getattr(importlib.import_module(module), attr)


def declared(name: str) -> tuple[tuple["Option", ...], tuple[str, ...]]:
    """The options notifier ``name`` declares next to its code, and those it requires."""
    module = importlib.import_module(_target(name)[0])
    return tuple(getattr(module, "OPTIONS", ())), tuple(getattr(module, "REQUIRED", ()))


def check(name: str, options: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Problems of notifier ``name``'s options beyond its schema: (option, message)."""
    module = importlib.import_module(_target(name)[0])
    checker = getattr(module, "check", None)
    return list(checker(options)) if checker else []
