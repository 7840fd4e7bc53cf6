"""PyTorch/XLA backend (TPU; CPU with ``PJRT_DEVICE=CPU``; GPU where torch_xla is built for it).

Our stages run on the XLA device as lazy tensors; every bucket shape is traced once and compiled
by XLA once (later calls of the same shape hit XLA's graph cache, and the persistent compilation
cache in ``cache_dir`` across processes). Only the durations and the audio leave the device.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from fastpitch_tpu.backends.base import Backend, StageSource, torch_dtype

__all__ = ["TorchXlaBackend"]

_CACHE_SET = False


class TorchXlaBackend(Backend):
    name = "torch_xla"

    def __init__(self, source: StageSource, *, dtype: str, device: str | None = None,
                 cache_dir: str | None = None) -> None:
        super().__init__(source, dtype=dtype, device=device, cache_dir=cache_dir)
        try:
            import torch_xla
            import torch_xla.debug.metrics as metrics
            import torch_xla.runtime as xr
        except ImportError as e:
            raise ImportError(
                "the torch_xla backend needs torch_xla: pip install 'fastpitch-tpu[xla]' "
                "(on a CPU, set PJRT_DEVICE=CPU)"
            ) from e
        global _CACHE_SET
        if cache_dir and not _CACHE_SET:
            try:
                xr.initialize_cache(cache_dir, readonly=False)
            except RuntimeError:  # already initialized by the application
                pass
            _CACHE_SET = True
        self._xla = torch_xla
        self._metrics = metrics
        self._device = torch_xla.device() if device is None else torch.device(device)
        self.device_name = f"{xr.device_type()}:{self._device.index or 0}"
        self._ran: set[tuple[str, int, int]] = set()
        """The shapes run so far (compiled: XLA's graph cache has them)."""
        encode, decode = source.stages()
        self._encode = copy.deepcopy(encode).to(self._device, torch_dtype(dtype)).eval()
        self._decode = copy.deepcopy(decode).to(self._device, torch_dtype(dtype)).eval()

    def _t(self, a: NDArray[Any]) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(self._device)

    @torch.no_grad()
    def encode(self, ids: NDArray[np.int64], speaker: NDArray[np.int64],
               pitch_shift: NDArray[np.float32],
               pitch_scale: NDArray[np.float32]) -> tuple[Any, NDArray[np.float32]]:
        hidden, durations = self._encode(self._t(ids), self._t(speaker), self._t(pitch_shift),
                                         self._t(pitch_scale))
        self._xla.sync()
        result = durations.cpu().numpy().astype(np.float32)
        self._ran.add(("encode", ids.shape[0], ids.shape[1]))
        return hidden, result

    @torch.no_grad()
    def decode(self, hidden: Any, frames_per_token: NDArray[np.int64],
               speaker: NDArray[np.int64], n_frames: int) -> NDArray[np.float32]:
        audio = self._decode(hidden, self._t(frames_per_token), self._t(speaker), n_frames)
        self._xla.sync()
        out: NDArray[np.float32] = audio.cpu().numpy().astype(np.float32)
        self._ran.add(("decode", len(frames_per_token), n_frames))
        return out

    # No compile-free path (runs_uncompiled stays False): lazy tensors compile whatever runs,
    # so a request whose shape is not compiled yet compiles it first.
    def is_compiled(self, stage: str, batch: int, size: int) -> bool:
        return (stage, batch, size) in self._ran

    def compile_count(self) -> int:
        data = self._metrics.metric_data("CompileTime")  # type: ignore[no-untyped-call]
        return int(data[0]) if data else 0
