"""Warm-up: compiling the graph of every bucket shape on every replica before the first
request needs it."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from fastpitch_tpu.backends import Backend
from fastpitch_tpu.engine.buckets import Buckets
from fastpitch_tpu.engine.replicas import on_replicas

__all__ = ["compile_buckets"]


class _ShapeCompiler:
    """Compiles one replica's graphs, each shape from abstract shapes where the backend can,
    else by running it once on dummy inputs; ``tick`` is called after each shape."""

    def __init__(self, backend: Backend, buckets: Buckets, padding_idx: int, n_symbols: int,
                 tick: Callable[[], None]) -> None:
        self.backend = backend
        self.buckets = buckets
        self.padding_idx = padding_idx
        self.n_symbols = n_symbols
        self.tick = tick
        self.hidden: dict[int, Any] = {}
        """An encoder state of each batch size (running a decoder graph takes one)."""

    def encode(self, shape: tuple[int, int]) -> Any:
        n, size = shape
        h = None
        if not self.backend.compile_only("encode", n, size, self.buckets.max_tokens):
            ids = np.full((n, size), self.padding_idx, dtype=np.int64)
            ids[:, 0] = (self.padding_idx + 1) % self.n_symbols
            h, _ = self.backend.encode(ids, np.zeros(n, np.int64), np.zeros(n, np.float32),
                                       np.ones(n, np.float32))
        self.tick()
        return h

    def decode(self, shape: tuple[int, int]) -> None:
        n, size = shape
        if not self.backend.compile_only("decode", n, size, self.buckets.max_tokens):
            reps = np.zeros((n, self.buckets.max_tokens), dtype=np.int64)
            reps[:, 0] = 1
            self.backend.decode(self.hidden[n], reps, np.zeros(n, np.int64), size)
        self.tick()

    def compile_all(self, threads: int) -> None:
        b = self.buckets
        encodes = [(n, t) for n in b.batch for t in b.tokens]
        decodes = [(n, f) for n in b.batch for f in b.frames]
        # Encoder graphs first (running a decoder graph takes their states).
        with ThreadPoolExecutor(threads, thread_name_prefix="compile") as pool:
            states = list(pool.map(self.encode, encodes))
            self.hidden = {n: h for (n, _), h in zip(encodes, states)}
            list(pool.map(self.decode, decodes))


def compile_buckets(replicas: Sequence[Backend], buckets: Buckets, padding_idx: int,
                    n_symbols: int, progress: bool, workers: int | None) -> None:
    """Compile every bucket shape of both stages on every replica (see
    ``Synthesizer.warmup``); the caller checks that the backend compiles at all."""
    from tqdm import tqdm

    first = replicas[0]
    if workers is None:
        workers = first.compile_threads()
    threads = max(1, workers) if first.parallel_compile else 1
    shapes = len(buckets.batch) * (len(buckets.tokens) + len(buckets.frames))
    with tqdm(total=shapes * len(replicas), desc="compiling", unit="graph",
              disable=not progress) as bar:
        lock = threading.Lock()

        def tick() -> None:
            with lock:
                bar.update(1)

        on_replicas(replicas, lambda backend: _ShapeCompiler(
            backend, buckets, padding_idx, n_symbols, tick).compile_all(threads))
