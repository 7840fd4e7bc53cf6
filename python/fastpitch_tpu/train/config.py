"""What a training run is set up with: the architectures by name and the training settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastpitch_tpu.models.fastpitch import FastPitchConfig, FFTConfig, PredictorConfig
from fastpitch_tpu.train.step import LossWeights

__all__ = ["PRESETS", "TrainConfig"]


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
