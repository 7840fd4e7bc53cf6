"""Giving a long synthesis job's freed memory back to the system (glibc; elsewhere nothing).

The CPU vocoder's activations are buffers of tens of megabytes whose sizes change from piece to
piece. Once glibc has freed one such mapping it raises its mapping threshold above them and
serves the next ones from the heap, where they stay resident after they are freed: without
:func:`release_freed_memory` between pieces a long job's memory grows with its length. (Fixing
the threshold instead keeps the heap small too, but every buffer then costs fresh pages, which
slows the CPU vocoder down: docs/performance.md has the measurement.)"""

from __future__ import annotations

import ctypes
import functools
from typing import Any

__all__ = ["release_freed_memory"]

@functools.cache
def _libc() -> Any:
    try:
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_freed_memory() -> None:
    """Give the heap's free pages back to the system (``malloc_trim``)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
