"""Dynamic batching: one device worker thread serves a bounded queue of synthesis jobs.

Handlers (on the event loop) :meth:`Batcher.submit` a job and await its future. The worker takes
the first waiting job, then keeps collecting for at most ``max_wait_ms`` or until ``max_batch``
jobs are there (only while requests come together: after a batch of one, a lone request is not
kept waiting for company), and runs them together with :meth:`Synthesizer.synthesize_requests` (the engine
packs them into its compiled batch buckets). Jobs whose future was cancelled (client gone,
deadline passed) are dropped before they take a slot in a batch. A job that fails fails alone.
"""

from __future__ import annotations

import collections
import concurrent.futures
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastpitch_tpu.audio import Audio
from fastpitch_tpu.engine import SynthesisOptions, Synthesizer

__all__ = ["Batcher", "Job", "QueueFull"]

log = logging.getLogger("fastpitch_tpu.server")


class QueueFull(Exception):
    """The queue holds ``max_queue`` jobs already."""


@dataclass
class Job:
    text: str
    options: SynthesisOptions
    future: concurrent.futures.Future[Audio] = field(default_factory=concurrent.futures.Future)
    enqueued: float = field(default_factory=time.monotonic)


class Batcher:
    """One worker thread per :class:`Synthesizer` (one per device)."""

    def __init__(self, synth: Synthesizer, *, max_batch: int, max_wait_ms: float, max_queue: int,
                 on_batch: Callable[[int], None] | None = None, warmup: bool = False) -> None:
        if max_batch < 1 or max_queue < 1 or max_wait_ms < 0:
            raise ValueError("max_batch and max_queue must be positive, max_wait_ms not negative")
        self.synth = synth
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000.0
        self.max_queue = max_queue
        self.on_batch = on_batch
        self._queue: collections.deque[Job] = collections.deque()
        self._cond = threading.Condition()
        self._stopping = False
        self._busy = 0
        self._last_batch = max_batch
        self._warmup = warmup
        self.ready = threading.Event()
        """Set once the worker has compiled every bucket (at once without ``warmup``)."""
        self._thread = threading.Thread(target=self._loop, name="fastpitch-tpu-device",
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    @property
    def depth(self) -> int:
        """Jobs waiting (not counting the batch on the device)."""
        with self._cond:
            return len(self._queue)

    @property
    def in_flight(self) -> int:
        with self._cond:
            return len(self._queue) + self._busy

    def submit(self, text: str, options: SynthesisOptions) -> Job:
        job = Job(text, options)
        with self._cond:
            if self._stopping:
                raise QueueFull("the server is shutting down")
            self._drop_cancelled()
            if len(self._queue) >= self.max_queue:
                raise QueueFull(f"{len(self._queue)} requests are waiting")
            self._queue.append(job)
            self._cond.notify()
        return job

    def stop(self, timeout: float | None = None) -> None:
        """Finish every queued job, then end the worker."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)

    def _drop_cancelled(self) -> None:
        if any(j.future.cancelled() for j in self._queue):
            self._queue = collections.deque(j for j in self._queue if not j.future.cancelled())

    def _take(self) -> list[Job]:
        with self._cond:
            while not self._queue and not self._stopping:
                self._cond.wait()
            if not self._queue:
                return []
            # Wait for more only when the last batch had company: a single client gets its
            # answer without the batching window, a busy server still fills its batches.
            wait = self.max_wait if self._last_batch > 1 else 0.0
            deadline = time.monotonic() + wait
            while len(self._queue) < self.max_batch and not self._stopping:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(left)
            batch: list[Job] = []
            while self._queue and len(batch) < self.max_batch:
                job = self._queue.popleft()
                # False when the job was cancelled meanwhile: it takes no slot.
                if job.future.set_running_or_notify_cancel():
                    batch.append(job)
            self._busy = len(batch)
            self._last_batch = len(batch)
            return batch

    def _loop(self) -> None:
        if self._warmup:
            # On the worker's own thread: the backend is only ever used from this thread.
            t0 = time.monotonic()
            try:
                n = self.synth.warmup(progress=False)
                log.info("%d graphs compiled in %.1f s", n, time.monotonic() - t0)
            except Exception:
                log.exception("warm-up failed; graphs will compile on first use")
        self.ready.set()
        while True:
            batch = self._take()
            if not batch:
                with self._cond:
                    if self._stopping and not self._queue:
                        return
                continue
            if self.on_batch is not None:
                self.on_batch(len(batch))
            try:
                results = self.synth.synthesize_requests([(j.text, j.options) for j in batch])
            except Exception as e:  # the engine isolates failures; this is a last resort
                log.exception("batch of %d failed", len(batch))
                results = [e] * len(batch)
            for job, result in zip(batch, results):
                if isinstance(result, Exception):
                    job.future.set_exception(result)
                else:
                    job.future.set_result(result)
            with self._cond:
                self._busy = 0
