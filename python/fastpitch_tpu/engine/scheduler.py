"""Batch scheduling: chunks grouped into batches of one token bucket, the batches spread over
the device replicas and run with each batch's audio copied out while the device works on the
next one; a batch that fails is run again row by row so that only the culprit fails."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from fastpitch_tpu.audio import Audio
from fastpitch_tpu.backends import Backend
from fastpitch_tpu.engine.buckets import Buckets
from fastpitch_tpu.engine.chunking import Chunk, device_error
from fastpitch_tpu.engine.durations import frames_per_token
from fastpitch_tpu.engine.replicas import on_replicas
from fastpitch_tpu.engine.silence import trim_silence

__all__ = ["BatchScheduler", "Results"]

log = logging.getLogger("fastpitch_tpu")

Results = list[Audio | Exception | None]
"""Per text index: the error that text failed with (None: none so far)."""

Finished = Callable[[list[Chunk]], None]
Denoise = Callable[[NDArray[np.float32], float], NDArray[np.float32]]


@dataclass
class _Started:
    """A batch whose decoding is under way: its rows' frame counts and the backend's function
    that waits for the audio."""

    frames: NDArray[np.int64]
    audio: Callable[[], NDArray[np.float32]]


def _ignore(batch: list[Chunk]) -> None:
    pass


class BatchScheduler:
    """Runs chunks on ``replicas`` (the first one also runs single batches) padded to
    ``buckets``; each chunk's audio is cut to exactly ``frames × hop_length`` samples, then
    denoised (``denoise(samples, strength)``) and its silent ends trimmed where its options ask
    for it."""

    def __init__(self, replicas: Sequence[Backend], buckets: Buckets, padding_idx: int,
                 hop_length: int, denoise: Denoise, sample_rate: int = 22050) -> None:
        self.replicas = replicas
        self.buckets = buckets
        self.padding_idx = padding_idx
        self.hop_length = hop_length
        self.denoise = denoise
        self.sample_rate = sample_rate

    def batches(self, chunks: list[Chunk], rows: int) -> list[list[Chunk]]:
        """``chunks`` sorted by length into batches of one token bucket each, of at most
        ``rows`` chunks."""
        batches: list[list[Chunk]] = []
        for chunk in sorted(chunks, key=lambda c: len(c.ids)):
            bucket = self.buckets.token_bucket(len(chunk.ids))
            if (batches and len(batches[-1]) < rows
                    and self.buckets.token_bucket(len(batches[-1][0].ids)) == bucket):
                batches[-1].append(chunk)
            else:
                batches.append([chunk])
        return batches

    def run(self, batches: list[list[Chunk]], results: Results,
            finished: Finished = _ignore) -> None:
        """Run ``batches``, on every replica where there are several of each; ``finished`` is
        called (on one thread at a time) with each batch once its chunks are done. A chunk that
        fails gets its error in ``results`` under its text index."""
        if len(self.replicas) == 1 or len(batches) == 1:
            self.run_batches(batches, results, self.replicas[0], finished)
        else:
            self._run_spread(batches, results, finished)

    def _run_spread(self, batches: list[list[Chunk]], results: Results,
                    finished: Finished) -> None:
        """Run ``batches`` over every replica at once: each device thread takes the next batch
        as soon as it is free (the longest batches first, so the last ones are short)."""
        pending = queue.SimpleQueue[list[Chunk]]()
        for batch in sorted(batches, key=lambda bt: -max(len(c.ids) for c in bt) * len(bt)):
            pending.put(batch)
        lock = threading.Lock()

        def taken() -> Iterator[list[Chunk]]:
            while True:
                try:
                    yield pending.get_nowait()
                except queue.Empty:
                    return

        def done(batch: list[Chunk]) -> None:
            with lock:
                finished(batch)

        on_replicas(self.replicas, lambda backend: self.run_batches(taken(), results, backend,
                                                                    done))

    def run_batches(self, batches: Iterable[list[Chunk]], results: Results, backend: Backend,
                    finished: Finished) -> None:
        """Run ``batches`` one after another on ``backend``, each batch's audio copied out while
        the device already works on the next one (where the backend's ``decode_async`` returns
        early). A batch that fails is run again row by row at the end, so that only the
        culprit fails."""
        failed: list[list[Chunk]] = []
        in_flight: tuple[list[Chunk], _Started] | None = None

        def settle(batch: list[Chunk], started: _Started) -> None:
            try:
                self._finish_batch(batch, started)
            except Exception:
                log.exception("a batch of %d failed", len(batch))
                failed.append(batch)
                return
            finished(batch)

        for batch in batches:
            started: _Started | None = None
            try:
                started = self._start_batch(batch, backend)
            except Exception:
                log.exception("a batch of %d failed", len(batch))
                failed.append(batch)
            if in_flight is not None:
                settle(*in_flight)
            in_flight = None if started is None else (batch, started)
        if in_flight is not None:
            settle(*in_flight)
        for batch in failed:  # nothing else in flight now
            self._run_rows(batch, results, backend)
            finished(batch)

    def _run_rows(self, batch: list[Chunk], results: Results, backend: Backend) -> None:
        """After ``batch`` failed: run its chunks one by one, so that only the culprit fails."""
        if len(batch) == 1:
            results[batch[0].text_index] = device_error(batch[0])
            return
        log.info("retrying the failed batch's %d rows one by one", len(batch))
        for chunk in batch:
            try:
                self.run_batch([chunk], backend)
            except Exception:
                log.exception("text %d failed", chunk.text_index)
                results[chunk.text_index] = device_error(chunk)

    def run_batch(self, batch: list[Chunk], backend: Backend | None = None) -> None:
        """Run one batch at once (on the first replica unless told); errors are raised."""
        backend = backend or self.replicas[0]
        self._finish_batch(batch, self._start_batch(batch, backend))

    def _start_batch(self, batch: list[Chunk], backend: Backend) -> _Started:
        """Encode ``batch`` and start its decoding."""
        b = self.buckets
        # Compiled graphs need the bucket shapes; eager execution runs the exact batch (padding
        # rows would only add work). The frame count follows the backend's ``pads_frames``.
        n = b.batch_bucket(len(batch)) if backend.compiles else len(batch)
        t = b.token_bucket(max(len(c.ids) for c in batch))
        ids = np.full((n, t), self.padding_idx, dtype=np.int64)
        speaker = np.zeros(n, np.int64)
        shift = np.zeros(n, np.float32)
        scale = np.ones(n, np.float32)
        pace = np.ones(n, np.float32)
        for row, c in enumerate(batch):
            ids[row, : len(c.ids)] = c.ids
            speaker[row] = c.options.speaker
            shift[row] = c.options.pitch_shift
            scale[row] = c.options.pitch_scale
            pace[row] = c.options.pace
        hidden, durations = backend.encode(ids, speaker, shift, scale)
        reps, frames = frames_per_token(durations, pace, len(batch), b.max_tokens)
        n_frames = max(1, int(frames.max()))
        if backend.pads_frames:
            n_frames = b.frame_bucket(n_frames)
        return _Started(frames, backend.decode_async(hidden, reps, speaker, n_frames))

    def _finish_batch(self, batch: list[Chunk], started: _Started) -> None:
        """Wait for ``batch``'s audio and give each chunk its samples."""
        audio = started.audio()
        for row, c in enumerate(batch):
            # A copy: the backend reuses its output buffers for later batches.
            samples = np.array(audio[row, : int(started.frames[row]) * self.hop_length],
                               np.float32)
            if c.options.denoise > 0:
                samples = self.denoise(samples, c.options.denoise)
            if c.options.trim_silence:
                samples = trim_silence(samples, self.sample_rate)
            c.audio = samples
