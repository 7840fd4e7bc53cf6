"""Validation during training: the validation set's mean losses, and a sample WAV of its first
sentence spoken with the built-in LJSpeech vocoder (``samples/step-N.wav``)."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fastpitch_tpu.models.fastpitch import FastPitch
from fastpitch_tpu.train.alignment import AlignmentEncoder
from fastpitch_tpu.train.batches import collate
from fastpitch_tpu.train.config import TrainConfig
from fastpitch_tpu.train.dataset import DatasetInfo, Utterance
from fastpitch_tpu.train.step import training_losses

__all__ = ["validate"]


@torch.no_grad()
def validate(model: FastPitch, aligner: AlignmentEncoder, val: list[Utterance],
              info: DatasetInfo, cfg: TrainConfig, dev: torch.device, amp: bool, run: Path,
              step: int) -> dict[str, float]:
    model.eval()
    aligner.eval()
    sums: dict[str, float] = {}
    n = 0
    for i in range(0, len(val), cfg.batch_size):
        batch = collate(val[i:i + cfg.batch_size], info, info.pitch_mean, info.pitch_std).to(dev)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
            losses = training_losses(model, aligner, batch, cfg.weights, 1.0)
        for k, v in losses.items():
            sums[k] = sums.get(k, 0.0) + float(v.detach()) * len(batch.ids)
        n += len(batch.ids)
    _sample(model, val[0], dev, run / "samples" / f"step-{step}.wav")
    model.train()
    aligner.train()
    return {k: v / n for k, v in sums.items()}


@functools.lru_cache(maxsize=1)
def _vocoder() -> Any:
    """The built-in LJSpeech vocoder for sample WAVs (loaded once), or None without it."""
    from fastpitch_tpu.checkpoints import load_hifigan

    try:
        return load_hifigan("lj")
    except FileNotFoundError:
        return None


def _sample(model: FastPitch, utt: Utterance, dev: torch.device, path: Path) -> None:
    """Speak a validation sentence with the built-in LJSpeech vocoder (skipped without it)."""
    from fastpitch_tpu.audio import Audio

    vocoder = _vocoder()
    if vocoder is None:
        return
    vocoder.to(dev)
    ids = torch.from_numpy(utt.ids.astype(np.int64))[None].to(dev)
    mel = model.infer(ids).mel.float()
    audio = vocoder(mel)[0].float().cpu().numpy()
    path.parent.mkdir(parents=True, exist_ok=True)
    Audio(audio, vocoder.config.sampling_rate).save(path)
