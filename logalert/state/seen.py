"""The ids of documents a rule already evaluated, small enough to keep for every rule.

A run's window overlaps the previous one by buffer_time; the ids of the documents
evaluated there keep a late document from being evaluated twice, and must survive a
restart (they are part of the rule's status). A dict of ``"index/_id" -> timestamp``
costs ~170 bytes per document in memory and ~40 in every status write: with 1,000
rules over a busy stream that was most of the daemon's memory.

Here each id is an 8-byte digest (BLAKE2b of ``index/_id``; two ids of the same second
collide with odds of one in 2^64 / n), filed by the second of the document's timestamp,
in one bytes object per minute: 60 two-byte counts (documents per second), then the
digests in second order. So the per-second counts an overlap check compares with the
engine's are read without touching the digests, and pruning drops whole minutes.
"""

from __future__ import annotations

import base64
import hashlib
from array import array
from typing import Any, Iterable, Iterator, Mapping

FORMAT = 2  # the stored form's version (1: a plain {"index/_id": timestamp} object)
_HEADER = 120  # 60 uint16 counts
_ZERO = bytes(_HEADER)


def digest(key: str) -> bytes:
    return hashlib.blake2b(key.encode(), digest_size=8).digest()


class SeenIds:
    """A set of (id, second) with per-second counts; see the module docstring."""

    __slots__ = ("_minutes",)

    def __init__(self, items: Mapping[str, float] | Iterable[tuple[str, float]] | None = None):
        self._minutes: dict[int, bytes] = {}
        if items:
            self.update(items)

    # --- adding and asking --------------------------------------------------------------
    def update(self, items: Mapping[str, float] | Iterable[tuple[str, float]]) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        by_minute: dict[int, list[tuple[int, bytes]]] = {}
        for key, moment in pairs:
            second = int(moment // 1)
            by_minute.setdefault(second // 60, []).append((second % 60, digest(key)))
        for minute, new in by_minute.items():
            per_second = self._unpack(minute)
            for offset, d in new:
                ids = per_second[offset]
                if d not in ids:
                    ids.append(d)
            self._pack(minute, per_second)

    def __setitem__(self, key: str, moment: float) -> None:
        self.update([(key, moment)])

    def has(self, key: str, moment: float) -> bool:
        """Whether ``key`` with a timestamp of ``moment`` was seen."""
        second = int(moment // 1)
        chunk = self._minutes.get(second // 60)
        if chunk is None:
            return False
        counts = memoryview(chunk)[:_HEADER].cast("H")
        offset = second % 60
        start = _HEADER + 8 * sum(counts[:offset])
        return _find(chunk, digest(key), start, start + 8 * counts[offset])

    def __contains__(self, key: object) -> bool:
        """Without its timestamp: looked for in every minute (for tests and tools)."""
        if not isinstance(key, str):
            return False
        d = digest(key)
        return any(_find(chunk, d, _HEADER, len(chunk)) for chunk in self._minutes.values())

    def counts(self, start: int, end: int) -> dict[int, int]:
        """Documents per second (epoch seconds) in [start, end), seconds without any left out."""
        out: dict[int, int] = {}
        for minute in range(start // 60, (end - 1) // 60 + 1):
            chunk = self._minutes.get(minute)
            if chunk is None:
                continue
            counts = memoryview(chunk)[:_HEADER].cast("H")
            base = minute * 60
            for offset in range(max(0, start - base), min(60, end - base)):
                if counts[offset]:
                    out[base + offset] = counts[offset]
        return out

    def forget_before(self, moment: float) -> None:
        """Drop the minutes wholly before ``moment`` (up to a minute more is kept)."""
        first = int(moment // 60)
        for minute in [m for m in self._minutes if m < first]:
            del self._minutes[minute]

    def clear(self) -> None:
        self._minutes.clear()

    def copy(self) -> "SeenIds":
        out = SeenIds()
        out._minutes = dict(self._minutes)  # bytes are immutable: shared
        return out

    def __len__(self) -> int:
        return sum((len(chunk) - _HEADER) // 8 for chunk in self._minutes.values())

    def __bool__(self) -> bool:
        return bool(self._minutes)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            other = SeenIds(other)
        if not isinstance(other, SeenIds):
            return NotImplemented
        return self._sets() == other._sets()

    def __repr__(self) -> str:
        return f"SeenIds({len(self)} ids in {len(self._minutes)} minutes)"

    # --- the stored form ----------------------------------------------------------------
    def record(self) -> dict[str, Any]:
        return {"v": FORMAT, "m": {str(m): base64.b64encode(c).decode("ascii") for m, c in self._minutes.items()}}

    @classmethod
    def from_record(cls, value: Any) -> "SeenIds":
        """The stored form, or the older plain ``{"index/_id": timestamp}`` object."""
        if isinstance(value, SeenIds):
            return value.copy()
        out = cls()
        if value is None:
            return out
        if not isinstance(value, Mapping):
            raise ValueError(f"seen: not an object: {type(value).__name__}")
        if value.get("v") == FORMAT and isinstance(value.get("m"), Mapping):
            for minute, text in value["m"].items():
                chunk = base64.b64decode(text, validate=True)
                counts = memoryview(chunk)[:_HEADER].cast("H") if len(chunk) >= _HEADER else None
                if counts is None or len(chunk) != _HEADER + 8 * sum(counts):
                    raise ValueError(f"seen: minute {minute}: damaged")
                out._minutes[int(minute)] = chunk
            return out
        out.update([(str(k), float(v)) for k, v in value.items()])  # a damaged value raises
        return out

    # --- internals ----------------------------------------------------------------------
    def _unpack(self, minute: int) -> list[list[bytes]]:
        chunk = self._minutes.get(minute)
        per_second: list[list[bytes]] = [[] for _ in range(60)]
        if chunk is None:
            return per_second
        counts = memoryview(chunk)[:_HEADER].cast("H")
        at = _HEADER
        for offset in range(60):
            n = counts[offset]
            per_second[offset] = [chunk[i:i + 8] for i in range(at, at + 8 * n, 8)]
            at += 8 * n
        return per_second

    def _pack(self, minute: int, per_second: list[list[bytes]]) -> None:
        counts = array("H", (len(ids) for ids in per_second))
        self._minutes[minute] = counts.tobytes() + b"".join(d for ids in per_second for d in ids)

    def _sets(self) -> dict[int, frozenset[bytes]]:
        out = {}
        for minute in self._minutes:
            for offset, ids in enumerate(self._unpack(minute)):
                if ids:
                    out[minute * 60 + offset] = frozenset(ids)
        return out

    def __iter__(self) -> Iterator[Any]:
        raise TypeError("SeenIds keeps digests, not the ids: use has(id, timestamp) or copy()")


def _find(chunk: bytes, d: bytes, start: int, end: int) -> bool:
    """``d`` at an 8-byte boundary (from ``start``) within chunk[start:end]."""
    at = chunk.find(d, start, end)
    while at != -1:
        if (at - start) % 8 == 0:
            return True
        at = chunk.find(d, at + 1, end)
    return False
