"""What one query check found, before it is tied to a file, a line and an option."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Finding:
    """A finding inside one query text.

    ``offset`` is 0-based in the text (reported as a 1-based ``col``); a ``fatal`` one is
    a query the engine would refuse, the others are queries it runs but that probably
    do not mean what their author thinks.
    """

    offset: int
    message: str
    fatal: bool = False
