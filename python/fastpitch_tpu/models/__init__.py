"""Neural networks of the synthesis pipeline, in plain PyTorch (no backend-specific code).

- :class:`FastPitch` / :class:`FastPitchConfig`: the acoustic model (symbol ids -> mel);
- :class:`HiFiGAN` / :class:`HiFiGANConfig`: the HiFi-GAN vocoder (mel -> waveform);
- :class:`Denoiser`: removes the vocoder's constant bias spectrum from its output.

Weights come from :mod:`fastpitch_tpu.checkpoints`.
"""

from fastpitch_tpu.models.denoiser import Denoiser
from fastpitch_tpu.models.fastpitch import (
    FastPitch,
    FastPitchConfig,
    FastPitchOutput,
    FFTConfig,
    PredictorConfig,
    TokenFeatures,
    regulate_length,
)
from fastpitch_tpu.models.hifigan import HiFiGAN, HiFiGANConfig, ResBlock1, ResBlock2

__all__ = [
    "Denoiser",
    "FFTConfig",
    "FastPitch",
    "FastPitchConfig",
    "FastPitchOutput",
    "HiFiGAN",
    "HiFiGANConfig",
    "PredictorConfig",
    "ResBlock1",
    "ResBlock2",
    "TokenFeatures",
    "regulate_length",
]
