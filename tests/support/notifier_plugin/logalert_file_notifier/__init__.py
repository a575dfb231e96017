"""A notifier plugin: appends each alert as a JSON line to a file."""

import json

from logalert.errors import DeliveryError
from logalert.notify.alerters.base import Alerter
from logalert.options import ALERTER, Option

OPTIONS = (
    Option("file_path", {"type": "string", "minLength": 1}, scope=ALERTER),
    Option("file_api_token", {"type": "string"}, scope=ALERTER, secret=True),
)
REQUIRED = ("file_path",)


def check(options):
    path = options.get("file_path", "")
    return [("file_path", "must be an absolute path")] if not path.startswith("/") else []


class FileAlerter(Alerter):
    name = "file"

    def send(self, alert):
        try:
            with open(self.options["file_path"], "a") as out:
                out.write(json.dumps({"rule": alert.rule.name, "subject": alert.subject}) + "\n")
        except OSError as exc:
            raise DeliveryError(f"cannot append: {exc.strerror}", retryable=False) from None

    def describe(self):
        return "file"
