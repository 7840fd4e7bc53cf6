"""One training forward pass of FastPitch with learned alignment, and its losses.

The model is our inference :class:`~fastpitch_tpu.models.FastPitch` (so a trained voice loads and
runs like any checkpoint) plus an :class:`~fastpitch_tpu.train.alignment.AlignmentEncoder`.
Teacher forcing as in FastPitch 1.1: the decoder sees the encoder states expanded by the
*aligned* durations, with the embeddings of the *measured* per-symbol pitch (and energy) added;
the predictors learn those durations, pitch and energy.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import torch
from torch import Tensor

from fastpitch_tpu.models.fastpitch import FastPitch, regulate_length
from fastpitch_tpu.train.alignment import (
    AlignmentEncoder,
    batch_beta_binomial_prior,
    binarization_loss,
    durations_from_alignment,
    forward_sum_loss,
    hard_alignment,
)

__all__ = ["Batch", "LossWeights", "training_losses"]


@dataclass
class Batch:
    ids: Tensor
    """``[B, N]`` symbol ids padded with the model's ``padding_idx``."""
    text_lengths: Tensor
    mel: Tensor
    """``[B, n_mels, T]`` log-mel targets (zero past each length)."""
    mel_lengths: Tensor
    pitch: Tensor
    """``[B, T]`` per-frame pitch, already normalized ``(hz - mean) / std``; 0 where unvoiced."""
    voiced: Tensor
    """``[B, T]`` booleans."""
    energy: Tensor | None
    """``[B, T]`` per-frame energy target (the model's energy scale) or None."""
    prior: Tensor | None = None
    """``[B, T, N]`` alignment prior (zero outside each item's lengths); None: the
    beta-binomial prior, computed on the device from the lengths."""
    speaker: Tensor | None = None

    def to(self, device: torch.device) -> Batch:
        def move(t: Tensor | None) -> Tensor | None:
            return None if t is None else t.to(device, non_blocking=True)

        moved: dict[str, Any] = {f.name: move(getattr(self, f.name)) for f in fields(self)}
        return replace(self, **moved)


@dataclass(frozen=True)
class LossWeights:
    mel: float = 1.0
    duration: float = 0.1
    pitch: float = 0.1
    energy: float = 0.1
    align: float = 1.0
    binarization: float = 1.0
    """Reached after ``binarization_warmup`` steps (0 before ``binarization_start``)."""


def _per_token(values: Tensor, weights: Tensor, hard: Tensor) -> Tensor:
    """Mean of ``values`` ``[B, T]`` over each symbol's frames, counting only frames with
    ``weights`` 1: ``[B, N]`` (0 for symbols without such frames)."""
    total = torch.einsum("bt,btn->bn", values * weights, hard)
    count = torch.einsum("bt,btn->bn", weights, hard)
    return torch.where(count > 0, total / count.clamp(min=1), torch.zeros_like(total))


def training_losses(model: FastPitch, aligner: AlignmentEncoder, batch: Batch,
                    weights: LossWeights, binarization_scale: float) -> dict[str, Tensor]:
    """All losses of one batch (``total`` is the weighted sum to minimize)."""
    cfg = model.config
    ids = batch.ids
    mask = ids != cfg.padding_idx
    mask3 = mask[..., None]
    cond = model.speaker_conditioning(batch.speaker, ids.shape[0], ids.device) \
        if model.speaker_emb is not None else None
    emb = model.encoder.word_emb(ids)
    hidden = model.encoder(emb, mask3, cond)
    log_dur_pred = model.duration_predictor(hidden, mask3, cond)
    pitch_pred = model.pitch_predictor(hidden, mask3, cond)

    prior = batch.prior
    if prior is None:
        prior = batch_beta_binomial_prior(batch.text_lengths, batch.mel_lengths, ids.shape[1],
                                          batch.mel.shape[2])
    soft, log_prob = aligner(batch.mel, emb.transpose(1, 2), mask, prior)
    hard = hard_alignment(soft, batch.text_lengths, batch.mel_lengths)
    durations = durations_from_alignment(hard)  # [B, N], sums to the mel lengths
    voiced = batch.voiced.float()
    pitch_tgt = _per_token(batch.pitch.float(), voiced, hard)
    hidden = hidden + model.pitch_emb.over_time(pitch_tgt[:, :, None].to(hidden.dtype))
    losses: dict[str, Tensor] = {}
    maskf = mask.float()
    n_tokens = maskf.sum().clamp(min=1)
    if model.energy_predictor is not None:
        if batch.energy is None:
            raise ValueError("this model predicts energy: the batch needs energy targets")
        ones = torch.ones_like(voiced)
        energy_tgt = _per_token(batch.energy.float(), ones, hard)
        energy_pred = model.energy_predictor(hidden, mask3, cond)
        hidden = hidden + model.energy_emb.over_time(energy_tgt[:, :, None].to(hidden.dtype))
        losses["energy"] = (((energy_pred.float() - energy_tgt) ** 2) * maskf).sum() / n_tokens
    frames, lengths = regulate_length(durations, hidden, 1.0, batch.mel.shape[2])
    dec_cond = cond if cfg.decoder.condition_types else None
    mel_pred = model.decode(frames, lengths, dec_cond)
    frame_mask = (torch.arange(batch.mel.shape[2], device=ids.device)[None]
                  < batch.mel_lengths[:, None]).float()
    n_values = frame_mask.sum().clamp(min=1) * batch.mel.shape[1]
    losses["mel"] = (((mel_pred.float() - batch.mel.float()) ** 2)
                     * frame_mask[:, None]).sum() / n_values
    log_dur_tgt = torch.log1p(durations)
    losses["duration"] = (((log_dur_pred.float() - log_dur_tgt) ** 2) * maskf).sum() / n_tokens
    losses["pitch"] = (((pitch_pred.float() - pitch_tgt) ** 2) * maskf).sum() / n_tokens
    losses["align"] = forward_sum_loss(log_prob.float(), batch.text_lengths, batch.mel_lengths)
    losses["binarization"] = binarization_loss(hard[:, None], soft.float())
    total = (weights.mel * losses["mel"] + weights.duration * losses["duration"]
             + weights.pitch * losses["pitch"] + weights.align * losses["align"]
             + weights.binarization * binarization_scale * losses["binarization"])
    if "energy" in losses:
        total = total + weights.energy * losses["energy"]
    losses["total"] = total
    losses["mean_duration"] = (durations.sum() / n_tokens).detach()
    return losses


