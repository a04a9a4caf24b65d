"""glibc malloc settings for a long-running server that decodes large images on many threads.

Without them, resident memory climbs and is never given back: glibc gives each busy thread its
own arena (up to 8 per core) and, after the first large block is freed, raises its mmap threshold
(up to 32 MB), so later image buffers land in arenas where freed memory stays resident.
MALLOC_ARENA_MAX only works if it is in the environment before the process starts; `mallopt`
sets the same limits from inside the process, as long as it runs before the worker threads
exist, so `python -m app` calls `tune()` first thing and no re-exec is needed.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os

from registry import settings

M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8

log = logging.getLogger("cnnlens")


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        libc.mallopt  # noqa: B018 - present only in glibc
    except (OSError, AttributeError):
        return None
    return libc


def tune(arenas: int = 2, mmap_threshold: int = 1 << 20, trim_threshold: int = 16 << 20) -> bool:
    """Cap the arenas and fix the mmap threshold (blocks above it go straight back to the system).

    Returns False where it does not apply (not glibc; CNNLENS_MALLOC_TUNING=0). MALLOC_ARENA_MAX
    already in the environment wins over `arenas`.
    """
    if not settings.value("CNNLENS_MALLOC_TUNING"):
        return False
    libc = _libc()
    if libc is None:
        return False
    if "MALLOC_ARENA_MAX" not in os.environ:
        libc.mallopt(M_ARENA_MAX, arenas)
    libc.mallopt(M_MMAP_THRESHOLD, mmap_threshold)  # setting it also stops glibc raising it later
    libc.mallopt(M_TRIM_THRESHOLD, trim_threshold)
    return True
