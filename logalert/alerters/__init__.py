"""Notifiers by the name used in ``alert:``. Adding one: a module here, a schema in
``logalert/schema/alerters/NAME.json`` and one line below."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from logalert.alerters.base import Alerter

ALERTERS: dict[str, str] = {
    "stdout": "logalert.alerters.stdout:StdoutAlerter",
    "slack": "logalert.alerters.slack:SlackAlerter",
    "email": "logalert.alerters.email:EmailAlerter",
}

ALIASES = {"debug": "stdout"}


def canonical(name: str) -> str:
    return ALIASES.get(name, name)


def get(name: str) -> type["Alerter"]:
    module, _, attr = ALERTERS[canonical(name)].partition(":")
    return getattr(importlib.import_module(module), attr)
