"""What the daemon asks of glibc's allocator so its RSS follows what is live.

A tick parses its answers into many small objects freed when it ends; glibc keeps freed
pages in its arenas, so without help the process's RSS stays at its busiest tick's.
Each worker thread would also get an arena of its own (up to 8 per core), each holding
its own freed pages. Elsewhere (musl, macOS) both are no-ops.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from typing import Any

M_ARENA_MAX = -8  # glibc's mallopt parameter number
ARENAS = 2  # what the container image sets (MALLOC_ARENA_MAX=2), for every way of running


def _libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim, libc.mallopt  # noqa: B018 - glibc only
        return libc
    except (OSError, AttributeError):
        return None


_glibc = _libc()


def release() -> None:
    """Give freed pages back to the OS (after each tick)."""
    if _glibc is not None:
        _glibc.malloc_trim(0)


def limit_arenas(environ: os._Environ[str] | dict[str, str] = os.environ) -> bool:
    """At most ARENAS malloc arenas, unless MALLOC_ARENA_MAX says otherwise; call before
    the worker threads start. True when the limit was set here."""
    if _glibc is None or environ.get("MALLOC_ARENA_MAX"):
        return False
    return bool(_glibc.mallopt(M_ARENA_MAX, ARENAS))
