"""Error types shared by every stage.

Every user-facing problem is reported as one line, ``FILE:LINE: option: message``,
so people can jump straight to the offending spot in an editor or CI log.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One finding about a config or rule file; ``fatal`` ones make the file invalid."""

    file: str
    line: int | None
    option: str | None
    message: str
    fatal: bool = True

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        level = "" if self.fatal else "warning: "
        opt = f"{self.option}: " if self.option else ""
        return f"{where}: {level}{opt}{self.message}"


class ConfigError(Exception):
    """Raised with one or more fatal problems of a single file."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class EngineError(Exception):
    """The search engine is unreachable or refused a request; ``reason`` is the engine's own words."""

    def __init__(self, message: str, *, reason: str | None = None, unreachable: bool = False):
        self.reason = reason
        self.unreachable = unreachable
        super().__init__(message if not reason else f"{message}: {reason}")


class DeliveryError(Exception):
    """A notifier failed; ``retryable`` tells the retry policy whether trying again can help."""

    def __init__(self, message: str, *, retryable: bool = True, retry_after: float | None = None):
        self.retryable = retryable
        self.retry_after = retry_after
        super().__init__(message)
