"""The server's limits and batching settings."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ServerConfig"]


@dataclass(frozen=True)
class ServerConfig:
    max_batch: int = 16
    """Most requests run together on the device."""
    max_wait_ms: float = 5.0
    """How long the worker waits for more requests to fill a batch (not after a batch of
    one: a lone client is not kept waiting)."""
    max_queue: int = 256
    """Requests waiting beyond this are refused with 503."""
    max_chars: int = 5000
    """Longest text per request (413 beyond)."""
    max_body_bytes: int = 256 * 1024
    """Largest request body (413 beyond)."""
    deadline_s: float = 60.0
    """A request not answered by then gets 504; the longest a request's ``X-Request-Timeout``
    may ask for."""
    warmup: bool = True
    """Compile every bucket shape: in the background while requests run uncompiled (ready at
    once), or, where the backend has no compile-free path, before /readyz says ready."""
    retry_after_s: int = 1
    """The least ``Retry-After`` of a 503 (and its value before anything is measured)."""
    admission_headroom: float = 0.85
    """A request is admitted when the device's measured pace says it would be done within
    this share of its time left (503 at once otherwise)."""
