"""Error types shared by every stage.

Every user-facing problem is reported as one line, ``FILE:LINE: option: message``,
so people can jump straight to the offending spot in an editor or CI log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# Line breaks and terminal control characters inside a quoted value (a rule's
# ``type: |`` block, a pasted ANSI colour) are shown escaped: a problem stays one line.
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f\x85\u2028\u2029]")


def _flat(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


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
        return _flat(f"{where}: {level}{opt}{self.message}")


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


def short_reason(text: str, limit: int = 240) -> str:
    """An engine's error in one line: the first line of its text, without the
    ``[index/uuid]`` prefix and the Java stack summary, ``Exception[…]`` wrappers
    unwrapped (the outermost reason, then the innermost cause), at most ``limit``
    characters. ``-v`` prints the full text instead."""
    lines = text.strip().splitlines()
    line = re.sub(r"^\[[^\]\s/]+/[^\]\s]+\]\s*", "", lines[0] if lines else "").split(";; ")[0]
    parts = [_unwrap(part) for part in _CAUSES.split(line) if part.strip()]
    short = parts[0] if parts else line
    if len(parts) > 1 and parts[-1] not in short:
        short = f"{short}: {parts[-1]}"
    short = " ".join(short.split())
    return short if len(short) <= limit else short[: limit - 1] + "…"


# OpenSearch chains causes as "AException[…]; nested: BException[…]", Elasticsearch as
# "org.….AException: …; java.lang.BException: …".
_CAUSES = re.compile(r"; nested: |; (?=[\w$]+(?:\.[\w$]+)+(?:Exception|Error): )")


def _unwrap(part: str) -> str:
    """``QueryShardException[Failed to parse query [x]]`` -> ``Failed to parse query [x]``;
    ``org.elasticsearch.…QueryShardException: failed …`` -> ``failed …``."""
    part = re.sub(r"^(?:[\w$]+\.)+[\w$]*(?:Exception|Error): ", "", part.strip())
    found = re.match(r"^[\w.$]*(?:Exception|Error)\[(.*)$", part)
    if not found:
        return part
    inner = found.group(1)
    if inner.endswith("]") and inner.count("]") > inner.count("["):
        inner = inner[:-1]
    return inner
