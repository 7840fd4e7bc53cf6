"""Warm-up: compiling the graph of every bucket shape on every replica before the first
request needs it (all at once, :func:`compile_buckets`; or one shape at a time in the
background, :mod:`~.background`, with :class:`ShapeCompiler` doing the work of each)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, NamedTuple

import numpy as np

from fastpitch_tpu.backends import Backend
from fastpitch_tpu.engine.buckets import Buckets
from fastpitch_tpu.engine.replicas import on_replicas

__all__ = ["Shape", "ShapeCompiler", "bucket_shapes", "compile_buckets"]


class Shape(NamedTuple):
    """One graph: ``stage`` (``"encode"`` or ``"decode"``) at ``batch`` rows and ``size`` tokens
    (encode) or frames (decode)."""

    stage: str
    batch: int
    size: int

    def __str__(self) -> str:
        return f"{self.stage} {self.batch}x{self.size}"


def bucket_shapes(buckets: Buckets) -> list[Shape]:
    """Every graph the buckets need, small before large: batch by batch, each batch's encode
    shapes (which every request needs first) before its decode shapes."""
    return [Shape(stage, n, size) for n in buckets.batch
            for stage, sizes in (("encode", buckets.tokens), ("decode", buckets.frames))
            for size in sizes]


class ShapeCompiler:
    """Compiles one replica's graphs, each shape from abstract shapes where the backend can,
    else by running it once on dummy inputs. A decode graph runs on encoder states made by the
    compile-free path where the backend has one (so that it needs no encode graph), else by
    the batch's encode graph of the largest token bucket."""

    def __init__(self, backend: Backend, buckets: Buckets, padding_idx: int,
                 n_symbols: int) -> None:
        self.backend = backend
        self.buckets = buckets
        self.padding_idx = padding_idx
        self.n_symbols = n_symbols
        self._states: dict[int, Any] = {}
        """Encoder states of each batch size, for running decode graphs."""
        self._lock = threading.Lock()

    def compile(self, shape: Shape) -> None:
        """Compile ``shape`` (a shape already compiled just runs again)."""
        stage, n, size = shape
        if self.backend.compile_only(stage, n, size, self.buckets.max_tokens):
            return
        if stage == "encode":
            self.backend.encode(*self._encode_inputs(n, size))
            return
        reps = np.zeros((n, self.buckets.max_tokens), dtype=np.int64)
        reps[:, 0] = 1
        self.backend.decode(self._state(n), reps, np.zeros(n, np.int64), size)

    def _encode_inputs(self, n: int, size: int) -> tuple[np.ndarray[Any, Any], ...]:
        ids = np.full((n, size), self.padding_idx, dtype=np.int64)
        ids[:, 0] = (self.padding_idx + 1) % self.n_symbols
        return ids, np.zeros(n, np.int64), np.zeros(n, np.float32), np.ones(n, np.float32)

    def _state(self, n: int) -> Any:
        with self._lock:
            state = self._states.get(n)
        if state is None:
            inputs = self._encode_inputs(n, self.buckets.max_tokens)
            if self.backend.runs_uncompiled:
                state = self.backend.encode_uncompiled(*inputs)[0]
            else:
                state = self.backend.encode(*inputs)[0]
            with self._lock:
                self._states[n] = state
        return state

    def compile_all(self, threads: int, tick: Callable[[], None]) -> None:
        """Every bucket shape not compiled yet, ``threads`` at once; ``tick`` after each
        shape. Encoder graphs first: a decode graph may take their states."""
        shapes = bucket_shapes(self.buckets)

        def one(shape: Shape) -> None:
            if not self.backend.is_compiled(*shape):
                self.compile(shape)
            tick()

        with ThreadPoolExecutor(threads, thread_name_prefix="compile") as pool:
            list(pool.map(one, [s for s in shapes if s.stage == "encode"]))
            list(pool.map(one, [s for s in shapes if s.stage == "decode"]))


def compile_buckets(replicas: Sequence[Backend], buckets: Buckets, padding_idx: int,
                    n_symbols: int, progress: bool, workers: int | None) -> None:
    """Compile every bucket shape of both stages on every replica (see
    ``Synthesizer.warmup``); the caller checks that the backend compiles at all."""
    from tqdm import tqdm

    first = replicas[0]
    if workers is None:
        workers = first.compile_threads()
    threads = max(1, workers) if first.parallel_compile else 1
    shapes = len(bucket_shapes(buckets))
    with tqdm(total=shapes * len(replicas), desc="compiling", unit="graph",
              disable=not progress) as bar:
        lock = threading.Lock()

        def tick() -> None:
            with lock:
                bar.update(1)

        on_replicas(replicas, lambda backend: ShapeCompiler(
            backend, buckets, padding_idx, n_symbols).compile_all(threads, tick))
