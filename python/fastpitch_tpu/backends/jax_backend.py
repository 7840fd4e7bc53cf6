"""JAX backend: our PyTorch stages traced to JAX by ``torchax`` and compiled with ``jax.jit``,
one executable per bucket shape, on JAX's default device (GPU, TPU or CPU).

The weights are converted once to JAX arrays on the device (:mod:`.jax_weights`, which also
keeps them in the pair's cache folder); the encoder states stay there between the two stages.
Each shape is traced once through torchax and kept as a serialized :mod:`jax.export` graph
(:mod:`.jax_graph_store`); a later process loads it instead of tracing the model again, and the
compiled executable comes from JAX's persistent compilation cache (``cache_dir``). A process that
finds the converted weights and the saved graphs of its shapes starts without loading the
checkpoints or importing PyTorch and torchax; they are loaded only if a shape has to be traced.
"""

from __future__ import annotations

import contextlib
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastpitch_tpu.backends.base import Backend, StageSource
from fastpitch_tpu.backends.jax_graph_store import GraphStore
from fastpitch_tpu.backends.jax_imports import import_jax, jax_devices
from fastpitch_tpu.backends.jax_weights import (
    ConvertedStages,
    TorchaxStages,
    WeightFiles,
    convert_stages,
)

__all__ = ["JaxBackend", "jax_devices"]

_CACHE_SET = False


