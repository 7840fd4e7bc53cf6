"""JAX backend: our PyTorch stages traced to JAX by ``torchax`` and compiled with ``jax.jit``,
one executable per bucket shape, on JAX's default device (GPU, TPU or CPU).

The weights are converted once to JAX arrays on the device; the encoder states stay there between
the two stages. Compiled executables go to JAX's persistent compilation cache (``cache_dir``).
"""

from __future__ import annotations

import copy
import importlib.machinery
import importlib.util
import sys
import threading
import types
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from fastpitch_tpu.backends.base import Backend
from fastpitch_tpu.models.stages import DecodeStage, EncodeStage

__all__ = ["JaxBackend", "jax_devices"]

_CACHE_SET = False


def _jax_modules() -> tuple[Any, Any]:
    if "flax" not in sys.modules and importlib.util.find_spec("flax") is None:
        # torchax's __init__ imports flax only for its checkpoint helpers, which are not used
        # here: stand in empty modules rather than require flax and its dependencies.
        for name in ("flax", "flax.training", "flax.training.checkpoints"):
            module = types.ModuleType(name)
            module.__spec__ = importlib.machinery.ModuleSpec(name, None)
            sys.modules[name] = module
        sys.modules["flax"].training = sys.modules["flax.training"]  # type: ignore[attr-defined]
        sys.modules["flax.training"].checkpoints = (  # type: ignore[attr-defined]
            sys.modules["flax.training.checkpoints"])
    try:
        import jax
        import torchax
    except ImportError as e:
        raise ImportError(
            "the jax backend needs jax and torchax: pip install 'fastpitch-tpu[jax]'"
        ) from e
    return jax, torchax


def jax_devices() -> list[str]:
    """Every device of JAX's default platform, as ``"platform:index"`` names."""
    jax, _ = _jax_modules()
    devices = jax.devices()
    return [f"{d.platform}:{i}" for i, d in enumerate(devices)]


class JaxBackend(Backend):
    name = "jax"
    parallel_compile = True

    def __init__(self, encode: EncodeStage, decode: DecodeStage, *, dtype: torch.dtype,
                 device: str | None = None, cache_dir: str | None = None) -> None:
        super().__init__(encode, decode, dtype=dtype, device=device, cache_dir=cache_dir)
        jax, torchax = _jax_modules()
        self._jax = jax
        global _CACHE_SET
        if cache_dir and not _CACHE_SET:
            jax.config.update("jax_compilation_cache_dir", cache_dir)
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
            _CACHE_SET = True
        if device is None:
            self._device = jax.devices()[0]
        else:
            platform, _, index = device.partition(":")
            try:
                self._device = jax.devices(platform)[int(index or 0)]
            except (RuntimeError, IndexError, ValueError) as e:
                raise ValueError(f"unknown jax device {device!r} (e.g. gpu:0, cpu:0; this "
                                 f"machine has {jax_devices()}): {e}") from None
        self.device_name = (f"{self._device.platform}:"
                            f"{jax.devices(self._device.platform).index(self._device)}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            enc_states, self._enc_fn = torchax.extract_jax(copy.deepcopy(encode).to(dtype).eval())
            dec_states, self._dec_fn = torchax.extract_jax(copy.deepcopy(decode).to(dtype).eval())
        self._enc_states = jax.device_put(enc_states, self._device)
        self._dec_states = jax.device_put(dec_states, self._device)
        self._enc_jit = jax.jit(self._call_encode)
        self._dec_jits: dict[int, Callable[..., Any]] = {}
        self._lock = threading.Lock()
        self._traced: set[tuple[int, ...]] = set()
        # torchax keeps its tracing state in a thread-local. Releases that hold a list there
        # give it only to the thread which created the environment: a device or compile thread
        # that traces gets a copy of this thread's list first. (Releases with a per-thread
        # factory need nothing.)
        env = torchax.default_env()
        content = getattr(env._property, "content", None)
        self._torchax_state = (env._property,
                               list(content) if isinstance(content, list) else None)

    def _thread_state(self) -> None:
        local, content = self._torchax_state
        if content is not None and not hasattr(local, "content"):
            local.content = list(content)

    def _call_encode(self, states: Any, ids: Any, speaker: Any, shift: Any, scale: Any) -> Any:
        return self._enc_fn(states, (ids, speaker, shift, scale))

    def _put(self, a: NDArray[Any]) -> Any:
        if a.dtype == np.int64:
            a = a.astype(np.int32)
        return self._jax.device_put(a, self._device)

    def _call(self, key: tuple[int, ...], fn: Any, *args: Any) -> Any:
        """``fn(*args)``; the first call of a shape traces it under the lock (torchax swaps the
        shared module's tensors while tracing) and compiles it outside (XLA's compiler runs
        without the GIL, so warm-up threads compile several shapes at once)."""
        self._thread_state()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if key not in self._traced:
                with self._lock:
                    lowered = None
                    if key not in self._traced:
                        lowered = fn.trace(*args).lower()
                        self._traced.add(key)
                if lowered is not None:
                    lowered.compile()  # fills the jitted function's cache
            return fn(*args)

    def encode(self, ids: NDArray[np.int64], speaker: NDArray[np.int64],
               pitch_shift: NDArray[np.float32],
               pitch_scale: NDArray[np.float32]) -> tuple[Any, NDArray[np.float32]]:
        hidden, durations = self._call(
            (0, *ids.shape), self._enc_jit, self._enc_states, self._put(ids), self._put(speaker),
            self._put(pitch_shift), self._put(pitch_scale))
        return hidden, np.asarray(durations, dtype=np.float32)

    def decode(self, hidden: Any, frames_per_token: NDArray[np.int64],
               speaker: NDArray[np.int64], n_frames: int) -> NDArray[np.float32]:
        with self._lock:
            fn = self._dec_jits.get(n_frames)
            if fn is None:
                dec_fn = self._dec_fn

                def run(states: Any, h: Any, reps: Any, spk: Any) -> Any:
                    return dec_fn(states, (h, reps, spk, n_frames))

                fn = self._dec_jits[n_frames] = self._jax.jit(run)
        audio = self._call((1, n_frames, *frames_per_token.shape), fn, self._dec_states, hidden,
                           self._put(frames_per_token), self._put(speaker))
        return np.asarray(audio, dtype=np.float32)

    def compile_count(self) -> int:
        jits = [self._enc_jit, *self._dec_jits.values()]
        return sum(int(getattr(f, "_cache_size")()) for f in jits)
