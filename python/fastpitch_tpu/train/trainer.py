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

import functools
import json
import math
import os
import random
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from fastpitch_tpu.models.fastpitch import FastPitch, FastPitchConfig, FFTConfig, PredictorConfig
from fastpitch_tpu.train.alignment import AlignmentEncoder
from fastpitch_tpu.train.dataset import DatasetInfo, Utterance, load_dataset
from fastpitch_tpu.train.step import Batch, LossWeights, training_losses

__all__ = ["PRESETS", "TrainConfig", "train"]


def _small() -> FastPitchConfig:
    fft = FFTConfig(n_layer=4, n_head=2, d_head=64, d_inner=1024, kernel_size=(3, 3))
    pred = PredictorConfig(filter_size=256, kernel_size=3, n_layers=2)
    return FastPitchConfig(d_model=256, encoder=fft, decoder=fft, duration_predictor=pred,
                           pitch_predictor=pred)


def _base() -> FastPitchConfig:
    fft = FFTConfig(n_layer=4, n_head=2, d_head=64, d_inner=768, kernel_size=(3, 3))
    pred = PredictorConfig(filter_size=192, kernel_size=3, n_layers=2)
    return FastPitchConfig(d_model=192, encoder=fft, decoder=fft, duration_predictor=pred,
                           pitch_predictor=pred)


def _tiny() -> FastPitchConfig:
    fft = FFTConfig(n_layer=1, n_head=1, d_head=16, d_inner=32, kernel_size=(3, 3))
    pred = PredictorConfig(filter_size=16, kernel_size=3, n_layers=1)
    return FastPitchConfig(d_model=16, encoder=fft, decoder=fft, duration_predictor=pred,
                           pitch_predictor=pred)


PRESETS = {
    "base": _base,
    "small": _small,
    "dle": lambda: FastPitchConfig(energy_predictor=PredictorConfig()),
    "tiny": _tiny,
}
"""Architectures by name: ``base`` (192 wide, 4 + 4 layers, 8.4 M parameters), ``small`` (256
wide, 4 + 4 layers, 14.5 M), ``dle`` (DeepLearningExamples' FastPitch 1.1 with energy, 45 M),
``tiny`` (tests)."""


@dataclass(frozen=True)
class TrainConfig:
    steps: int = 50_000
    batch_size: int = 32
    learning_rate: float = 1e-3
    warmup_steps: int = 1000
    weight_decay: float = 1e-6
    grad_clip: float = 10.0
    validation_fraction: float = 0.02
    validate_every: int = 1000
    checkpoint_every: int = 1000
    log_every: int = 50
    binarization_start: int = 2000
    binarization_warmup: int = 2000
    seed: int = 1234
    loader_workers: int = 2
    """Processes preparing batches (0: in the training process)."""
    max_seconds: float | None = None
    """Stop (validating and saving first) after this much wall time; a rerun resumes."""
    weights: LossWeights = field(default_factory=LossWeights)


def _collate(items: list[Utterance], info: DatasetInfo, mean: float, std: float) -> Batch:
    b = len(items)
    n = max(len(u.ids) for u in items)
    t = max(u.mel.shape[1] for u in items)
    ids = np.full((b, n), info.padding_idx, np.int64)
    mel = np.zeros((b, items[0].mel.shape[0], t), np.float32)
    pitch = np.zeros((b, t), np.float32)
    voiced = np.zeros((b, t), bool)
    energy = np.zeros((b, t), np.float32)
    for i, u in enumerate(items):
        k, f = len(u.ids), u.mel.shape[1]
        ids[i, :k] = u.ids
        mel[i, :, :f] = u.mel
        v = u.pitch_hz > 0
        voiced[i, :f] = v
        pitch[i, :f] = np.where(v, (u.pitch_hz - mean) / std, 0.0)
        energy[i, :f] = np.log1p(u.energy)
    return Batch(
        ids=torch.from_numpy(ids),
        text_lengths=torch.tensor([len(u.ids) for u in items]),
        mel=torch.from_numpy(mel),
        mel_lengths=torch.tensor([u.mel.shape[1] for u in items]),
        pitch=torch.from_numpy(pitch), voiced=torch.from_numpy(voiced),
        energy=torch.from_numpy(energy),
    )


def _batches(items: list[Utterance], batch_size: int, rng: random.Random
             ) -> Iterator[list[Utterance]]:
    """Endless length-bucketed batches: sort by length, cut into batches, shuffle the batches."""
    while True:
        order = sorted(range(len(items)), key=lambda i: (items[i].mel.shape[1], rng.random()))
        groups = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        rng.shuffle(groups)
        for g in groups:
            yield [items[i] for i in g]


class _BatchStream(torch.utils.data.IterableDataset[Batch]):
    """Collated training batches, made in DataLoader worker processes (padding) while
    the device trains; worker ``i`` of ``k`` makes every ``k``-th batch of one shared order."""

    def __init__(self, items: list[Utterance], info: DatasetInfo, batch_size: int,
                 seed: int) -> None:
        self.items = items
        self.info = info
        self.batch_size = batch_size
        self.seed = seed

    def __iter__(self) -> Iterator[Batch]:
        worker = torch.utils.data.get_worker_info()
        index, count = (worker.id, worker.num_workers) if worker is not None else (0, 1)
        for n, group in enumerate(_batches(self.items, self.batch_size,
                                           random.Random(self.seed))):
            if n % count == index:
                yield _collate(group, self.info, self.info.pitch_mean, self.info.pitch_std)


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


