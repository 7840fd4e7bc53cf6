"""The two static-shape graphs of text-to-speech inference, as plain PyTorch modules.

Backends compile these once per bucket shape:

- :class:`EncodeStage` — ``ids [batch, tokens]`` → encoder states ``[batch, tokens, d_model]``
  and predicted durations ``[batch, tokens]`` (float32). Only the durations go to the host, which
  rounds them (with the pace) and picks the frame bucket.
- :class:`DecodeStage` — encoder states + integer frames per token → waveform
  ``[batch, n_frames * hop]``: length regulation to exactly ``n_frames`` frames, the FastPitch
  decoder, and HiFi-GAN, masked so that padding does not reach the valid audio.

Padding is isolated in both stages (``isolate_padding`` in the encoder's predictors, sequence
lengths in the vocoder), so every row's audio equals what the plain models give for that
utterance alone, unpadded, within float rounding, whatever bucket or batch it shares.

Both take only tensors plus, for the decoder, the static frame count; their outputs depend on
nothing else, so a compiled graph is reused for every input of its shape.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from fastpitch_tpu.models.fastpitch import FastPitch, regulate_length
from fastpitch_tpu.models.hifigan import HiFiGAN

__all__ = ["DecodeStage", "EncodeStage"]


class EncodeStage(nn.Module):
    """FastPitch's encoder and predictors with per-row pitch controls."""

    def __init__(self, fastpitch: FastPitch, pad_to: int | None = None) -> None:
        super().__init__()
        self.fastpitch = fastpitch
        # Read once here: inside a traced graph the statistics must be constants.
        self.pitch_stats = fastpitch.pitch_stats
        self.pad_to = pad_to

    def forward(self, ids: Tensor, speaker: Tensor, pitch_shift: Tensor,
                pitch_scale: Tensor) -> tuple[Tensor, Tensor]:
        """``ids`` int ``[b, t]``; ``speaker`` int ``[b]``; ``pitch_shift`` (Hz) and
        ``pitch_scale`` float ``[b]``. Returns ``(hidden, durations)``; with ``pad_to`` the
        states are zero-padded to that many tokens, so that the decoder's graph does not depend
        on the token bucket."""
        feats = self.fastpitch.encode(
            ids,
            speaker=speaker if self.fastpitch.speaker_emb is not None else None,
            pitch_shift=pitch_shift[:, None],
            pitch_scale=pitch_scale[:, None],
            pitch_stats=self.pitch_stats,
            isolate_padding=True,
        )
        hidden = feats.hidden
        if self.pad_to is not None and hidden.shape[1] < self.pad_to:
            hidden = torch.nn.functional.pad(hidden, (0, 0, 0, self.pad_to - hidden.shape[1]))
        return hidden, feats.durations.float()


class DecodeStage(nn.Module):
    """Length regulation, FastPitch's decoder and the HiFi-GAN vocoder."""

    def __init__(self, fastpitch: FastPitch, hifigan: HiFiGAN) -> None:
        super().__init__()
        self.fastpitch = fastpitch
        self.hifigan = hifigan
        self.conditioned = bool(fastpitch.config.decoder.condition_types)

    def forward(self, hidden: Tensor, frames_per_token: Tensor, speaker: Tensor,
                n_frames: int) -> Tensor:
        """``frames_per_token`` int ``[b, t]`` (already divided by the pace and rounded);
        returns audio ``[b, n_frames * hop]`` (float32)."""
        fp = self.fastpitch
        frames, lengths = regulate_length(frames_per_token, hidden, 1.0, n_frames)
        cond = None
        if self.conditioned:
            cond = fp.speaker_conditioning(speaker, hidden.shape[0], hidden.device)
        mel = fp.decode(frames, lengths, cond, isolate_padding=True)
        weight = next(self.hifigan.parameters())
        audio: Tensor = self.hifigan(mel.to(weight.dtype), lengths)
        return audio.float()
