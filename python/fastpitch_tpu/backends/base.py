"""The interface every backend implements: run the two stages (:mod:`fastpitch_tpu.models.stages`)
on numpy inputs of bucketed shapes.

The engine runs requests with :meth:`Backend.encode` and :meth:`Backend.decode` (or
:meth:`Backend.decode_async`), and, while it compiles shapes in the background, the shapes not yet
compiled (:meth:`Backend.is_compiled`) on the compile-free path where there is one
(:meth:`Backend.encode_uncompiled`, :meth:`Backend.decode_uncompiled`). Encoder states stay on the
device between the two calls (an opaque handle); only durations and audio cross to the host.
"""

from __future__ import annotations

import abc
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import torch

    from fastpitch_tpu.models.stages import DecodeStage, EncodeStage

__all__ = ["DTYPES", "Backend", "StageSource", "torch_dtype"]

DTYPES = ("float32", "bfloat16", "float16")


def torch_dtype(name: str) -> torch.dtype:
    """The PyTorch dtype called ``name`` (one of :data:`DTYPES`)."""
    import torch

    return {"float32": torch.float32, "bfloat16": torch.bfloat16,
            "float16": torch.float16}[name]


class StageSource(Protocol):
    """Where a backend gets the two stages' modules
    (:class:`fastpitch_tpu.model_source.ModelSource`)."""

    folder: Path | None
    """A cache folder for this pair of models (None: none), where a backend may keep what it
    derives from the weights."""
    pad_to: int
    """The token count the encode stage pads its states to (the largest token bucket)."""

    @property
    def loaded(self) -> bool:
        """Whether the models are in memory (loading them from their files takes seconds)."""
        ...

    def stages(self) -> tuple[EncodeStage, DecodeStage]:
        """The encode and decode stages (loading the models if they are not yet loaded)."""
        ...


class Backend(abc.ABC):
    """Runs the encode and decode stages with static shapes on one device."""

    name: str = "?"

    def __init__(self, source: StageSource, *, dtype: str, device: str | None = None,
                 cache_dir: str | None = None) -> None:
        self.dtype = dtype
        self.device_name = device
        self.cache_dir = cache_dir

    @abc.abstractmethod
    def encode(self, ids: NDArray[np.int64], speaker: NDArray[np.int64],
               pitch_shift: NDArray[np.float32],
               pitch_scale: NDArray[np.float32]) -> tuple[Any, NDArray[np.float32]]:
        """Returns ``(hidden handle, durations [b, t] on the host)``."""

    @abc.abstractmethod
    def decode(self, hidden: Any, frames_per_token: NDArray[np.int64],
               speaker: NDArray[np.int64], n_frames: int) -> NDArray[np.float32]:
        """Returns audio ``[b, n_frames * hop]`` on the host. The array may be a buffer of the
        backend's that the second ``decode`` or ``decode_async`` after this one overwrites:
        copy what you keep."""

    def decode_async(self, hidden: Any, frames_per_token: NDArray[np.int64],
                     speaker: NDArray[np.int64],
                     n_frames: int) -> Callable[[], NDArray[np.float32]]:
        """:meth:`decode`, started: returns a function that waits for the audio and returns it.
        A backend that queues its device work returns before that work is done, so the host can
        do other work meanwhile (this default decodes at once). The audio stays valid until the
        second ``decode`` or ``decode_async`` after this one; no more than two may be pending."""
        audio = self.decode(hidden, frames_per_token, speaker, n_frames)
        return lambda: audio

    compiles: bool = True
    """Whether shapes are compiled (False for eager execution: nothing to warm up)."""

    pads_frames: bool = True
    """Whether the engine pads a batch's frame count to a frame bucket (each row is still cut
    to its own frame count: the models mask the padded frames). Compiled backends need the
    bucket shapes. Eager execution may run the exact count, but a run of many different lengths
    then costs memory where the runtime caches kernels per shape (oneDNN's convolution
    primitives on a CPU): the eager backend pads on a CPU and not on a GPU."""

    def is_compiled(self, stage: str, batch: int, size: int) -> bool:
        """Whether the ``stage`` (``"encode"`` or ``"decode"``) graph of ``batch`` rows and
        ``size`` tokens or frames is ready, so that running that shape compiles nothing.
        Always true for eager execution; a compiling backend that keeps no record of its shapes
        answers False (the engine then counts the shapes it compiled itself)."""
        return not self.compiles

    runs_uncompiled: bool = False
    """Whether this backend has a compile-free path, :meth:`encode_uncompiled` and
    :meth:`decode_uncompiled`: the same stages on the same device, run without compiling
    anything (eager), their encoder handles interchangeable with the compiled path's. While
    shapes compile in the background, the engine runs the shapes not yet compiled this way.
    Where False, the engine may run an eager ``torch`` backend on the same device instead (jax
    on a GPU or CPU), or a request whose shape is not compiled compiles it first (torch_xla)."""

    def encode_uncompiled(self, ids: NDArray[np.int64], speaker: NDArray[np.int64],
                          pitch_shift: NDArray[np.float32],
                          pitch_scale: NDArray[np.float32]) -> tuple[Any, NDArray[np.float32]]:
        """:meth:`encode` on the compile-free path (where :attr:`runs_uncompiled`); safe to
        call from one thread while another compiles a shape."""
        raise NotImplementedError(f"the {self.name} backend has no compile-free path")

    def decode_uncompiled(self, hidden: Any, frames_per_token: NDArray[np.int64],
                          speaker: NDArray[np.int64], n_frames: int) -> NDArray[np.float32]:
        """:meth:`decode` on the compile-free path (where :attr:`runs_uncompiled`); the array
        is the caller's own."""
        raise NotImplementedError(f"the {self.name} backend has no compile-free path")

    def compile_only(self, stage: str, batch: int, size: int, max_tokens: int) -> bool:
        """Compile the ``stage`` (``"encode"`` or ``"decode"``) graph of ``batch`` rows and
        ``size`` tokens or frames without running it, if this backend can (returns False
        otherwise: warm-up then runs the graph once on dummy inputs)."""
        return False

    def peak_memory_bytes(self) -> int | None:
        """Peak memory in use on the device so far, where the runtime reports it (GPU, TPU);
        None elsewhere (CPU)."""
        return None

    def reset_peak_memory(self) -> None:
        """Start a new peak (where the runtime allows; jax keeps one peak per process)."""
        return None  # nothing to reset where no peak is kept: backends that keep one override

    parallel_compile: bool = False
    """Whether several shapes may be compiled at once from threads (the compiler runs outside
    the GIL and the backend's tracing is thread-safe)."""

    def compile_threads(self) -> int:
        """How many shapes ``Synthesizer.warmup()`` compiles at once unless told: the CPU count
        (at most 8) where compiling in parallel is possible, else 1."""
        return min(8, os.cpu_count() or 1) if self.parallel_compile else 1

    def compile_count(self) -> int:
        """Graphs compiled so far by this backend (0 for eager execution)."""
        return 0

    @property
    def device(self) -> str:
        """Where the graphs run, in words."""
        return self.device_name or "cpu"
