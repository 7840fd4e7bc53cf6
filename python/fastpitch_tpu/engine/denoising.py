"""The optional vocoder-bias removal applied to a chunk's audio on the host."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from fastpitch_tpu.models.denoiser import Denoiser
    from fastpitch_tpu.models.hifigan import HiFiGAN

__all__ = ["LazyDenoiser"]


class LazyDenoiser:
    """DeepLearningExamples' denoiser over the vocoder ``hifigan()`` returns, made on first use
    (most calls never denoise: neither the vocoder nor PyTorch need loading for them)."""

    def __init__(self, hifigan: Callable[[], HiFiGAN]) -> None:
        self._hifigan = hifigan
        self._denoiser: Denoiser | None = None

    def __call__(self, samples: NDArray[np.float32], strength: float) -> NDArray[np.float32]:
        import torch

        if self._denoiser is None:
            from fastpitch_tpu.models.denoiser import Denoiser

            self._denoiser = Denoiser(self._hifigan())
        with torch.no_grad():
            out = self._denoiser(torch.from_numpy(np.ascontiguousarray(samples)), strength)
        result: NDArray[np.float32] = out.numpy().astype(np.float32)
        return result
