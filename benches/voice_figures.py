"""Figures of the default voice for the README (needs matplotlib):

- ``default_voice_mel_pitch.png``: the mel spectrogram of one sentence spoken by the built-in
  voice, its predicted pitch contour (Hz, per token, held over the token's frames) and the token
  boundaries from the predicted durations;
- ``default_voice_training.png``: training and validation losses against steps, from a training
  run's ``log.jsonl`` (``benches/figures/default_voice_log.jsonl`` is the default voice's; where a
  run was resumed from an earlier step, the later rows replace the earlier ones).

    python benches/voice_figures.py [--log RUN/log.jsonl] [--out benches/figures]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from fastpitch_tpu import TextFrontend  # noqa: E402
from fastpitch_tpu.checkpoints import load_fastpitch  # noqa: E402

HERE = Path(__file__).resolve().parent
SENTENCE = "The printing press changed how quickly news could travel across Europe."


def mel_pitch_figure(out: Path, sentence: str) -> None:
    model = load_fastpitch("default").eval()
    cfg = model.config
    fe = TextFrontend(cfg.frontend)
    ids = torch.from_numpy(fe.encode(sentence).astype(np.int64))[None]
    with torch.no_grad():
        result = model.infer(ids)
    mel = result.mel[0, :, : int(result.mel_lengths[0])].numpy()
    frames = np.clip(np.round(result.durations[0].numpy()), 0, None).astype(int)
    hz = result.pitch[0].numpy() * cfg.pitch_std + cfg.pitch_mean
    symbols = [fe.vocab[i] for i in ids[0].tolist()]
    per_frame = np.repeat(hz, frames)[: mel.shape[1]]
    bounds = np.cumsum(frames)
    seconds = cfg.hop_length / cfg.sample_rate
    fig, (ax_mel, ax_f0) = plt.subplots(2, 1, figsize=(12, 6), sharex=True,
                                        gridspec_kw={"height_ratios": [3, 1.4]})
    extent = (0.0, mel.shape[1] * seconds, 0, mel.shape[0])
    ax_mel.imshow(mel, origin="lower", aspect="auto", cmap="magma", extent=extent)
    ax_mel.set_ylabel("mel band")
    ax_mel.set_title(f"Built-in voice: \"{sentence}\"")
    t = np.arange(len(per_frame)) * seconds
    voiced = [s.strip() and s[0].isalpha() for s in symbols]
    shown = np.where(np.repeat(voiced, frames)[: len(per_frame)], per_frame, np.nan)
    ax_f0.plot(t, shown, color="tab:blue", linewidth=2)
    for b, s, f in zip(bounds, symbols, frames):
        ax_f0.axvline(b * seconds, color="0.85", linewidth=0.6)
        if f > 0 and s.strip():
            ax_f0.text((b - f / 2) * seconds, np.nanmin(hz) - 5, s.lstrip("@"), fontsize=6,
                       ha="center", va="top", rotation=90)
    ax_f0.set_ylabel("pitch (Hz)")
    ax_f0.set_xlabel("time (s)")
    ax_f0.set_ylim(np.nanmin(hz) - 45, np.nanmax(hz) + 10)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def training_figure(log: Path, out: Path) -> None:
    train: dict[int, dict[str, float]] = {}
    val: dict[int, dict[str, float]] = {}
    for line in log.read_text().splitlines():
        row = json.loads(line)
        if "validation" in row:
            val[row["step"]] = row["validation"]
        else:
            train[row["step"]] = row
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for ax, key, title in zip(axes, ("mel", "duration", "align"),
                              ("mel loss (MSE, log-mel)", "duration loss (MSE, log frames)",
                               "alignment loss (forward-sum CTC)")):
        steps = sorted(train)
        ax.plot(steps, [train[s][key] for s in steps], color="0.6", linewidth=0.8,
                label="training batch")
        vsteps = sorted(val)
        ax.plot(vsteps, [val[s][key] for s in vsteps], "o-", color="tab:red",
                label="validation")
        ax.set_title(title)
        ax.set_xlabel("step (batch 32)")
        ax.set_yscale("log")
        ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--log", type=Path, default=HERE / "figures" / "default_voice_log.jsonl")
    parser.add_argument("--out", type=Path, default=HERE / "figures")
    parser.add_argument("--sentence", default=SENTENCE)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    mel_pitch_figure(args.out / "default_voice_mel_pitch.png", args.sentence)
    training_figure(args.log, args.out / "default_voice_training.png")
    print(f"wrote {args.out}/default_voice_mel_pitch.png and default_voice_training.png")


if __name__ == "__main__":
    main()
