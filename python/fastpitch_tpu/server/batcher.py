"""Dynamic batching: one device worker thread serves a bounded queue of synthesis jobs.

Handlers (on the event loop) :meth:`Batcher.submit` a job and await its future. The worker takes
the first waiting job, then keeps collecting for at most ``max_wait_ms`` or until ``max_batch``
jobs are there (only while requests come together: after a batch of one, a lone request is not
kept waiting for company), and runs them together with :meth:`Synthesizer.synthesize_requests` (the engine
packs them into its compiled batch buckets). Jobs whose future was cancelled (client gone,
deadline passed) are dropped before they take a slot in a batch. A job that fails fails alone.

Admission: a job given a deadline is refused at once (:class:`DeadlineUnmet`) when the work
ahead of it would not be done in time, as the batcher's
:class:`~fastpitch_tpu.server.admission.Admission` judges from the batches it has timed.
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
from fastpitch_tpu.engine import CompileStatus, SynthesisOptions, Synthesizer
from fastpitch_tpu.server.admission import Admission, Backlog

__all__ = ["Batcher", "DeadlineUnmet", "Job", "QueueFull", "Rejected"]

log = logging.getLogger("fastpitch_tpu.server")


class Rejected(Exception):
    """A job refused before it was queued; ``retry_after``: seconds after which a retry may
    be admitted."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueueFull(Rejected):
    """The queue holds ``max_queue`` jobs already (or the batcher is stopping)."""


class DeadlineUnmet(Rejected):
    """The work queued ahead would not be done before the job's deadline."""


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
        self._busy_chars = 0
        self._busy_since = 0.0
        self.admission = Admission(max_batch)
        """Times the batches and judges whether a job with a deadline can be admitted."""
        self.clock: Callable[[], float] = time.monotonic
        """The time of deadlines and of the batches' timing (a test may give its own)."""
        self._last_batch = max_batch
        self._warmup = warmup
        self.ready = threading.Event()
        """Set once requests can be served: at once without ``warmup`` or once the bucket
        shapes compile in the background, after compiling them where requests would wait."""
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

    def submit(self, text: str, options: SynthesisOptions, deadline: float | None = None) -> Job:
        """The queued job; :class:`QueueFull` or :class:`DeadlineUnmet` (a time of
        :attr:`clock`, none: no deadline check) at once when it cannot be taken."""
        return self.submit_many([text], options, deadline)[0]

    def submit_many(self, texts: list[str], options: SynthesisOptions,
                    deadline: float | None = None) -> list[Job]:
        """Queues every text or none (refused as :meth:`submit` refuses one)."""
        jobs = [Job(text, options) for text in texts]
        with self._cond:
            if self._stopping:
                raise QueueFull("the server is shutting down")
            self._drop_cancelled()
            if len(self._queue) + len(jobs) > self.max_queue:
                raise QueueFull(f"{len(self._queue)} requests are waiting",
                                self.admission.drain_retry_after(self.backlog()))
            if deadline is not None:
                budget = deadline - self.clock()
                verdict = self.admission.decide(self.backlog(), len(jobs),
                                                sum(len(t) for t in texts), budget)
                if not verdict.admit:
                    raise DeadlineUnmet(f"the work queued ahead takes about "
                                        f"{verdict.expected_s:.1f} s; {budget:.1f} s are left",
                                        verdict.retry_after_s)
            self._queue.extend(jobs)
            self._cond.notify()
        return jobs

    def backlog(self) -> Backlog:
        """The work a job queued now would wait for."""
        with self._cond:
            return Backlog(len(self._queue), sum(len(j.text) for j in self._queue), self._busy,
                           self._busy_chars, self.clock() - self._busy_since)

    def stop(self, timeout: float | None = None) -> None:
        """Finish every queued job, then end the worker; the background compilation finishes
        the shape it is at and starts no other (a process that exits while a compiler runs on
        another thread can abort in the compiler's C++ code)."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        self._thread.join(timeout)
        stop_compiling = getattr(self.synth, "stop_compiling", None)
        if stop_compiling is not None:
            stop_compiling(timeout=timeout if timeout is not None else 120.0)

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
            self._busy_chars = sum(len(j.text) for j in batch)
            self._busy_since = self.clock()
            self._last_batch = len(batch)
            return batch

    def _loop(self) -> None:
        if self._warmup:
            self._compile()
        self.ready.set()
        while True:
            batch = self._take()
            if not batch:
                with self._cond:
                    if self._stopping and not self._queue:
                        return
                continue
            self._run(batch)

    def _compile(self) -> None:
        """Compile the voice's bucket shapes: in the background where requests meanwhile run
        on a compile-free path (ready as soon as that has started), else, where the backend
        has none or the synthesizer no background compilation, before the worker takes its
        first job."""
        start = getattr(self.synth, "compile_in_background", None)
        t0 = time.monotonic()
        try:
            if start is not None and start().uncompiled_path is not None:
                return
            n = self.synth.warmup(progress=False)
            log.info("%d graphs compiled in %.1f s", n, time.monotonic() - t0)
        except Exception:
            log.exception("warm-up failed; graphs will compile on first use")

    def compile_status(self) -> CompileStatus | None:
        """Where the compilation of the voice's bucket shapes stands (None where the
        synthesizer reports none)."""
        status = getattr(self.synth, "compile_status", None)
        return None if status is None else status()

    def _run(self, batch: list[Job]) -> None:
        """Speaks a batch, answers its jobs and times it for admission (the characters of the
        jobs that succeeded only: a refused text costs the device nothing)."""
        if self.on_batch is not None:
            self.on_batch(len(batch))
        try:
            results = self.synth.synthesize_requests([(j.text, j.options) for j in batch])
        except Exception as e:  # the engine isolates failures; this is a last resort
            log.exception("batch of %d failed", len(batch))
            results = [e] * len(batch)
        done = [job for job, result in zip(batch, results) if not isinstance(result, Exception)]
        self.admission.estimate.observe(len(done), sum(len(j.text) for j in done),
                                        self.clock() - self._busy_since)
        for job, result in zip(batch, results):
            if isinstance(result, Exception):
                job.future.set_exception(result)
            else:
                job.future.set_result(result)
        with self._cond:
            self._busy = 0
