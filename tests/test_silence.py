"""Trimming the silent ends of utterances (SynthesisOptions.trim_silence)."""

from __future__ import annotations

import numpy as np
import pytest

from fastpitch_tpu.engine import SynthesisOptions
from fastpitch_tpu.engine.options import apply_overrides
from fastpitch_tpu.engine.silence import KEEP_S, trim_silence

RATE = 22050


def _quiet_ends(samples: np.ndarray, db: float = 40.0) -> tuple[float, float]:
    """Seconds of near-silence (more than ``db`` under the peak) before the first and after the
    last louder sample: the measure the voice's goals use."""
    level = np.abs(samples)
    loud = np.flatnonzero(level > level.max() * 10 ** (-db / 20))
    return loud[0] / RATE, (len(samples) - 1 - loud[-1]) / RATE


def test_trim_keeps_the_speech_exactly_and_a_short_margin() -> None:
    rng = np.random.default_rng(0)
    t = np.arange(int(0.5 * RATE)) / RATE
    speech = (0.5 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
    speech[0] = speech[-1] = 0.4  # the loud span's exact ends
    lead = (1e-4 * rng.standard_normal(int(0.3 * RATE))).astype(np.float32)  # -74 dB
    tail = (1e-3 * rng.standard_normal(int(0.4 * RATE))).astype(np.float32)  # -54 dB
    audio = np.concatenate([lead, speech, tail])
    out = trim_silence(audio, RATE)
    keep = round(KEEP_S * RATE)
    start = len(lead) - keep
    np.testing.assert_array_equal(out, audio[start:start + len(speech) + 2 * keep])
    assert np.shares_memory(out, audio)  # a view: cheap
    lead_s, tail_s = _quiet_ends(out)
    assert lead_s == pytest.approx(KEEP_S, abs=1 / RATE)
    assert tail_s == pytest.approx(KEEP_S, abs=1 / RATE)
    # nothing to cut: unchanged
    np.testing.assert_array_equal(trim_silence(speech, RATE), speech)


def test_trim_leaves_silence_and_empty_audio_alone() -> None:
    zeros = np.zeros(1000, np.float32)
    assert trim_silence(zeros, RATE) is zeros
    empty = np.zeros(0, np.float32)
    assert trim_silence(empty, RATE).size == 0


def test_none_per_call_keeps_the_voice_choice() -> None:
    on = SynthesisOptions(trim_silence=True)
    assert apply_overrides(on, {"trim_silence": None}).trim_silence is True
    assert apply_overrides(on, {"trim_silence": False}).trim_silence is False
    assert apply_overrides(on, {"pace": 1.1}).trim_silence is True


def test_built_in_voice_trims_by_default_and_other_checkpoints_do_not() -> None:
    pytest.importorskip("torch")
    from fastpitch_tpu.engine import Synthesizer
    from fastpitch_tpu.engine.synthesizer import _voice_defaults

    assert _voice_defaults(SynthesisOptions(), "model.nemo").trim_silence is False
    assert _voice_defaults(SynthesisOptions(trim_silence=False), "default").trim_silence is False
    synth = Synthesizer(backend="torch", dtype="float32", cache_dir="")
    assert synth.defaults.trim_silence is True
    text = "The report recommended that the agency improve its protective methods."
    trimmed = synth.synthesize(text).samples
    whole = synth.synthesize(text, trim_silence=False).samples
    assert len(trimmed) < len(whole)
    # an exact cut of the same audio
    level = np.abs(whole)
    start = int(np.flatnonzero(level > level.max() / 100)[0]) - round(KEEP_S * RATE)
    np.testing.assert_array_equal(trimmed, whole[max(0, start):max(0, start) + len(trimmed)])
    lead, tail = _quiet_ends(trimmed)
    assert lead <= 0.1 and tail <= 0.1
    # sentence by sentence: no more than the pause plus two margins between sentences
    two = "The report was brief. It recommended better methods."
    pieces = list(synth.synthesize_stream(two, sentence_pause=0.2))
    gap = _quiet_ends(pieces[0].samples)[1] + _quiet_ends(pieces[1].samples)[0]
    assert gap <= 0.25
