"""What the routes share: the voices, one :class:`~fastpitch_tpu.server.batcher.Batcher` per
voice, the configuration, the Prometheus metrics and whether the server is shutting down.

One :class:`ServerState` is made per application (by :func:`~fastpitch_tpu.server.create_app`)
and kept as ``app.state.server``; routes reach it through
:func:`~fastpitch_tpu.server.dependencies.get_state`, which a test can override.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fastpitch_tpu.engine import Synthesizer
from fastpitch_tpu.server.admission import Admission
from fastpitch_tpu.server.batcher import Batcher
from fastpitch_tpu.server.config import ServerConfig

__all__ = ["CompileProgress", "Metrics", "ServerState"]


class CompileProgress(Collector):
    """Each voice's bucket shapes compiled and to compile, and the seconds its requests ran on
    the compile-free path meanwhile, read from its synthesizer when scraped."""

    def __init__(self, batchers: dict[str, Batcher]) -> None:
        self.batchers = batchers

    def collect(self) -> Iterator[Metric]:
        compiled = GaugeMetricFamily("tts_compiled_bucket_shapes",
                                     "Bucket shapes compiled, by voice", labels=["voice"])
        total = GaugeMetricFamily("tts_bucket_shapes", "Bucket shapes to compile, by voice",
                                  labels=["voice"])
        seconds = CounterMetricFamily("tts_uncompiled_seconds", "Seconds requests ran on "
                                      "the compile-free path while their shapes compiled, by "
                                      "voice", labels=["voice"])
        for name, batcher in self.batchers.items():
            status = batcher.compile_status()
            if status is not None:
                compiled.add_metric([name], status.compiled)
                total.add_metric([name], status.total)
                seconds.add_metric([name], status.uncompiled_seconds)
        yield from (compiled, total, seconds)


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
        self.rejected = Counter("tts_rejected", "Requests refused with 503 at admission, by "
                                "voice and reason (queue_full, deadline, draining)",
                                ["voice", "reason"], registry=self.registry)
        self.deadline_exceeded = Counter("tts_deadline_exceeded", "Admitted requests that "
                                         "missed their deadline (504, or a stream ended early)",
                                         ["endpoint"], registry=self.registry)
        self.service_rate = Gauge("tts_service_rate_chars_per_second", "Estimated characters "
                                  "per second of a voice's device in full batches",
                                  ["voice"], registry=self.registry)
        self.expected_wait = Gauge("tts_expected_wait_seconds", "Estimated seconds until a "
                                   "request of the usual length queued now would be done",
                                   ["voice"], registry=self.registry)

    def watch(self, voice: str, batcher: Batcher) -> None:
        """Reports the voice's estimated service rate and wait."""
        admission = batcher.admission
        self.service_rate.labels(voice).set_function(
            lambda: admission.estimate.chars_per_second(admission.max_batch))
        self.expected_wait.labels(voice).set_function(
            lambda: admission.expected_wait(batcher.backlog(), 1,
                                            round(admission.estimate.chars_per_job)) or 0.0)


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
        for name, b in batchers.items():
            b.admission = Admission(cfg.max_batch, headroom=cfg.admission_headroom,
                                    default_retry_s=cfg.retry_after_s)
            metrics.watch(name, b)
        metrics.registry.register(CompileProgress(batchers))
        return cls(dict(voices), cfg, metrics, batchers)

    @property
    def default_voice(self) -> str:
        return next(iter(self.voices))

    @property
    def ready(self) -> bool:
        """Every voice's batcher can serve requests (its bucket shapes compiled, or compiling
        in the background while requests run uncompiled)."""
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
