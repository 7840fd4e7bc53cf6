"""The static-shape engine on a tiny fixture model: exactness against the plain models, buckets,
no recompilation after warm-up (per backend), sentence splitting, batching, errors."""

from __future__ import annotations

import importlib.util
import os
import warnings
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastpitch_tpu.audio import Audio  # noqa: E402
from fastpitch_tpu.checkpoints import load_fastpitch, load_hifigan  # noqa: E402
from fastpitch_tpu.engine import Buckets, SynthesisOptions, Synthesizer  # noqa: E402
from fastpitch_tpu.errors import InvalidTextError  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
FASTPITCH = FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt"
MULTI = FIXTURES / "fastpitch" / "dle_multispeaker" / "FastPitch_checkpoint_1000_ddp.pt"
HIFIGAN = FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"
BUCKETS = Buckets(tokens=(16, 128), batch=(1, 4), frames=(64, 256, 1024))

SENTENCES = [
    "Hello world.",
    "Printing, in the only sense with which we are at present concerned, differs from most arts.",
    "Dr. Smith paid $5.",
    "Yes!",
]


@pytest.fixture(scope="module")
def models() -> tuple[object, object]:
    return load_fastpitch(FASTPITCH), load_hifigan(HIFIGAN)


@pytest.fixture(scope="module")
def synth(models: tuple[object, object]) -> Synthesizer:
    fp, hg = models
    return Synthesizer(fp, hg, backend="torch", dtype="float32", buckets=BUCKETS,  # type: ignore[arg-type]
                       cache_dir="")


def reference(synth: Synthesizer, text: str, **kwargs: object) -> np.ndarray:
    """The plain models on the unpadded utterance (no buckets, no batch)."""
    ids = torch.from_numpy(synth.frontend.encode(text))[None]
    with torch.no_grad():
        out = synth.fastpitch.infer(ids, **kwargs)  # type: ignore[arg-type]
        audio = synth.hifigan(out.mel)
    result: np.ndarray = audio[0].numpy()
    return result


def test_engine_equals_the_unpadded_models(synth: Synthesizer) -> None:
    for text in SENTENCES:
        got = synth.synthesize(text)
        ref = reference(synth, text)
        assert got.sample_rate == 22050
        assert len(got) == len(ref)  # exactly frames x hop, nothing cut or added
        assert np.abs(got.samples - ref).max() <= 1e-5


def test_controls_reach_the_model(synth: Synthesizer) -> None:
    text = SENTENCES[1]
    got = synth.synthesize(text, pace=1.3, pitch_shift=25.0, pitch_scale=0.5)
    ref = reference(synth, text, pace=1.3, pitch_shift=25.0, pitch_scale=0.5)
    assert len(got) == len(ref) < len(synth.synthesize(text))
    assert np.abs(got.samples - ref).max() <= 1e-5


def test_batch_equals_single(synth: Synthesizer) -> None:
    batch = synth.synthesize(SENTENCES)
    assert [len(a) for a in batch] == [len(synth.synthesize(t)) for t in SENTENCES]
    for text, audio in zip(SENTENCES, batch):
        assert np.abs(audio.samples - synth.synthesize(text).samples).max() <= 1e-5


def test_results_own_their_samples(synth: Synthesizer, monkeypatch: pytest.MonkeyPatch) -> None:
    """A backend may hand back output buffers that it reuses (the CUDA-graph path uses two in
    turn): results must not change when later batches overwrite them."""
    memory = [np.empty(1 << 22, np.float32) for _ in range(2)]
    calls = []
    decode = synth.backend.decode

    def reusing(*args: object) -> np.ndarray:
        out = decode(*args)  # type: ignore[arg-type]
        calls.append(out.size)
        buf = memory[len(calls) % 2][: out.size].reshape(out.shape)
        buf[...] = out
        return buf

    monkeypatch.setattr(synth.backend, "decode", reusing)
    first = synth.synthesize(SENTENCES[0])
    kept = first.samples.copy()
    batch = synth.synthesize(SENTENCES)
    synth.synthesize(SENTENCES[1])
    assert np.array_equal(first.samples, kept)
    assert np.abs(batch[0].samples - kept).max() <= 1e-5
    for text, audio in zip(SENTENCES, batch):
        assert np.abs(audio.samples - reference(synth, text)).max() <= 1e-5


