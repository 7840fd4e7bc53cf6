"""The ``cuda_graph`` backend: eager PyTorch stages recorded as one CUDA graph per bucket shape,
with no compiler step, the vocoder's convolutions running as our own fused kernels
(:mod:`fastpitch_tpu.kernels`).

A new shape costs a graph capture (two eager runs to let cuDNN pick its algorithms and Triton
load its kernels, then the recording), not a compilation: the Triton kernels are compiled once
per layer type, whatever the bucket shapes, and kept between processes in the compile cache
folder (``triton/``; ``TRITON_CACHE_DIR`` if set).
``FASTPITCH_TPU_KERNELS=0`` runs the vocoder as plain PyTorch instead (cuDNN's convolutions,
channels-last), still captured per shape.
"""

from __future__ import annotations

import os
from typing import Any

from fastpitch_tpu.backends.base import StageSource
from fastpitch_tpu.backends.torch_backend import TorchCompileBackend
from fastpitch_tpu.kernels import kernels_enabled

__all__ = ["CudaGraphBackend"]


class CudaGraphBackend(TorchCompileBackend):
    """Each bucket's stages captured as CUDA graphs from eager execution (a GPU only)."""

    name = "cuda_graph"
    compiles = True

    def __init__(self, source: StageSource, *, dtype: str, device: str | None = None,
                 cache_dir: str | None = None) -> None:
        import torch

        where = device or ("cuda" if torch.cuda.is_available() else "cpu")
        if not where.startswith("cuda") or not torch.cuda.is_available():
            raise ValueError(f"the cuda_graph backend needs a CUDA GPU (device {where!r}); "
                             "use backend='torch' on a CPU")
        self._fused = kernels_enabled()
        if cache_dir:
            # Triton's compiled kernels go with the rest of the compile cache (one folder to
            # keep, clear or ship to identical machines).
            os.environ.setdefault("TRITON_CACHE_DIR", os.path.join(cache_dir, "triton"))
        super().__init__(source, dtype=dtype, device=where, cache_dir=cache_dir)
        if self._fused:
            from fastpitch_tpu.kernels.vocoder import FusedHiFiGAN

            self._decode.hifigan = FusedHiFiGAN(self._decode.hifigan,  # type: ignore[assignment]
                                                triton=True)
        # The captured stages are the eager modules themselves: nothing is compiled.
        self._compiled_encode = self._encode
        self._compiled_decode = self._decode
        self._freeze = False
        self._capture = True
        if self._pool is None:  # a torch.compile mode named in the environment turned it off
            with torch.cuda.device(self.torch_device):
                self._pool = torch.cuda.graph_pool_handle()

    def _vocoder_channels_last(self) -> bool:
        """cuDNN's channels-last form where the vocoder runs as plain PyTorch; the fused
        kernels take the channels-first layout."""
        return not self._fused

    def compile_count(self) -> int:
        """Shapes captured so far (the kernels are compiled once per layer type)."""
        return len(self._graphs)

    def describe(self) -> dict[str, Any]:
        """How the vocoder runs (for benchmarks and logs)."""
        return {"backend": self.name, "fused_kernels": self._fused, "dtype": self.dtype}
