"""Notifiers by the name used in ``alert:``. Adding one: a module here, a schema in
``logalert/config/schema/alerters/NAME.json`` and one line below."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from logalert.notify.alerters.base import Alerter

ALERTERS: dict[str, str] = {
    "stdout": "logalert.notify.alerters.stdout:StdoutAlerter",
    "slack": "logalert.notify.alerters.slack:SlackAlerter",
    "email": "logalert.notify.alerters.email:EmailAlerter",
}

ALIASES = {"debug": "stdout"}


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


def get(name: str) -> type["Alerter"]:
    module, _, attr = ALERTERS[canonical(name)].partition(":")
    return getattr(importlib.import_module(module), attr)