class JaxBackend(Backend):
    name = "jax"
    parallel_compile = True

    def __init__(self, source: StageSource, *, dtype: str, device: str | None = None,
                 cache_dir: str | None = None) -> None:
        super().__init__(source, dtype=dtype, device=device, cache_dir=cache_dir)
        jax = import_jax()
        self._jax = jax
        global _CACHE_SET
        if cache_dir and not _CACHE_SET:
            jax.config.update("jax_compilation_cache_dir", cache_dir)
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
            _CACHE_SET = True
        self._device = self._find_device(device)
        self.device_name = (f"{self._device.platform}:"
                            f"{jax.devices(self._device.platform).index(self._device)}")
        self._source = source
        self._pad_to = source.pad_to
        self._fns: dict[tuple[int, ...], Any] = {}
        """One compiled executable per shape: ``(0, batch, tokens)`` encode, ``(1, frames,
        batch, tokens)`` decode."""
        self._building: dict[tuple[int, ...], threading.Event] = {}
        self._lock = threading.Lock()
        self._hidden: Any = None
        """Shape and dtype of the encoder states (from the first encode graph)."""
        self._tracing: TorchaxStages | None = None
        """torchax's functions of the stages and its thread state, made on the first trace."""
        files = WeightFiles.of(source, dtype=self.dtype, platform=self._device.platform)
        converted = files.load() if files is not None else None
        if converted is None:
            converted = self._convert()
            if files is not None:
                files.save(converted)
        self._enc_states = jax.device_put(converted.states[0], self._device)
        self._dec_states = jax.device_put(converted.states[1], self._device)
        self._graphs = GraphStore(Path(cache_dir) / "graphs" / converted.digest
                                  if cache_dir else None, jax=jax,
                                  platform=self._device.platform, before_trace=self._trace_fns)

    def _find_device(self, device: str | None) -> Any:
        """The JAX device named ``"platform:index"`` (None: JAX's default device)."""
        jax = self._jax
        if device is None:
            return jax.devices()[0]
        platform, _, index = device.partition(":")
        try:
            return jax.devices(platform)[int(index or 0)]
        except (RuntimeError, IndexError, ValueError) as e:
            raise ValueError(f"unknown jax device {device!r} (e.g. gpu:0, cpu:0; this "
                             f"machine has {jax_devices()}): {e}") from None

    def _convert(self) -> ConvertedStages:
        """The source's stages converted (loading them); keeps torchax's functions of the
        stages for tracing."""
        converted, self._tracing = convert_stages(*self._source.stages(), dtype=self.dtype,
                                                  platform=self._device.platform)
        return converted

    def _trace_fns(self) -> TorchaxStages:
        """torchax's functions of the two stages, with this thread's torchax state in place.
        A backend built from converted weights loads the models and torchax here, the first
        time a shape has to be traced. Called with the lock held, before tracing."""
        if self._tracing is None:
            self._convert()
        assert self._tracing is not None
        self._tracing.enter_thread()
        return self._tracing

    @staticmethod
    def _host(a: NDArray[Any]) -> NDArray[Any]:
        """A small input as the compiled graphs take it (int32 instead of int64). It is passed to
        the executable as a NumPy array: the executable's own call moves it to the device, which
        costs less host time than a separate ``jax.device_put`` per input."""
        if a.dtype == np.int64:
            a = a.astype(np.int32)
        return np.ascontiguousarray(a)

    def _compiled(self, key: tuple[int, ...], trace: Any, args: tuple[Any, ...]) -> Any:
        """The shape's compiled executable. Its first use gets the graph (loaded, or traced
        under the lock: torchax swaps the shared module's tensors while tracing) and compiles it
        outside the lock (XLA's compiler runs without the GIL, so warm-up threads compile
        several shapes at once). ``args`` may be arrays or ``jax.ShapeDtypeStruct``s. Calling
        an executable with other shapes or types fails instead of compiling again."""
        compiled = self._fns.get(key)
        if compiled is not None:
            return compiled
        with self._lock:
            compiled = self._fns.get(key)
            if compiled is not None:
                return compiled
            waiting = self._building.get(key)
            if waiting is None:
                done = self._building[key] = threading.Event()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        lowered = self._graphs.lower(key, trace, args)
                    if key[0] == 0:
                        self._hidden = lowered.out_info[0]
                except BaseException:
                    del self._building[key]
                    done.set()
                    raise
        if waiting is not None:  # another thread is compiling this shape
            waiting.wait()
            if key not in self._fns:
                raise RuntimeError(f"compiling the graph {key} failed in another thread")
            return self._fns[key]
        try:
            compiled = lowered.compile()
            with self._lock:
                self._fns[key] = compiled
        finally:
            with self._lock:
                del self._building[key]
            done.set()
        return compiled

    def _encode_trace(self) -> Any:
        def trace(states: Any, ids: Any, speaker: Any, shift: Any, scale: Any) -> Any:
            assert self._tracing is not None  # _trace_fns() ran before tracing
            return self._tracing.encode(states, (ids, speaker, shift, scale))

        return trace

    def _decode_trace(self, n_frames: int) -> Any:
        def trace(states: Any, h: Any, reps: Any, spk: Any) -> Any:
            assert self._tracing is not None
            return self._tracing.decode(states, (h, reps, spk, n_frames))

        return trace

    def _abstract(self, shape: tuple[int, ...], dtype: Any) -> Any:
        """An input's shape and type on this backend's device (what a graph is compiled for)."""
        jax = self._jax
        return jax.ShapeDtypeStruct(shape, dtype,
                                    sharding=jax.sharding.SingleDeviceSharding(self._device))

    def _like(self, a: NDArray[Any]) -> Any:
        return self._abstract(a.shape, a.dtype)

    def encode(self, ids: NDArray[np.int64], speaker: NDArray[np.int64],
               pitch_shift: NDArray[np.float32],
               pitch_scale: NDArray[np.float32]) -> tuple[Any, NDArray[np.float32]]:
        host = [self._host(a) for a in (ids, speaker, pitch_shift, pitch_scale)]
        key = (0, *ids.shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn = self._fns.get(key) or self._compiled(
                key, self._encode_trace(), (self._enc_states, *map(self._like, host)))
            hidden, durations = fn(self._enc_states, *host)
        return hidden, np.asarray(durations, dtype=np.float32)

    def decode(self, hidden: Any, frames_per_token: NDArray[np.int64],
               speaker: NDArray[np.int64], n_frames: int) -> NDArray[np.float32]:
        return np.asarray(self._decode_on_device(hidden, frames_per_token, speaker, n_frames),
                          dtype=np.float32)

    def decode_async(self, hidden: Any, frames_per_token: NDArray[np.int64],
                     speaker: NDArray[np.int64],
                     n_frames: int) -> Callable[[], NDArray[np.float32]]:
        # JAX dispatches asynchronously: the graph runs (and its audio comes back) meanwhile.
        audio = self._decode_on_device(hidden, frames_per_token, speaker, n_frames)
        audio.copy_to_host_async()
        return lambda: np.asarray(audio, dtype=np.float32)

    def _decode_on_device(self, hidden: Any, frames_per_token: NDArray[np.int64],
                          speaker: NDArray[np.int64], n_frames: int) -> Any:
        host = [self._host(a) for a in (frames_per_token, speaker)]
        key = (1, n_frames, *frames_per_token.shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn = self._fns.get(key) or self._compiled(
                key, self._decode_trace(n_frames),
                (self._dec_states, self._abstract(hidden.shape, hidden.dtype),
                 *map(self._like, host)))
            return fn(self._dec_states, hidden, *host)

    def stage_graph(self, stage: str, batch: int, size: int,
                    max_tokens: int) -> tuple[tuple[int, ...], Callable[..., Any], tuple[Any, ...]]:
        """What one shape's graph is made of: its key, the function ``jax.jit`` traces and its
        arguments (this backend's converted weights, then the inputs as
        ``jax.ShapeDtypeStruct``s), for the ``stage`` (``"encode"`` or ``"decode"``) at
        ``batch`` rows and ``size`` tokens or frames. :meth:`compile_only` compiles exactly
        this; it lets a graph be lowered for another platform (e.g. exported for TPU on a
        machine without one). The decode stage's arguments include the encoder states' shape,
        which comes from an encode graph (compiled here if none has been yet)."""
        abstract = self._abstract
        i32, f32 = np.dtype(np.int32), np.dtype(np.float32)
        if stage == "encode":
            return (0, batch, size), self._encode_trace(), (
                self._enc_states, abstract((batch, size), i32), abstract((batch,), i32),
                abstract((batch,), f32), abstract((batch,), f32))
        if self._hidden is None:  # the encoder states' shape comes from an encode graph
            self.compile_only("encode", batch, max_tokens, max_tokens)
        assert self._hidden is not None
        hidden = abstract((batch, *self._hidden.shape[1:]), self._hidden.dtype)
        return (1, size, batch, max_tokens), self._decode_trace(size), (
            self._dec_states, hidden, abstract((batch, max_tokens), i32),
            abstract((batch,), i32))

    @contextlib.contextmanager
    def tracing(self) -> Iterator[None]:
        """Held while tracing a function of :meth:`stage_graph` (torchax swaps the shared
        modules' tensors while it traces), with torchax's tracing state in place for this
        thread (the models are loaded here if the backend started from converted weights)."""
        with self._lock:
            self._trace_fns()
            yield

    def compile_only(self, stage: str, batch: int, size: int, max_tokens: int) -> bool:
        """Compiles the graph of one shape from abstract inputs, without running it."""
        self._compiled(*self.stage_graph(stage, batch, size, max_tokens))
        return True

    def compile_count(self) -> int:
        return len(self._fns)

    def is_compiled(self, stage: str, batch: int, size: int) -> bool:
        # No compile-free path here (runs_uncompiled stays False): XLA compiles whatever it
        # runs; the engine serves the shapes not yet compiled on an eager torch backend.
        key = (0, batch, size) if stage == "encode" else (1, size, batch, self._pad_to)
        return key in self._fns

    def compile_threads(self) -> int:
        # On a GPU, XLA times candidate kernels on the device while it compiles (autotuning):
        # compiles running side by side share the device and slow each other down (on one
        # H200, 10 graphs took 48 s one at a time, 39 s two at a time, over 110 s eight at a
        # time). CPU and TPU compiles scale with the threads.
        if self._device.platform in ("gpu", "cuda", "rocm"):
            return 2
        return super().compile_threads()

    def peak_memory_bytes(self) -> int | None:
        try:
            stats = self._device.memory_stats()
        except Exception:  # platforms without memory statistics
            return None
        return int(stats["peak_bytes_in_use"]) if stats and "peak_bytes_in_use" in stats else None
