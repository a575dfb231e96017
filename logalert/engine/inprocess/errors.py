"""Errors of the in-process engine.

``Unsupported``: something the evaluator does not do exactly as the engine would; it
refuses instead of guessing, and the message says to run on a real engine.
``BadRequest``: what the engine itself would refuse (HTTP 400 and the engine's error
type), turned into the same error answer the engine gives.
"""

from __future__ import annotations

HINT = "run on a real engine instead (logalert test --engine)"


class Unsupported(Exception):
    """Deliberately not an EngineError: the runner would report it as the engine refusing
    the rule's query; instead it goes up to the caller (``logalert test``) as it is."""

    def __init__(self, what: str):
        super().__init__(f"the offline evaluator does not support {what}; {HINT}")
        self.what = what


class BadRequest(Exception):
    """A request the engine would refuse: ``status``, ``type`` and ``reason`` as it says them."""

    def __init__(self, reason: str, error_type: str = "illegal_argument_exception", status: int = 400):
        super().__init__(reason)
        self.reason = reason
        self.type = error_type
        self.status = status
        self.cause: str | None = None  # a deeper reason, as the engine's caused_by

    def body(self) -> dict:
        cause = {"type": self.type, "reason": self.reason}
        error: dict = {"root_cause": [cause], **cause}
        if self.cause:
            error["caused_by"] = {"type": "parse_exception", "reason": self.cause}
        return {"error": error, "status": self.status}
