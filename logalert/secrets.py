"""Masking of secrets (webhook URLs, passwords, API keys) in every output.

Secrets are registered as config and rules are loaded; a logging filter and
``mask()`` replace them wherever they would be printed. Library exceptions
often quote only a URL's path (``Max retries exceeded with url: /services/…``),
so for URLs the path is registered too.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Iterable
from urllib.parse import urlsplit

MASK = "<secret>"

# Option names whose values are secrets, in config.yaml, rules and alerter settings.
SECRET_OPTIONS = frozenset(
    {
        "es_password",
        "es_api_key",
        "es_bearer",
        "slack_webhook_url",
        "smtp_password",
        "http_post_url",
        "http_post2_url",
        "webhook_url",
        "ms_teams_webhook_url",
        "teams_webhook_url",
        "pagerduty_service_key",
        "opsgenie_key",
        "telegram_bot_token",
        "mattermost_webhook_url",
        "discord_webhook_url",
        "google_chat_webhook_url",
    }
)

_lock = threading.Lock()
_secrets: set[str] = set()


def register(value: Any) -> None:
    """Remember a secret (string or list of strings) so it is masked from now on."""
    values: Iterable[Any] = value if isinstance(value, (list, tuple)) else [value]
    with _lock:
        for item in values:
            if not isinstance(item, str) or len(item) < 4:
                continue
            _secrets.add(item)
            parts = urlsplit(item)
            if parts.scheme and parts.netloc and len(parts.path) > 1:
                _secrets.add(parts.path + (f"?{parts.query}" if parts.query else ""))


def register_options(options: dict[str, Any]) -> None:
    for key, value in options.items():
        if key in SECRET_OPTIONS or key.endswith(("_password", "_api_key", "_token", "_secret")):
            register(value)


def mask(text: str) -> str:
    with _lock:
        known = sorted(_secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def mask_value(key: str, value: Any) -> Any:
    """For printing a rule's options: secret options print as ``<secret>``."""
    if key in SECRET_OPTIONS or key.endswith(("_password", "_api_key", "_token", "_secret")):
        return MASK
    return value


class MaskingFilter(logging.Filter):
    """Rewrites each record's final message with secrets masked."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            # Formatting the traceback happens later; mask the exception text now.
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        masked = mask(message)
        record.msg, record.args = masked, ()
        return True


def install_logging(verbose: bool = False) -> None:
    """Root logging to stderr with masking applied to every record."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MaskingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.INFO)
    for noisy in ("opensearch", "elastic_transport", "elasticsearch", "urllib3", "apscheduler"):
        logging.getLogger(noisy).setLevel(logging.ERROR)