def train(dataset: str | os.PathLike[str], run_dir: str | os.PathLike[str], *,
          preset: str = "small", model_config: FastPitchConfig | None = None,
          init: str | None = None, config: TrainConfig | None = None,
          device: str | None = None, progress: bool = True) -> dict[str, float]:
    """Train (or fine-tune from ``init``) and return the last validation losses."""
    from tqdm import tqdm

    from fastpitch_tpu.checkpoints import export_fastpitch, load_fastpitch

    cfg = config or TrainConfig()
    run = Path(run_dir)
    run.mkdir(parents=True, exist_ok=True)
    info, items = load_dataset(dataset)
    if len(items) < 2:
        raise ValueError("the dataset needs at least two utterances (training + validation)")
    rng = random.Random(cfg.seed)
    torch.manual_seed(cfg.seed)
    shuffled = items[:]
    rng.shuffle(shuffled)
    n_val = max(1, int(len(items) * cfg.validation_fraction))
    val, train_items = shuffled[:n_val], shuffled[n_val:]
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    ckpt_path = run / "checkpoint.pt"
    weights_path = run / "weights.pt"
    state: dict[str, Any] | None = None
    if ckpt_path.exists():
        state = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        model_cfg = FastPitchConfig.from_dict(state["config"])
    elif weights_path.exists():
        # Weights and step only (a compact bf16 copy, e.g. moved between machines): the
        # optimizer starts afresh.
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
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
    if state is None and init is not None:
        model.load_state_dict(base.state_dict())
    elif state is None:
        # Start the mel projection at the corpus' mean log-mel per band: the first steps then
        # learn speech rather than the overall level.
        sample = np.concatenate([u.mel for u in train_items[:200]], axis=1).astype(np.float32)
        with torch.no_grad():
            model.proj.bias.copy_(torch.from_numpy(sample.mean(axis=1)))
    with torch.no_grad():
        model.pitch_mean.fill_(info.pitch_mean)
        model.pitch_std.fill_(info.pitch_std)
    model.to(dev).train()
    aligner.to(dev).train()
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
    amp = dev.type == "cuda"
    loader = torch.utils.data.DataLoader(
        _BatchStream(train_items, info, cfg.batch_size, cfg.seed + step), batch_size=None,
        num_workers=cfg.loader_workers, pin_memory=dev.type == "cuda",
        persistent_workers=cfg.loader_workers > 0,
        multiprocessing_context="spawn" if cfg.loader_workers > 0 else None)
    batches = iter(loader)
    log_file = open(run / "log.jsonl", "a", encoding="utf-8")
    last_val: dict[str, float] = {}

    def save() -> None:
        _save(ckpt_path, {"model": model.state_dict(), "aligner": aligner.state_dict(),
                          "optimizer": optim.state_dict(), "scheduler": sched.state_dict(),
                          "step": step, "config": model_cfg.to_dict(),
                          "train": json.loads(json.dumps(asdict(cfg)))})
        export_fastpitch(model, run / "voice.safetensors", dtype=torch.float16)

        def compact(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {k: v.detach().to(torch.bfloat16) if v.is_floating_point() else v.detach()
                    for k, v in sd.items()}

        _save(weights_path, {"model": compact(model.state_dict()),
                             "aligner": compact(aligner.state_dict()), "step": step,
                             "config": model_cfg.to_dict()})

    bar = tqdm(total=cfg.steps, initial=step, desc="training", unit="step",
               disable=not progress)
    started = time.monotonic()
    try:
        while step < cfg.steps:
            out_of_time = (cfg.max_seconds is not None
                           and time.monotonic() - started > cfg.max_seconds)
            if out_of_time:
                last_val = _validate(model, aligner, val, info, cfg, dev, amp, run, step)
                log_file.write(json.dumps({"step": step, "validation": last_val}) + "\n")
                save()
                break
            batch = next(batches).to(dev)
            scale = min(1.0, max(0.0, (step - cfg.binarization_start)
                                 / max(1, cfg.binarization_warmup)))
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=amp):
                losses = training_losses(model, aligner, batch, cfg.weights, scale)
            optim.zero_grad(set_to_none=True)
            losses["total"].backward()  # type: ignore[no-untyped-call]
            norm = torch.nn.utils.clip_grad_norm_(params, cfg.grad_clip)
            optim.step()
            sched.step()
            step += 1
            bar.update(1)
            if step % cfg.log_every == 0 or step == cfg.steps:
                row = {k: float(v.detach()) for k, v in losses.items()}
                row.update(step=step, lr=sched.get_last_lr()[0], grad_norm=float(norm),
                           time=time.time())
                log_file.write(json.dumps(row) + "\n")
                log_file.flush()
                bar.set_postfix(total=f"{row['total']:.3f}", mel=f"{row['mel']:.3f}",
                                dur=f"{row['duration']:.3f}", align=f"{row['align']:.3f}")
            if step % cfg.validate_every == 0 or step == cfg.steps:
                last_val = _validate(model, aligner, val, info, cfg, dev, amp, run, step)
                log_file.write(json.dumps({"step": step, "validation": last_val}) + "\n")
                log_file.flush()
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                save()
    finally:
        bar.close()
        log_file.close()
    return last_val


@torch.no_grad()
def _validate(model: FastPitch, aligner: AlignmentEncoder, val: list[Utterance],
              info: DatasetInfo, cfg: TrainConfig, dev: torch.device, amp: bool, run: Path,
              step: int) -> dict[str, float]:
    model.eval()
    aligner.eval()
    sums: dict[str, float] = {}
    n = 0
    for i in range(0, len(val), cfg.batch_size):
        batch = _collate(val[i:i + cfg.batch_size], info, info.pitch_mean, info.pitch_std).to(dev)
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
