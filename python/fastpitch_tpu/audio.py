"""Mel-spectrogram analysis used by FastPitch and HiFi-GAN (the HiFi-GAN recipe).

:func:`mel_spectrogram` = reflect-pad by ``(n_fft - hop) / 2`` on each side, STFT without centring
(periodic Hann window), magnitude, 80-band mel filter bank with Slaney's mel scale and area
normalization (librosa's default), natural log of the magnitudes clamped at ``1e-5``. Defaults are
the 22,050 Hz LJSpeech settings: n_fft 1024, hop 256, window 1024, fmin 0, fmax 8000. With them a
signal of ``n * 256`` samples gives ``n`` frames, which is what the vocoder turns back into
``n * 256`` samples.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor

__all__ = ["LOG_CLAMP", "mel_filter_bank", "mel_spectrogram"]

LOG_CLAMP = 1e-5
"""Magnitudes below this are clamped before the log: ``log(1e-5) ~= -11.51`` is silence."""


def _hz_to_mel(hz: NDArray[np.float64]) -> NDArray[np.float64]:
    # Slaney's scale: linear below 1 kHz (3 mels per 200 Hz), logarithmic above.
    linear = hz / (200.0 / 3.0)
    log_part = 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (math.log(6.4) / 27.0)
    return np.where(hz >= 1000.0, log_part, linear)


def _mel_to_hz(mel: NDArray[np.float64]) -> NDArray[np.float64]:
    linear = mel * (200.0 / 3.0)
    log_part = 1000.0 * np.exp((math.log(6.4) / 27.0) * (mel - 15.0))
    return np.where(mel >= 15.0, log_part, linear)


@functools.lru_cache(maxsize=16)
def _filter_bank(
    sampling_rate: int, n_fft: int, num_mels: int, fmin: float, fmax: float
) -> NDArray[np.float32]:
    fft_hz = np.linspace(0.0, sampling_rate / 2.0, n_fft // 2 + 1)
    edges = _mel_to_hz(
        np.linspace(_hz_to_mel(np.array(fmin)), _hz_to_mel(np.array(fmax)), num_mels + 2)
    )
    widths = np.diff(edges)
    ramps = edges[:, None] - fft_hz[None, :]
    rising = -ramps[:-2] / widths[:-1, None]
    falling = ramps[2:] / widths[1:, None]
    bank = np.maximum(0.0, np.minimum(rising, falling))
    bank *= (2.0 / (edges[2:] - edges[:-2]))[:, None]
    out: NDArray[np.float32] = bank.astype(np.float32)
    return out


def mel_filter_bank(
    sampling_rate: int = 22050,
    n_fft: int = 1024,
    num_mels: int = 80,
    fmin: float = 0.0,
    fmax: float | None = 8000.0,
) -> Tensor:
    """Triangular mel filters ``[num_mels, n_fft // 2 + 1]`` (Slaney scale and normalization);
    ``fmax=None`` means ``sampling_rate / 2``."""
    top = sampling_rate / 2.0 if fmax is None else float(fmax)
    return torch.from_numpy(_filter_bank(sampling_rate, n_fft, num_mels, float(fmin), top).copy())


def mel_spectrogram(
    audio: Tensor,
    *,
    sampling_rate: int = 22050,
    n_fft: int = 1024,
    num_mels: int = 80,
    hop_size: int = 256,
    win_size: int = 1024,
    fmin: float = 0.0,
    fmax: float | None = 8000.0,
) -> Tensor:
    """Log-mel spectrogram of ``audio`` ``[batch, samples]`` (or ``[samples]``) in ``[-1, 1]``.

    Returns ``[batch, num_mels, frames]`` (``[num_mels, frames]`` for 1-D input), float32, with
    ``frames = samples // hop_size`` for the default sizes.
    """
    one = audio.dim() == 1
    x = audio.float().reshape(1, -1) if one else audio.float()
    if x.dim() != 2:
        raise ValueError(
            f"mel_spectrogram expects [batch, samples] audio, got {tuple(audio.shape)}"
        )
    pad = (n_fft - hop_size) // 2
    x = F.pad(x.unsqueeze(1), (pad, pad), mode="reflect").squeeze(1)
    window = torch.hann_window(win_size, dtype=torch.float32, device=x.device)
    spec = torch.stft(
        x, n_fft, hop_size, win_size, window=window, center=False, return_complex=True
    )
    magnitude = torch.sqrt(spec.real**2 + spec.imag**2 + 1e-9)
    bank = mel_filter_bank(sampling_rate, n_fft, num_mels, fmin, fmax).to(x.device)
    mel = torch.log(torch.clamp(torch.matmul(bank, magnitude), min=LOG_CLAMP))
    return mel.squeeze(0) if one else mel
