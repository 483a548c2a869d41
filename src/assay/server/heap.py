"""The C heap of a long-running server (glibc): fewer arenas, and free pages given back.

Every thread that allocates while another holds its arena gets an arena of its own (glibc makes
up to 8 per core), and memory freed in an arena stays resident until the arena's top is free.
A server whose threads take turns computing large, short-lived arrays (compare, thumbnails,
predicts) so keeps each thread's peak long after it ended: in the heavy soak (benchmarks/
soak.py --heavy, 50 clients) the server's RSS grew window after window to 3.5 GB with the
default arenas, and stayed near 2 GB with two. :func:`limit_arenas` caps the arenas at
``ARENAS`` (unless ``MALLOC_ARENA_MAX`` is set: the operator's choice wins) and :func:`trim`
gives the free pages of every arena back (``malloc_trim``), called after each costly
computation (:mod:`assay.server.gates`). Elsewhere than glibc both do nothing.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import sys

ARENAS = 2  # malloc arenas of the server process (glibc's default: 8 per core)
_M_ARENA_MAX = -8  # mallopt's parameter (malloc.h)

_libc: ctypes.CDLL | None = None
if sys.platform.startswith("linux"):
    with contextlib.suppress(OSError, AttributeError):
        _candidate = ctypes.CDLL("libc.so.6")
        if hasattr(_candidate, "malloc_trim") and hasattr(_candidate, "mallopt"):
            _libc = _candidate


def limit_arenas(arenas: int = ARENAS) -> bool:
    """Cap the arenas glibc makes from now on (threads started later share them); whether it
    was set (False: not glibc, or ``MALLOC_ARENA_MAX`` given)."""
    if _libc is None or os.environ.get("MALLOC_ARENA_MAX"):
        return False
    return bool(_libc.mallopt(_M_ARENA_MAX, int(arenas)))


def trim() -> None:
    """Give the free pages of every arena back to the system (a few ms on a large heap)."""
    if _libc is not None:
        _libc.malloc_trim(0)
