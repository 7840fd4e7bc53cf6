"""Each stage run where it needs no compilation while the bucket shapes compile in the background
(:mod:`~.background`): a shape already compiled on its graph, any other on a compile-free path.

That path is the backend's own eager one where it has one (``torch_compile``); for a backend
without one that can compile on one thread while it runs on another (jax), an eager ``torch``
backend on the same device, loaded from the same models. The backends never know each other:
that composition is made here. Elsewhere (torch_xla) a request whose shape is not compiled yet
compiles it first, one thing at a time on the device.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastpitch_tpu.backends import Backend, StageSource, create_backend
from fastpitch_tpu.engine.warmup import Shape

__all__ = ["RoutedBackend", "UncompiledPath", "load_stand_in", "stand_in_device"]

log = logging.getLogger("fastpitch_tpu")

Inputs = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32], NDArray[np.float32]]


@dataclass(frozen=True)
class _Handle:
    """Encoder states, the path that made them (None: the compiled graphs) and the inputs they
    were made from (for a path that needs states of its own)."""

    hidden: Any
    path: UncompiledPath | None
    inputs: Inputs


class UncompiledPath:
    """Runs both stages without compiling anything: the backend's own eager path."""

    shares_handles = True
    """Whether its encoder states and the compiled graphs' are interchangeable."""
    kind = "eager"
    """What it is, in a word (``CompileStatus.uncompiled_path``)."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def encode(self, *inputs: Any) -> tuple[Any, NDArray[np.float32]]:
        return self.backend.encode_uncompiled(*inputs)

    def decode(self, handle: _Handle, frames_per_token: NDArray[np.int64],
               speaker: NDArray[np.int64], n_frames: int) -> NDArray[np.float32]:
        return self.backend.decode_uncompiled(handle.hidden, frames_per_token, speaker, n_frames)


class _OtherBackend(UncompiledPath):
    """An eager backend of its own: states made by the compiled graphs are made again here
    from their inputs (the encoder is a small part of the work; the durations already taken
    from the compiled graphs are kept, so the frame count stays what the engine chose)."""

    shares_handles = False
    kind = "torch"

    def encode(self, *inputs: Any) -> tuple[Any, NDArray[np.float32]]:
        return self.backend.encode(*inputs)

    def decode(self, handle: _Handle, frames_per_token: NDArray[np.int64],
               speaker: NDArray[np.int64], n_frames: int) -> NDArray[np.float32]:
        hidden = handle.hidden if handle.path is self else self.backend.encode(*handle.inputs)[0]
        return self.backend.decode(hidden, frames_per_token, speaker, n_frames)


def stand_in_device(backend: Backend) -> str | None:
    """The PyTorch device where an eager ``torch`` backend can stand in for ``backend`` while
    it compiles: that of a backend without a compile-free path of its own that can compile
    on one thread while it runs on another, on a CPU or a CUDA GPU (None otherwise: a TPU, or
    torch_xla, whose lazy tensors compile whatever runs)."""
    if backend.runs_uncompiled or not backend.parallel_compile:
        return None
    platform, _, index = backend.device.lower().partition(":")
    if platform == "cpu":
        return "cpu"
    if platform in ("gpu", "cuda", "rocm"):
        return f"cuda:{index or 0}"
    return None


def load_stand_in(backend: Backend, source: StageSource, device: str) -> UncompiledPath | None:
    """An eager ``torch`` backend on ``device`` standing in for ``backend`` (one per device:
    its eager modules can run from several threads at once), or None, with a warning, where it
    cannot be made (PyTorch missing)."""
    try:
        eager = create_backend("torch", source, dtype=backend.dtype, device=device,
                               cache_dir=backend.cache_dir)
    except Exception as e:  # e.g. PyTorch missing, a checkpoint gone since the warm start
        log.warning("no eager path while the %s backend compiles (%s): a request whose shape "
                    "is not compiled yet compiles it first", backend.name, e)
        return None
    return _OtherBackend(eager)


class RoutedBackend(Backend):
    """One replica while its shapes compile in the background: each stage runs on its compiled
    graph where that is ready, else on ``path`` (timed, and reported to ``ran_uncompiled``
    with its shape, which then compiles next). Without a path the compiled graphs run (a shape
    not compiled yet compiles first), holding ``lock`` where compiling and running at once
    are not safe (the compile thread holds it while it compiles)."""

    def __init__(self, primary: Backend, source: StageSource,
                 ran_uncompiled: Callable[[Shape, float], None],
                 lock: threading.Lock | None) -> None:
        super().__init__(source, dtype=primary.dtype, device=primary.device_name,
                         cache_dir=primary.cache_dir)
        self.primary = primary
        self.name = primary.name
        self.compiles = primary.compiles
        self.pads_frames = primary.pads_frames
        self.parallel_compile = primary.parallel_compile
        self.path: UncompiledPath | None = (UncompiledPath(primary) if primary.runs_uncompiled
                                            else None)
        """A stand-in is set by the compiler once loaded, and taken away once every shape is
        compiled (its memory given back)."""
        self._ran_uncompiled = ran_uncompiled
        self._lock = lock

    @property
    def device(self) -> str:
        return self.primary.device

    def is_compiled(self, stage: str, batch: int, size: int) -> bool:
        return self.primary.is_compiled(stage, batch, size)

    def compile_count(self) -> int:
        return self.primary.compile_count()

    @contextlib.contextmanager
    def _compiled(self) -> Iterator[None]:
        if self._lock is None:
            yield
            return
        with self._lock:
            yield

    def encode(self, ids: NDArray[np.int64], speaker: NDArray[np.int64],
               pitch_shift: NDArray[np.float32],
               pitch_scale: NDArray[np.float32]) -> tuple[Any, NDArray[np.float32]]:
        inputs = (ids, speaker, pitch_shift, pitch_scale)
        path = self.path
        batch, tokens = ids.shape
        if path is None or self.primary.is_compiled("encode", batch, tokens):
            with self._compiled():
                hidden, durations = self.primary.encode(*inputs)
            return _Handle(hidden, None, inputs), durations
        start = time.perf_counter()
        hidden, durations = path.encode(*inputs)
        self._ran_uncompiled(Shape("encode", batch, tokens), time.perf_counter() - start)
        return _Handle(hidden, path, inputs), durations

    def decode(self, hidden: Any, frames_per_token: NDArray[np.int64],
               speaker: NDArray[np.int64], n_frames: int) -> NDArray[np.float32]:
        return self.decode_async(hidden, frames_per_token, speaker, n_frames)()

    def decode_async(self, hidden: Any, frames_per_token: NDArray[np.int64],
                     speaker: NDArray[np.int64],
                     n_frames: int) -> Callable[[], NDArray[np.float32]]:
        handle: _Handle = hidden
        shape = Shape("decode", len(frames_per_token), n_frames)
        path = handle.path or self.path
        if path is None or (self.primary.is_compiled(*shape)
                            and (handle.path is None or handle.path.shares_handles)):
            with self._compiled():
                return self.primary.decode_async(handle.hidden, frames_per_token, speaker,
                                                 n_frames)
        start = time.perf_counter()
        audio = path.decode(handle, frames_per_token, speaker, n_frames)
        self._ran_uncompiled(shape, time.perf_counter() - start)
        return lambda: audio