def test_next_batch_starts_before_the_previous_is_copied_out(
        synth: Synthesizer, monkeypatch: pytest.MonkeyPatch) -> None:
    """The device works on batch i+1 while the host copies out batch i's audio."""
    events: list[str] = []
    decode_async = synth.backend.decode_async

    def logged(*args: object) -> object:
        k = sum(e.startswith("start") for e in events)
        events.append(f"start {k}")
        wait = decode_async(*args)  # type: ignore[arg-type]

        def result() -> np.ndarray:
            events.append(f"finish {k}")
            return wait()

        return result

    monkeypatch.setattr(synth.backend, "decode_async", logged)
    texts = [f"Sentence number {i} is here." for i in range(1, 10)]  # 9 texts: 3 batches of 4
    got = synth.synthesize(texts)
    assert events == ["start 0", "start 1", "finish 0", "start 2", "finish 1", "finish 2"]
    for text, audio in zip(texts, got):
        assert np.abs(audio.samples - reference(synth, text)).max() <= 1e-5


@pytest.mark.parametrize("where", ["encode", "decode"])
def test_a_failing_text_fails_alone(synth: Synthesizer, monkeypatch: pytest.MonkeyPatch,
                                    where: str) -> None:
    """A device failure on one text's batch (while encoding, or in the decoded result) is
    retried row by row: the culprit gets an error, every other text its audio."""
    culprit = synth.frontend.encode(SENTENCES[2])
    encode, decode_async = synth.backend.encode, synth.backend.decode_async
    holds_culprit: list[bool] = []

    def has_culprit(ids: np.ndarray) -> bool:
        return any(np.array_equal(row[: len(culprit)], culprit) for row in ids)

    def failing_encode(ids: np.ndarray, *args: object) -> object:
        holds_culprit.append(has_culprit(ids))
        if where == "encode" and holds_culprit[-1]:
            raise RuntimeError("device failure")
        return encode(ids, *args)  # type: ignore[arg-type]

    def failing_decode(*args: object) -> object:
        wait = decode_async(*args)  # type: ignore[arg-type]
        bad = holds_culprit[-1]

        def result() -> np.ndarray:
            if where == "decode" and bad:
                raise RuntimeError("device failure")
            return wait()

        return result

    monkeypatch.setattr(synth.backend, "encode", failing_encode)
    monkeypatch.setattr(synth.backend, "decode_async", failing_decode)
    requests = [(t, SynthesisOptions()) for t in SENTENCES + ["Sentence number five."]]
    got = synth.synthesize_requests(requests)
    assert isinstance(got[2], RuntimeError)
    for i, (text, _) in enumerate(requests):
        if i != 2:
            audio = got[i]
            assert isinstance(audio, Audio)
            assert np.abs(audio.samples - reference(synth, text)).max() <= 1e-5


def test_long_text_is_split_not_truncated(synth: Synthesizer) -> None:
    sentence = "The quick brown fox jumps over the lazy dog near the river bank."
    text = " ".join([sentence] * 6)
    assert len(synth.frontend.encode(text)) > BUCKETS.max_tokens
    # Sentences are packed into chunks that fit the largest bucket (two per chunk here).
    pair = f"{sentence} {sentence}"
    assert len(synth.frontend.encode(pair)) <= BUCKETS.max_tokens
    assert len(synth.frontend.encode(f"{pair} {sentence}")) > BUCKETS.max_tokens
    two = synth.synthesize(pair)
    whole = synth.synthesize(text, sentence_pause=0.1)
    pause = int(round(0.1 * 22050))
    assert len(whole) == 3 * len(two) + 2 * pause
    np.testing.assert_allclose(whole.samples[: len(two)], two.samples, atol=1e-5)
    assert np.all(whole.samples[len(two): len(two) + pause] == 0)
    # A single sentence longer than the largest bucket is split at clause / word boundaries.
    words = " ".join(["alpha", "beta", "gamma", "delta"] * 12)
    long_audio = synth.synthesize(words)
    assert long_audio.duration > 0


