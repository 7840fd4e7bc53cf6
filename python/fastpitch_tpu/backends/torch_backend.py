"""PyTorch backend: eager (the reference path) or ``torch.compile`` of each bucket's graph (with
CUDA graphs on a GPU). CUDA when available, else CPU."""

from __future__ import annotations

import contextlib
import copy
import os
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from fastpitch_tpu.backends.base import Backend, StageSource, torch_dtype

__all__ = ["TorchBackend", "TorchCompileBackend"]


class TorchBackend(Backend):
    """Eager PyTorch: no compilation, any shape."""

    name = "torch"
    compiles = False

    def __init__(self, source: StageSource, *, dtype: str, device: str | None = None,
                 cache_dir: str | None = None) -> None:
        super().__init__(source, dtype=dtype, device=device, cache_dir=cache_dir)
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            self.torch_device = torch.device(device)
        except RuntimeError as e:
            raise ValueError(f"unknown device {device!r} (e.g. cpu, cuda, cuda:1): {e}") from None
        self.device_name = str(self.torch_device)
        # Copies: the caller's modules keep their dtype and device.
        encode, decode = source.stages()
        self._encode = copy.deepcopy(encode).to(self.torch_device, torch_dtype(dtype)).eval()
        self._decode = copy.deepcopy(decode).to(self.torch_device, torch_dtype(dtype)).eval()

    def _t(self, a: NDArray[Any]) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(self.torch_device)

    def _run_encode(self, *args: Any) -> tuple[Tensor, Tensor]:
        out: tuple[Tensor, Tensor] = self._encode(*args)
        return out

    def _run_decode(self, *args: Any) -> Tensor:
        out: Tensor = self._decode(*args)
        return out

    def peak_memory_bytes(self) -> int | None:
        if self.torch_device.type != "cuda":
            return None
        return int(torch.cuda.max_memory_allocated(self.torch_device))

    def reset_peak_memory(self) -> None:
        if self.torch_device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.torch_device)

    @torch.inference_mode()
    def encode(self, ids: NDArray[np.int64], speaker: NDArray[np.int64],
               pitch_shift: NDArray[np.float32],
               pitch_scale: NDArray[np.float32]) -> tuple[Any, NDArray[np.float32]]:
        hidden, durations = self._run_encode(self._t(ids), self._t(speaker),
                                             self._t(pitch_shift), self._t(pitch_scale))
        return hidden, durations.float().cpu().numpy()

    @torch.inference_mode()
    def decode(self, hidden: Any, frames_per_token: NDArray[np.int64],
               speaker: NDArray[np.int64], n_frames: int) -> NDArray[np.float32]:
        audio = self._run_decode(hidden, self._t(frames_per_token), self._t(speaker), n_frames)
        return audio.float().cpu().numpy()


class TorchCompileBackend(TorchBackend):
    """``torch.compile`` with static shapes: one graph per bucket (CUDA graphs on a GPU)."""

    name = "torch_compile"
    compiles = True

    def __init__(self, source: StageSource, *, dtype: str, device: str | None = None,
                 cache_dir: str | None = None) -> None:
        super().__init__(source, dtype=dtype, device=device, cache_dir=cache_dir)
        if cache_dir:
            os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", cache_dir)
        # FASTPITCH_TPU_COMPILE_MODE picks another torch.compile mode (e.g. "max-autotune",
        # slower to compile). On a GPU: CUDA graphs (one launch per stage), the weights frozen
        # into the graphs as constants (their layouts converted once, when compiling), and
        # HiFi-GAN's convolutions in channels-last 2-D form, where cuDNN needs no layout
        # conversion kernels around them (on one H200 at batch 1: 5.7 -> 3.8 ms).
        cuda = self.torch_device.type == "cuda"
        mode = os.environ.get("FASTPITCH_TPU_COMPILE_MODE") or (
            "reduce-overhead" if cuda else None)
        self._freeze = cuda
        if cuda:
            self._decode.hifigan.channels_last = True
        self._compiled_encode = torch.compile(self._encode, dynamic=False, mode=mode)
        self._compiled_decode = torch.compile(self._decode, dynamic=False, mode=mode)
        self._shapes: set[tuple[Any, ...]] = set()

    def _settings(self, shape: tuple[Any, ...]) -> Any:
        """Inductor's settings for a call: freezing is read when a graph compiles, which is on
        the first call of a shape (patching the settings costs ~0.3 ms: not on every call)."""
        if not self._freeze or shape in self._shapes:
            return contextlib.nullcontext()
        import torch._inductor.config as inductor

        return inductor.patch(freezing=True)

    def _run_encode(self, *args: Any) -> tuple[Tensor, Tensor]:
        shape = ("encode", tuple(args[0].shape))
        with self._settings(shape):
            hidden, durations = self._compiled_encode(*args)
        self._shapes.add(shape)
        # CUDA graphs reuse their output buffers: keep a copy that outlives the next replay.
        return hidden.clone(), durations.clone()

    def _run_decode(self, *args: Any) -> Tensor:
        shape = ("decode", tuple(args[0].shape), args[3])
        with self._settings(shape):
            out: Tensor = self._compiled_decode(*args)
        self._shapes.add(shape)
        return out.clone()

    def compile_count(self) -> int:
        from torch._dynamo.utils import counters

        return int(counters["stats"]["unique_graphs"])
