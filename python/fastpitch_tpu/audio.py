"""Audio: the :class:`Audio` result type (samples + sample rate, WAV output) and the
mel-spectrogram analysis used by FastPitch and HiFi-GAN (the HiFi-GAN recipe).

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
import os
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from torch import Tensor

__all__ = ["LOG_CLAMP", "Audio", "mel_filter_bank", "mel_spectrogram", "wav_header"]


def wav_header(sample_rate: int, n_samples: int | None) -> bytes:
    """Header of a mono 16-bit PCM WAV file of ``n_samples``; ``None`` gives the largest sizes,
    which players of a stream of unknown length accept."""
    data = 0xFFFFFFFF - 36 if n_samples is None else 2 * n_samples
    return (b"RIFF" + struct.pack("<I", min(0xFFFFFFFF, 36 + data)) + b"WAVEfmt "
            + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, 2 * sample_rate, 2, 16)
            + b"data" + struct.pack("<I", data))


@dataclass(frozen=True)
class Audio:
    """Mono audio: float32 ``samples`` in ``[-1, 1]`` and their ``sample_rate`` in Hz."""

    samples: NDArray[np.float32]
    sample_rate: int

    def __post_init__(self) -> None:
        if self.samples.ndim != 1:
            raise ValueError(f"Audio holds mono samples, got shape {self.samples.shape}")
        if self.sample_rate <= 0:
            raise ValueError(f"sample_rate must be positive, got {self.sample_rate}")

    def __len__(self) -> int:
        return int(self.samples.shape[0])

    @property
    def duration(self) -> float:
        """Length in seconds."""
        return len(self) / self.sample_rate

    def to_int16(self) -> NDArray[np.int16]:
        """16-bit PCM samples (clipped to the int16 range)."""
        scaled = np.clip(self.samples, -1.0, 1.0) * 32767.0
        return np.round(scaled).astype(np.int16)

    def to_pcm16_bytes(self) -> bytes:
        """Raw little-endian 16-bit samples (the data of a WAV file)."""
        data: bytes = self.to_int16().astype("<i2").tobytes()
        return data

    def to_wav_bytes(self) -> bytes:
        """The audio as a 16-bit PCM WAV file, in memory."""
        return wav_header(self.sample_rate, len(self)) + self.to_pcm16_bytes()

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write a 16-bit PCM WAV file (or FLAC / OGG, by the file's extension)."""
        import soundfile

        p = Path(path)
        subtype = "PCM_16" if p.suffix.lower() in (".wav", ".flac", "") else None
        soundfile.write(str(p), self.to_int16() if subtype else self.samples, self.sample_rate,
                        subtype=subtype)
        return p

    @classmethod
    def concatenate(cls, parts: Sequence[Audio], pause: float = 0.0) -> Audio:
        """Join ``parts`` (same sample rate) with ``pause`` seconds of silence between them."""
        if not parts:
            raise ValueError("nothing to concatenate")
        rate = parts[0].sample_rate
        if any(p.sample_rate != rate for p in parts):
            raise ValueError("cannot join audio of different sample rates")
        if len(parts) == 1:
            return cls(parts[0].samples, rate)  # nothing to join: no copy
        gap = np.zeros(int(round(pause * rate)), dtype=np.float32)
        pieces: list[NDArray[np.float32]] = []
        for i, part in enumerate(parts):
            if i and gap.size:
                pieces.append(gap)
            pieces.append(part.samples)
        return cls(np.concatenate(pieces).astype(np.float32, copy=False), rate)

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
    import torch

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
    import torch
    import torch.nn.functional as F

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