def test_stream_yields_sentences(synth: Synthesizer) -> None:
    text = "First sentence here. And a second one! A third?"
    parts = list(synth.synthesize_stream(text, sentence_pause=0.05))
    assert len(parts) == 3
    singles = [synth.synthesize(s) for s in ("First sentence here.", "And a second one!",
                                             "A third?")]
    pause = int(round(0.05 * 22050))
    assert len(parts[0]) == len(singles[0])
    for part, single in zip(parts[1:], singles[1:]):
        assert len(part) == pause + len(single)
        np.testing.assert_allclose(part.samples[pause:], single.samples, atol=1e-5)


def test_errors(synth: Synthesizer) -> None:
    with pytest.raises(InvalidTextError, match="nothing to speak"):
        synth.synthesize("   ")
    with pytest.raises(ValueError, match="pace"):
        synth.synthesize("Hi.", pace=0)
    with pytest.raises(ValueError, match="speaker"):
        synth.synthesize("Hi.", speaker=2)
    with pytest.raises(TypeError):
        synth.synthesize(["Hi.", 3])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="symbols"):
        Synthesizer(synth.fastpitch, synth.hifigan, frontend="nemo_arpabet", backend="torch")
    # The frontend is made on a thread while the backend starts: with both arguments wrong,
    # the frontend's error is still the one reported; a bad backend alone gets its own.
    with pytest.raises(ValueError, match="symbols"):
        Synthesizer(synth.fastpitch, synth.hifigan, frontend="nemo_arpabet", backend="nope")
    with pytest.raises(ValueError, match="unknown backend"):
        Synthesizer(synth.fastpitch, synth.hifigan, backend="nope")
    with pytest.raises(ValueError, match="not both"):
        Synthesizer(synth.fastpitch, synth.hifigan, backend="torch", device="cpu",
                    devices=["cpu"])
    with pytest.raises(ValueError, match="ascending"):
        Buckets(tokens=(64, 16))
    with pytest.raises(ValueError, match="pitch_shift"):
        SynthesisOptions(pitch_shift=float("nan"))


@pytest.mark.parametrize("text", ["", "   ", "\n\t", "...", "\U0001F600\U0001F389",
                                  "\u4f60\u597d\u3002"])
def test_nothing_to_speak_is_an_error_everywhere(synth: Synthesizer, text: str) -> None:
    # The frontend encodes such text as padding, spaces or punctuation only: an error in every
    # entry point, never a clip of near-silence.
    with pytest.raises(InvalidTextError, match="nothing to speak"):
        synth.synthesize(text)
    with pytest.raises(InvalidTextError, match="nothing to speak"):
        list(synth.synthesize_stream(text))
    results = synth.synthesize_requests([(text, synth.defaults), ("Hi.", synth.defaults)])
    assert isinstance(results[0], InvalidTextError)
    assert isinstance(results[1], Audio) and results[1].duration > 0


def test_dropped_characters_are_named_in_a_warning(synth: Synthesizer) -> None:
    from fastpitch_tpu.errors import DroppedCharactersWarning

    with pytest.warns(DroppedCharactersWarning, match="'\U0001F600', '\u4f60'") as caught:
        audio = synth.synthesize("Hello \U0001F600 there \u4f60.")
    assert len(caught) == 1
    # The rest is spoken exactly as the text without those characters.
    np.testing.assert_array_equal(audio.samples, synth.synthesize("Hello  there .").samples)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        synth.synthesize("Dr. Smith paid $5, didn't he?")  # nothing dropped: no warning


def test_default_dtype_follows_the_device(models: tuple[object, object]) -> None:
    s = Synthesizer(models[0], models[1], backend="torch", buckets=BUCKETS,  # type: ignore[arg-type]
                    cache_dir="")
    assert s.dtype == ("bfloat16" if torch.cuda.is_available() else "float32")
    assert s.dtype == s.backend.dtype
    with pytest.raises(ValueError, match="dtype must be"):
        Synthesizer(models[0], models[1], backend="torch", dtype="int8",  # type: ignore[arg-type]
                    cache_dir="")


def test_speakers(models: tuple[object, object]) -> None:
    multi = load_fastpitch(MULTI)
    s = Synthesizer(multi, models[1], backend="torch", dtype="float32", buckets=BUCKETS,  # type: ignore[arg-type]
                    cache_dir="")
    a, b = s.synthesize(["Hello there.", "Hello there."], speaker=2), None
    b = s.synthesize("Hello there.", speaker=0)
    ref = reference(s, "Hello there.", speaker=2)
    assert np.abs(a[0].samples - ref).max() <= 1e-5
    assert len(b) != len(ref) or np.abs(b.samples - ref).max() > 1e-3


