"""A training run's state and its run folder: the model, aligner, optimizer and learning-rate
schedule, set up afresh (from a preset, a given configuration or ``init``'s weights) or resumed
from the folder's ``checkpoint.pt`` (everything) or ``weights.pt`` (weights and step only), and
saved back there with ``voice.safetensors`` (the model alone, fp16)."""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fastpitch_tpu.models.fastpitch import FastPitch, FastPitchConfig
from fastpitch_tpu.train.alignment import AlignmentEncoder
from fastpitch_tpu.train.config import PRESETS, TrainConfig
from fastpitch_tpu.train.dataset import DatasetInfo, Utterance

__all__ = ["TrainingRun"]


def _lr_lambda(warmup: int, start: int = 0) -> Any:
    """Warm-up then inverse square root, by global step; a run resumed from weights alone
    (``start`` > 0, fresh optimizer) re-warms over its first 100 steps."""

    def f(local: int) -> float:
        step = max(start + local, 1)
        factor = min(step / warmup, math.sqrt(warmup / step)) if warmup > 0 else 1.0
        if start > 0:
            factor *= min(1.0, (local + 1) / 100)
        return factor

    return f


def _save(path: Path, obj: dict[str, Any]) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _saved_state(folder: Path) -> dict[str, Any] | None:
    """What the run folder holds of an earlier run: the full checkpoint, else the weights alone,
    else None."""
    ckpt_path = folder / "checkpoint.pt"
    if ckpt_path.exists():
        state: dict[str, Any] = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        return state
    weights_path = folder / "weights.pt"
    if weights_path.exists():
        # Weights and step only (a compact bf16 copy, e.g. moved between machines): the
        # optimizer starts afresh.
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
        return state
    return None


@dataclass
class TrainingRun:
    """The state of one training run, kept in ``folder``."""

    folder: Path
    cfg: TrainConfig
    model_cfg: FastPitchConfig
    model: FastPitch
    aligner: AlignmentEncoder
    params: list[torch.nn.Parameter]
    optim: torch.optim.AdamW
    sched: torch.optim.lr_scheduler.LambdaLR
    step: int

    @classmethod
    def open(cls, folder: Path, info: DatasetInfo, train_items: list[Utterance], *,
             cfg: TrainConfig, dev: torch.device, preset: str,
             model_config: FastPitchConfig | None, init: str | None) -> TrainingRun:
        """The run resumed from ``folder``, else started afresh (fine-tuning ``init`` if
        given), on ``dev`` in training mode."""
        from fastpitch_tpu.checkpoints import load_fastpitch

        state = _saved_state(folder)
        base = None
        if state is not None:
            model_cfg = FastPitchConfig.from_dict(state["config"])
        elif init is not None:
            base = load_fastpitch(init)
            model_cfg = base.config
        else:
            model_cfg = model_config or PRESETS[preset]()
        model_cfg = replace(model_cfg, n_symbols=info.n_symbols, padding_idx=info.padding_idx,
                            frontend=info.frontend, pitch_mean=info.pitch_mean,
                            pitch_std=info.pitch_std, sample_rate=info.sample_rate,
                            hop_length=info.hop_length)
        model = FastPitch(model_cfg)
        aligner = AlignmentEncoder(n_mels=model_cfg.n_mel_channels, n_text=model_cfg.d_model)
        if base is not None:
            model.load_state_dict(base.state_dict())
        elif state is None:
            # Start the mel projection at the corpus' mean log-mel per band: the first steps
            # then learn speech rather than the overall level.
            sample = np.concatenate([u.mel for u in train_items[:200]],
                                    axis=1).astype(np.float32)
            with torch.no_grad():
                model.proj.bias.copy_(torch.from_numpy(sample.mean(axis=1)))
        with torch.no_grad():
            model.pitch_mean.fill_(info.pitch_mean)
            model.pitch_std.fill_(info.pitch_std)
        model.to(dev).train()
        aligner.to(dev).train()
        return cls._with_optimizer(folder, cfg, model_cfg, model, aligner, state)

    @classmethod
    def _with_optimizer(cls, folder: Path, cfg: TrainConfig, model_cfg: FastPitchConfig,
                        model: FastPitch, aligner: AlignmentEncoder,
                        state: dict[str, Any] | None) -> TrainingRun:
        """The run with its optimizer and schedule, and ``state`` (if any) loaded."""
        params = list(model.parameters()) + list(aligner.parameters())
        optim = torch.optim.AdamW(params, lr=cfg.learning_rate, betas=(0.9, 0.98), eps=1e-9,
                                  weight_decay=cfg.weight_decay)
        step = 0
        if state is not None:
            model.load_state_dict({k: v.float() if v.is_floating_point() else v
                                   for k, v in state["model"].items()})
            aligner.load_state_dict({k: v.float() for k, v in state["aligner"].items()})
            step = int(state["step"])
        full_state = state is not None and "optimizer" in state
        sched = torch.optim.lr_scheduler.LambdaLR(
            optim, _lr_lambda(cfg.warmup_steps, 0 if full_state else step))
        if state is not None and full_state:
            optim.load_state_dict(state["optimizer"])
            sched.load_state_dict(state["scheduler"])
        return cls(folder, cfg, model_cfg, model, aligner, params, optim, sched, step)

    def save(self) -> None:
        """Writes ``checkpoint.pt``, ``voice.safetensors`` and ``weights.pt``."""
        from fastpitch_tpu.checkpoints import export_fastpitch

        model, aligner = self.model, self.aligner
        _save(self.folder / "checkpoint.pt", {
            "model": model.state_dict(), "aligner": aligner.state_dict(),
            "optimizer": self.optim.state_dict(), "scheduler": self.sched.state_dict(),
            "step": self.step, "config": self.model_cfg.to_dict(),
            "train": json.loads(json.dumps(asdict(self.cfg)))})
        export_fastpitch(model, self.folder / "voice.safetensors", dtype=torch.float16)

        def compact(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {k: v.detach().to(torch.bfloat16) if v.is_floating_point() else v.detach()
                    for k, v in sd.items()}

        _save(self.folder / "weights.pt", {"model": compact(model.state_dict()),
                                           "aligner": compact(aligner.state_dict()),
                                           "step": self.step,
                                           "config": self.model_cfg.to_dict()})
