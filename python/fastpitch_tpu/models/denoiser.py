"""Vocoder bias removal, as in NVIDIA DeepLearningExamples' FastPitch inference (``--denoising``).

A vocoder fed a silent (all-zero) mel spectrogram still produces a faint constant hum. The
:class:`Denoiser` measures the magnitude spectrum of that output once, then subtracts
``strength`` times it from every frame of the audio it is given, keeping the phase.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["Denoiser"]


class Denoiser(nn.Module):
    """Subtracts ``vocoder``'s bias spectrum (its output for a zero mel) from audio.

    ``vocoder`` maps ``[1, num_mels, frames]`` to audio ``[1, samples]`` (or ``[1, 1, samples]``);
    ``num_mels`` defaults to ``vocoder.config.num_mels`` when it has one, else 80. The STFT is
    ``n_fft`` points with a periodic Hann window of ``win_length`` and hop ``n_fft // 4``.
    """

    bias_spec: Tensor
    window: Tensor

    def __init__(
        self,
        vocoder: nn.Module,
        *,
        n_fft: int = 1024,
        win_length: int = 1024,
        num_mels: int | None = None,
        frames: int = 88,
    ) -> None:
        super().__init__()
        self.n_fft = n_fft
        self.hop_length = n_fft // 4
        self.win_length = win_length
        if num_mels is None:
            num_mels = int(getattr(getattr(vocoder, "config", None), "num_mels", 80))
        param = next(vocoder.parameters())
        self.register_buffer("window", torch.hann_window(win_length, dtype=torch.float32))
        with torch.no_grad():
            silence = torch.zeros(1, num_mels, frames, dtype=param.dtype, device=param.device)
            bias_audio = vocoder(silence).float().reshape(1, -1).cpu()
            spec = self._stft(bias_audio).abs()
        # The first frame's magnitude, broadcast over time: [1, n_fft // 2 + 1, 1].
        self.register_buffer("bias_spec", spec[:, :, :1].clone())

    def _stft(self, audio: Tensor) -> Tensor:
        return torch.stft(
            audio, self.n_fft, self.hop_length, self.win_length,
            window=self.window.to(audio.device), center=True, pad_mode="reflect",
            return_complex=True,
        )

    def forward(self, audio: Tensor, strength: float = 0.1) -> Tensor:
        """Denoise ``audio`` ``[batch, samples]`` (or ``[samples]``); same shape out."""
        squeeze = audio.dim() == 1
        x = audio.float().reshape(1, -1) if squeeze else audio.float()
        spec = self._stft(x)
        mag = (spec.abs() - self.bias_spec.to(x.device) * strength).clamp(min=0.0)
        out = torch.istft(
            torch.polar(mag, spec.angle()), self.n_fft, self.hop_length, self.win_length,
            window=self.window.to(x.device), center=True, length=x.shape[-1],
        )
        return out.reshape(-1) if squeeze else out
