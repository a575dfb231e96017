"""Requests and responses as plain values, so the API handlers are functions of
(console, request) -> response that tests can read without a socket."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from logalert import secrets

MAX_BODY = 1024 * 1024  # a rule file, or a Test request, is far smaller


class HTTPError(Exception):
    """Answer with ``status`` and a JSON body ``{"error": message, ...extra}``."""

    def __init__(self, status: int, message: str, **extra: Any):
        self.status, self.message, self.extra = status, message, extra
        super().__init__(message)


@dataclass
class Request:
    method: str
    path: str  # decoded once, without the query
    raw_path: str  # as sent (percent-encoding intact)
    query: Mapping[str, str]
    headers: Mapping[str, str]
    body: bytes = b""
    caller: Any = None  # auth.Caller

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def text(self) -> str:
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise HTTPError(400, "the body is not UTF-8 text") from None

    def json(self) -> dict[str, Any]:
        try:
            value = json.loads(self.body or b"{}")
        except ValueError as exc:
            raise HTTPError(400, f"the body is not JSON: {exc}") from None
        if not isinstance(value, dict):
            raise HTTPError(400, "the body must be a JSON object")
        return value


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, value: Any, status: int = 200, *, raw: tuple[str, ...] = (), **headers: str) -> "Response":
        """JSON with every known secret masked, except the fields named in ``raw`` (rule
        text, whose secret options are masked by key: see ruletext)."""
        kept = {k: value.pop(k) for k in raw if isinstance(value, dict) and k in value}
        masked = secrets.mask(json.dumps(value, default=str))
        if kept:
            masked = json.dumps({**json.loads(masked), **kept}, default=str)
        return cls(status, masked.encode("utf-8"), "application/json", dict(headers))

    @classmethod
    def error(cls, status: int, message: str, **extra: Any) -> "Response":
        return cls.json({"error": message, **extra}, status)

    @classmethod
    def html(cls, text: str, status: int = 200, **headers: str) -> "Response":
        return cls(status, text.encode("utf-8"), "text/html; charset=utf-8", dict(headers))

    @classmethod
    def redirect(cls, location: str, **headers: str) -> "Response":
        return cls(303, b"", "text/plain", {"Location": location, **headers})
