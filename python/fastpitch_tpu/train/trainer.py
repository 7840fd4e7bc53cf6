"""Training loop: FastPitch + learned alignment on a dataset built by :mod:`.dataset`.

bf16 autocast on CUDA (float32 elsewhere), AdamW with warm-up then inverse-square-root decay,
gradient clipping, length-bucketed batches. Every ``checkpoint_every`` steps the run directory
gets ``checkpoint.pt`` (model, aligner, optimizer, step; read back with
``torch.load(weights_only=True)``) and ``voice.safetensors`` (the model alone, fp16, loadable by
:func:`~fastpitch_tpu.checkpoints.load_fastpitch`); a run restarted on the same directory resumes
from the checkpoint. Every ``validate_every`` steps: validation losses and a sample WAV of the
first validation sentence (``samples/step-N.wav``). Losses go to ``log.jsonl``.
"""

from __future__ import annotations

import json
import os
import random
import time
from pathlib import Path
from typing import IO, Any

import torch

from fastpitch_tpu.models.fastpitch import FastPitchConfig
from fastpitch_tpu.train.batches import BatchStream
from fastpitch_tpu.train.config import PRESETS, TrainConfig
from fastpitch_tpu.train.dataset import DatasetInfo, Utterance, load_dataset
from fastpitch_tpu.train.run_state import TrainingRun
from fastpitch_tpu.train.step import Batch, training_losses
from fastpitch_tpu.train.validation import validate

__all__ = ["PRESETS", "TrainConfig", "train"]


def train(dataset: str | os.PathLike[str], run_dir: str | os.PathLike[str], *,
          preset: str = "small", model_config: FastPitchConfig | None = None,
          init: str | None = None, config: TrainConfig | None = None,
          device: str | None = None, progress: bool = True) -> dict[str, float]:
    """Train (or fine-tune from ``init``) and return the last validation losses."""
    from tqdm import tqdm

    cfg = config or TrainConfig()
    folder = Path(run_dir)
    folder.mkdir(parents=True, exist_ok=True)
    info, items = load_dataset(dataset)
    val, train_items = _split(items, cfg)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    run = TrainingRun.open(folder, info, train_items, cfg=cfg, dev=dev, preset=preset,
                           model_config=model_config, init=init)
    amp = dev.type == "cuda"
    batches = iter(_loader(train_items, info, cfg, dev, run.step))
    log_file = open(folder / "log.jsonl", "a", encoding="utf-8")
    last_val: dict[str, float] = {}

    def validate_and_log() -> dict[str, float]:
        losses = validate(run.model, run.aligner, val, info, cfg, dev, amp, folder, run.step)
        log_file.write(json.dumps({"step": run.step, "validation": losses}) + "\n")
        return losses

    bar = tqdm(total=cfg.steps, initial=run.step, desc="training", unit="step",
               disable=not progress)
    started = time.monotonic()
    try:
        while run.step < cfg.steps:
            if cfg.max_seconds is not None and time.monotonic() - started > cfg.max_seconds:
                last_val = validate_and_log()
                run.save()
                break
            losses, norm = _train_step(run, next(batches).to(dev), amp)
            bar.update(1)
            last = run.step == cfg.steps
            if run.step % cfg.log_every == 0 or last:
                _log_losses(run, losses, norm, log_file, bar)
            if run.step % cfg.validate_every == 0 or last:
                last_val = validate_and_log()
                log_file.flush()
            if run.step % cfg.checkpoint_every == 0 or last:
                run.save()
    finally:
        bar.close()
        log_file.close()
    return last_val


def _split(items: list[Utterance], cfg: TrainConfig) -> tuple[list[Utterance], list[Utterance]]:
    """The validation and training utterances, a seeded random split (seeding PyTorch too)."""
    if len(items) < 2:
        raise ValueError("the dataset needs at least two utterances (training + validation)")
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    shuffled = items[:]
    rng.shuffle(shuffled)
    n_val = max(1, int(len(items) * cfg.validation_fraction))
    return shuffled[:n_val], shuffled[n_val:]


def _loader(train_items: list[Utterance], info: DatasetInfo, cfg: TrainConfig,
            dev: torch.device, step: int) -> torch.utils.data.DataLoader[Batch]:
    """Training batches made by ``cfg.loader_workers`` processes, from a stream seeded by the
    step the run starts at."""
    return torch.utils.data.DataLoader(
        BatchStream(train_items, info, cfg.batch_size, cfg.seed + step), batch_size=None,
        num_workers=cfg.loader_workers, pin_memory=dev.type == "cuda",
        persistent_workers=cfg.loader_workers > 0,
        multiprocessing_context="spawn" if cfg.loader_workers > 0 else None)


def _train_step(run: TrainingRun, batch: Batch,
                amp: bool) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
    """One optimizer step on ``batch``: its losses and the gradients' norm before clipping."""
    cfg = run.cfg
    scale = min(1.0, max(0.0, (run.step - cfg.binarization_start)
                         / max(1, cfg.binarization_warmup)))
    with torch.autocast(batch.ids.device.type, dtype=torch.bfloat16, enabled=amp):
        losses = training_losses(run.model, run.aligner, batch, cfg.weights, scale)
    run.optim.zero_grad(set_to_none=True)
    losses["total"].backward()  # type: ignore[no-untyped-call]
    norm = torch.nn.utils.clip_grad_norm_(run.params, cfg.grad_clip)
    run.optim.step()
    run.sched.step()
    run.step += 1
    return losses, norm


def _log_losses(run: TrainingRun, losses: dict[str, torch.Tensor], norm: torch.Tensor,
                log_file: IO[str], bar: Any) -> None:
    """A training step's losses, learning rate and gradient norm, to the log and progress bar."""
    row = {k: float(v.detach()) for k, v in losses.items()}
    row.update(step=run.step, lr=run.sched.get_last_lr()[0], grad_norm=float(norm),
               time=time.time())
    log_file.write(json.dumps(row) + "\n")
    log_file.flush()
    bar.set_postfix(total=f"{row['total']:.3f}", mel=f"{row['mel']:.3f}",
                    dur=f"{row['duration']:.3f}", align=f"{row['align']:.3f}")