def test_audio_output(tmp_path: Path, synth: Synthesizer) -> None:
    import soundfile

    audio = synth.synthesize("Hello world.")
    path = audio.save(tmp_path / "hello.wav")
    data, rate = soundfile.read(path, dtype="int16")
    assert rate == 22050
    assert np.array_equal(data, audio.to_int16())
    assert audio.to_wav_bytes()[:4] == b"RIFF"
    assert Audio.concatenate([audio, audio], pause=0.5).duration == pytest.approx(
        2 * audio.duration + 0.5, abs=1e-4)


def test_denoiser_option(synth: Synthesizer) -> None:
    plain = synth.synthesize("Hello world.")
    cleaned = synth.synthesize("Hello world.", denoise=0.1)
    assert len(cleaned) == len(plain)
    assert not np.array_equal(cleaned.samples, plain.samples)


def _backends() -> list[object]:
    names: list[object] = []
    if importlib.util.find_spec("jax") and importlib.util.find_spec("torchax"):
        names.append("jax")
    if os.environ.get("PJRT_DEVICE", "CPU") == "CPU":
        names.append(pytest.param("torch_xla", marks=pytest.mark.xla))
    if os.environ.get("FASTPITCH_TPU_TEST_TORCH_COMPILE"):
        names.append("torch_compile")
    return names


def _needs(backend: str) -> None:
    if backend == "torch_xla":
        pytest.importorskip("torch_xla", reason="the xla extra is not installed")


@pytest.mark.parametrize("backend", _backends())
def test_compiled_backend_matches_and_never_recompiles(
    backend: str, models: tuple[object, object], synth: Synthesizer,
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
) -> None:
    _needs(backend)
    monkeypatch.setenv("PJRT_DEVICE", "CPU")
    # On a GPU: float32 convolutions in full precision for this comparison (cuDNN's default
    # TF32 puts different algorithms ~1.5e-4 apart on these models).
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", False)
    buckets = Buckets(tokens=(16, 128), batch=(1, 4), frames=(256, 1024))
    s = Synthesizer(models[0], models[1], backend=backend, dtype="float32",  # type: ignore[arg-type]
                    buckets=buckets, cache_dir=str(tmp_path / "cache"))
    compiled = s.warmup(progress=False)
    assert compiled >= len(buckets.batch) * (len(buckets.tokens) + len(buckets.frames))
    before = s.backend.compile_count()
    outs = s.synthesize(SENTENCES)
    for text in SENTENCES:
        s.synthesize(text)
    list(s.synthesize_stream("One. Two three. Four five six."))
    assert s.backend.compile_count() == before, "recompiled after warm-up"
    for text, audio in zip(SENTENCES, outs):
        ref = synth.synthesize(text)
        assert len(audio) == len(ref)
        assert np.abs(audio.samples - ref.samples).max() <= 1e-4


@pytest.mark.parametrize("backend", ["torch", *_backends()])
def test_bfloat16_stays_close(backend: str, models: tuple[object, object],
                              synth: Synthesizer, monkeypatch: pytest.MonkeyPatch) -> None:
    """bf16 flips a few rounded durations (a few frames in total) and keeps the loudness."""
    _needs(backend)
    monkeypatch.setenv("PJRT_DEVICE", "CPU")
    s = Synthesizer(models[0], models[1], backend=backend, dtype="bfloat16",  # type: ignore[arg-type]
                    buckets=BUCKETS, cache_dir="")
    text = SENTENCES[1]
    low, ref = s.synthesize(text), synth.synthesize(text)
    assert abs(len(low) - len(ref)) <= 0.02 * len(ref)
    n = min(len(low), len(ref))
    assert np.abs(low.samples[:n]).max() > 0.05
    assert abs(np.sqrt(np.mean(low.samples**2)) / np.sqrt(np.mean(ref.samples**2)) - 1) < 0.25


