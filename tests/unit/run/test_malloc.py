"""The allocator settings the daemon makes (glibc; elsewhere nothing happens)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from logalert.run import malloc

glibc_only = pytest.mark.skipif(malloc._glibc is None, reason="not glibc")


def test_an_explicit_malloc_arena_max_is_left_alone():
    assert malloc.limit_arenas({"MALLOC_ARENA_MAX": "8"}) is False


@glibc_only
def test_arenas_are_limited_before_threads_start():
    # In a fresh process: once set, the limit holds for the rest of it.
    code = ("from logalert.run import malloc; import sys; "
            "sys.exit(0 if malloc.limit_arenas({}) else 1)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0

