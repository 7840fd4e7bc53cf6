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
    """A request not answered by then gets 504."""
    warmup: bool = True
    """Compile every bucket before /readyz says ready."""
    retry_after_s: int = 1
