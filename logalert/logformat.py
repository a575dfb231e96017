"""The daemon's log lines: readable text by default, or one JSON object per line
(``log_format: json``) so Fluentd's ``json`` parser reads them without a regex.

A log call that has figures passes them as ``extra`` (``rule``, ``window_start``,
``hits``, ``alert_id``, ``notifier``, ``outcome``, ``error``…); the text format keeps
them in its message, the JSON format also gives each its own key so a Kibana query can
filter on ``rule`` or sum ``hits`` without parsing the message. Every value passes
through ``secrets.mask`` like the message does.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import Any

from logalert.secrets import MaskingFilter, mask

# The structured fields a record may carry (logging's ``extra``), in output order.
FIELDS = ("rule", "file", "window_start", "window_end", "hits", "matches", "alerts", "duration_s",
          "alert_id", "notifier", "outcome", "attempts", "error")
FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", …fields, "exception"}`` on one line."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.timezone.utc).isoformat(timespec="milliseconds")
                    .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                out[name] = mask(value) if isinstance(value, str) else value
        if record.exc_info and record.exc_info[1] is not None:
            out["exception"] = mask(self.formatException(record.exc_info))
        elif record.exc_text:
            out["exception"] = record.exc_text
        return json.dumps(out, default=str, ensure_ascii=False)


def formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def install(verbose: bool = False, fmt: str = "text") -> None:
    """Root logging to stderr in format ``fmt``, with secrets masked in every record.
    Called again once config.yaml is read, since it may say ``log_format: json``."""
    handler = logging.StreamHandler()
    handler.setFormatter(formatter(fmt))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("opensearch", "elastic_transport", "elasticsearch", "urllib3", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.ERROR)


def use(fmt: str) -> None:
    """Switch the installed handlers to format ``fmt`` (config.yaml's ``log_format``)."""
    for handler in logging.getLogger().handlers:
        if any(isinstance(f, MaskingFilter) for f in handler.filters):
            handler.setFormatter(formatter(fmt))
