"""Keeping a long synthesis job's C heap at the size of one piece of text (glibc; elsewhere these
functions do nothing).

The CPU vocoder's activations are buffers of tens of megabytes whose sizes change from piece to
piece. glibc serves such buffers from fresh mappings at first, but after the first one is freed
it raises its mapping threshold above them and serves the next ones from the heap, where they
stay resident once freed and fragment it: a long job's memory then grows far past what one
piece needs. :func:`bound_heap` fixes the threshold (every buffer of 256 KiB or more is its own
mapping, returned to the system when freed); :func:`release_freed_memory` gives back the free
pages the heap still holds."""

from __future__ import annotations

import ctypes
import functools
from typing import Any

__all__ = ["bound_heap", "release_freed_memory"]

_M_MMAP_THRESHOLD = -3
"""glibc's ``mallopt`` parameter number for the mapping threshold (malloc.h)."""


@functools.cache
def _libc() -> Any:
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") and hasattr(libc, "mallopt") else None
    except OSError:
        return None


def bound_heap(threshold: int = 256 * 1024) -> bool:
    """Serve every allocation of ``threshold`` bytes or more from its own mapping from now on
    (glibc's dynamic threshold is turned off). Returns whether the C library took the setting."""
    libc = _libc()
    return libc is not None and bool(libc.mallopt(_M_MMAP_THRESHOLD, int(threshold)))


def release_freed_memory() -> None:
    """Give the heap's free pages back to the system (``malloc_trim``)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