def test_top_level_names_import_the_engine_on_first_use() -> None:
    import subprocess
    import sys

    code = ("import sys, fastpitch_tpu; assert 'torch' not in sys.modules; "
            "from fastpitch_tpu import synthesize, Synthesizer, Audio; "
            "assert Synthesizer.__module__ == 'fastpitch_tpu.engine'; "
            # The engine imports PyTorch only when models are loaded (a warm jax backend never).
            "assert 'torch' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


def test_misspelt_options_are_type_errors_naming_the_valid_ones(synth: Synthesizer) -> None:
    untyped: dict[str, object] = {"paec": 1.2}
    for call in (lambda: synth.synthesize("Hi.", **untyped),  # type: ignore[arg-type]
                 lambda: next(synth.synthesize_stream("Hi.", **untyped)),  # type: ignore[arg-type]
                 lambda: next(synth.synthesize_pieces(["Hi."], **untyped))):  # type: ignore[arg-type]
        with pytest.raises(TypeError, match=r"'paec'.*pace, pitch_shift, pitch_scale, speaker"):
            call()


def test_typed_options_mirror_the_options_fields() -> None:
    import dataclasses
    from typing import get_type_hints

    from fastpitch_tpu.engine import SynthesisOverrides

    fields = [f.name for f in dataclasses.fields(SynthesisOptions)]
    hints = get_type_hints(SynthesisOverrides)
    assert list(hints) == fields
    assert hints == get_type_hints(SynthesisOptions)  # the same types, field by field


def test_type_checker_rejects_misspelt_options(tmp_path: Path) -> None:
    """The ``**options`` of the synthesize calls are typed: mypy names a misspelt one."""
    import subprocess
    import sys

    pytest.importorskip("mypy")
    snippet = tmp_path / "uses_options.py"
    snippet.write_text(
        "from fastpitch_tpu.engine import Synthesizer, synthesize\n"
        "def use(s: Synthesizer) -> None:\n"
        "    s.synthesize('Hi.', pace=1.2, speaker=0)\n"
        "    s.synthesize('Hi.', paec=1.2)\n"
        "    s.synthesize_stream('Hi.', pitch_shfit=3.0)\n"
        "    s.synthesize_pieces(['Hi.'], spaeker=1)\n"
        "    synthesize('Hi.', denoize=0.1)\n"
    )
    # The heavy third-party packages are not followed: only the engine's signatures matter.
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\nstrict = True\nfollow_imports = silent\n"
                      "[mypy-torch,torch.*,numpy,numpy.*,platformdirs,tqdm,tqdm.*]\n"
                      "follow_imports = skip\n")
    done = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(config),
                           "--no-incremental", "--cache-dir", os.devnull, str(snippet)],
                          capture_output=True, text=True, timeout=300)
    errors = [line for line in done.stdout.splitlines() if ": error:" in line]
    # Every misspelt line is rejected, the correct one (line 3) is not.
    assert sorted({line.split(":")[1] for line in errors}) == ["4", "5", "6", "7"], done.stdout
    for name in ("paec", "pitch_shfit", "spaeker", "denoize"):
        assert f'Unexpected keyword argument "{name}"' in done.stdout


def test_eager_cpu_runs_pad_frames_to_the_frame_buckets(
        synth: Synthesizer, monkeypatch: pytest.MonkeyPatch) -> None:
    """On a CPU the eager backend decodes bucket frame counts (a bounded set of shapes for
    oneDNN to keep kernels for); the audio is still cut to each row's own frames."""
    assert synth.backend.pads_frames == (synth.backend.device == "cpu")
    decode_async = synth.backend.decode_async
    frame_counts: list[int] = []

    def logged(*args: object) -> object:
        frame_counts.append(int(args[3]))  # type: ignore[call-overload]
        return decode_async(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(synth.backend, "decode_async", logged)
    audio = synth.synthesize(SENTENCES[1])
    assert len(audio) % synth.hop_length == 0
    if synth.backend.pads_frames:
        assert frame_counts and all(n in BUCKETS.frames for n in frame_counts)
        assert len(audio) < frame_counts[0] * synth.hop_length


def test_frames_per_token_rounds_half_up_after_the_pace() -> None:
    from fastpitch_tpu.engine.durations import frames_per_token

    durations = np.array([[1.0, 2.5, 0.0], [4.0, 1.0, 3.0]], np.float32)
    pace = np.array([2.0, 1.0], np.float32)
    reps, frames = frames_per_token(durations, pace, rows=1, max_tokens=5)
    assert reps.tolist() == [[1, 1, 0, 0, 0], [0, 0, 0, 0, 0]]  # row 1 is batch padding
    assert frames.tolist() == [2, 0]
