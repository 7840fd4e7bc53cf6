"""What the routes share: the voices, one :class:`~fastpitch_tpu.server.batcher.Batcher` per
voice, the configuration, the Prometheus metrics and whether the server is shutting down.

One :class:`ServerState` is made per application (by :func:`~fastpitch_tpu.server.create_app`)
and kept as ``app.state.server``; routes reach it through
:func:`~fastpitch_tpu.server.dependencies.get_state`, which a test can override.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from fastpitch_tpu.engine import Synthesizer
from fastpitch_tpu.server.batcher import Batcher
from fastpitch_tpu.server.config import ServerConfig

__all__ = ["Metrics", "ServerState"]


class Metrics:
    """The server's Prometheus collectors, in a registry of their own (not the process-wide
    default one, so that several applications in one process do not clash)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("tts_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=self.registry)
        self.queue_depth = Gauge("tts_queue_depth", "Requests waiting for the device",
                                 registry=self.registry)
        self.batch_size = Histogram("tts_batch_size", "Requests per device batch",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
                                    registry=self.registry)
        self.latency = Histogram("tts_request_latency_seconds", "Request latency by endpoint",
                                 ["endpoint"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                                          10, 30, 60))
        self.audio_seconds = Counter("tts_audio_seconds", "Seconds of audio produced",
                                     registry=self.registry)


@dataclass
class ServerState:
    """The voices (name → synthesizer, ``"default"`` first) and everything built around them."""

    voices: dict[str, Synthesizer]
    config: ServerConfig
    metrics: Metrics
    batchers: dict[str, Batcher]
    draining: bool = field(default=False)
    """Set when shutdown begins: new work is refused with 503, /readyz says so."""

    @classmethod
    def create(cls, voices: dict[str, Synthesizer],
               config: ServerConfig | None = None) -> ServerState:
        """A batcher per voice (not started: :meth:`start` does that) reporting to new
        metrics."""
        if not voices:
            raise ValueError("at least one voice is needed")
        cfg = config or ServerConfig()
        metrics = Metrics()
        batchers = {
            name: Batcher(synth, max_batch=cfg.max_batch, max_wait_ms=cfg.max_wait_ms,
                          max_queue=cfg.max_queue, on_batch=metrics.batch_size.observe,
                          warmup=cfg.warmup)
            for name, synth in voices.items()
        }
        metrics.queue_depth.set_function(lambda: sum(b.depth for b in batchers.values()))
        return cls(dict(voices), cfg, metrics, batchers)

    @property
    def default_voice(self) -> str:
        return next(iter(self.voices))

    @property
    def ready(self) -> bool:
        """Every voice's batcher has compiled its buckets."""
        return all(b.ready.is_set() for b in self.batchers.values())

    def start(self) -> None:
        for b in self.batchers.values():
            b.start()

    async def stop(self) -> None:
        """Refuse new work, then let every batcher finish what it holds (off the event loop,
        so that the requests being drained still get their answers)."""
        self.draining = True
        for b in self.batchers.values():
            await asyncio.to_thread(b.stop)
