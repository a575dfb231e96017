"""Masking of secrets (webhook URLs, passwords, API keys) in every output.

Secrets are registered as config and rules are loaded; a logging filter and
``mask()`` replace them wherever they would be printed. Library exceptions
often quote only a URL's path (``Max retries exceeded with url: /services/…``),
so for URLs the path is registered too.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import Any, Iterable, Iterator, Mapping
from urllib.parse import urlsplit

from logalert import options as registry

MASK = "<secret>"
MIN_PATH = 8  # a URL path shorter than this is not masked on its own

# Option names whose values are secrets, from the option registry (plus those of
# ElastAlert alerters logalert lacks); any name with a secret suffix is one too. Rule
# types and alerters declare theirs next to their code: ``declare`` adds those when
# their declarations are read (before any rule using them is loaded).
SECRET_OPTIONS: frozenset[str] = registry.SECRET_OPTIONS
SECRET_SUFFIXES = registry.SECRET_SUFFIXES

_lock = threading.Lock()
_secrets: set[str] = set()
_declared: set[str] = set()
_sources: dict[str, str] = {}  # a secret's value -> the file it was read from
_local = threading.local()


def declare(names: Iterable[str]) -> None:
    """More option names whose values are secrets (a rule type's or an alerter's)."""
    with _lock:
        _declared.update(names)


def is_secret(key: str) -> bool:
    return key in SECRET_OPTIONS or key in _declared or key.endswith(SECRET_SUFFIXES)


@contextlib.contextmanager
def isolated() -> Iterator[set[str]]:
    """Within the block, the secrets this thread registers are kept apart and masked in
    this thread only: the web console checks rule text as it is typed, and a half-typed
    webhook URL (``http``) must not join the secrets masked everywhere."""
    before = getattr(_local, "found", None)
    _local.found = found = set(before or ())
    try:
        yield found
    finally:
        _local.found = before


def register(value: Any) -> None:
    """Remember a secret (string or list of strings) so it is masked from now on."""
    values: Iterable[Any] = value if isinstance(value, (list, tuple)) else [value]
    local = getattr(_local, "found", None)
    target = _secrets if local is None else local
    with _lock:
        for item in values:
            if not isinstance(item, str) or len(item) < 4:
                continue
            target.add(item)
            parts = urlsplit(item)
            # The path alone too (libraries quote only it), when long enough to carry a
            # token: "/b" or "/hook" would mask those words everywhere.
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            if parts.scheme and parts.netloc and len(path) >= MIN_PATH:
                target.add(path)


_NESTED_SECRET = ("key", "password", "pass", "token", "secret", "auth")


def register_options(options: Mapping[str, Any]) -> None:
    for key, value in options.items():
        if isinstance(key, str) and is_secret(key):
            if isinstance(value, Mapping):  # e.g. hive_connection: {hive_apikey: …, hive_host: …}
                # Only the entries named like a credential: a mapping of headers or payload
                # fields also holds ordinary words that must stay readable.
                # A template ("Bearer {{ token }}") is filled in per alert; its text is no secret.
                register([v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)
                          and any(word in k.lower() for word in _NESTED_SECRET) and "{{" not in v and "{%" not in v])
            else:
                register(value)
    # A value read from a secret file (es_password_file) remembers its file: ``fresh``
    # reads it again, so a fixed or rotated secret needs no restart.
    for option in registry.OPTIONS:
        path, value = options.get(option.name), options.get(option.fills) if option.fills else None
        if isinstance(path, str) and path and isinstance(value, str) and value:
            with _lock:
                _sources[value] = path


def fresh(value: Any) -> Any:
    """The current content of the secret file ``value`` was read from (registered as a
    secret), else ``value``. The engine connection calls it on each connect, so a
    Kubernetes Secret rotated or a typo fixed in the file is used at the next retry."""
    with _lock:
        path = _sources.get(value) if isinstance(value, str) else None
    if path is None:
        return value
    try:
        with open(path, encoding="utf-8") as handle:
            current = handle.read().strip()
    except OSError:
        return value  # the file went away: keep what was read at start
    register(current)
    if current != value:
        with _lock:
            _sources[current] = path
    return current


def mask(text: str) -> str:
    local = getattr(_local, "found", None)
    with _lock:
        known = sorted(_secrets | local if local else _secrets, key=len, reverse=True)
    for secret in known:
        if secret in text:
            text = text.replace(secret, MASK)
    return text


def mask_value(key: str, value: Any) -> Any:
    """For printing a rule's options: secret options print as ``<secret>``."""
    if is_secret(key):
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
