"""Training: alignment search and prior, dataset building, a short run that learns, resuming,
and the trained voice loading into the engine."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")
soundfile = pytest.importorskip("soundfile")

from fastpitch_tpu.checkpoints import load_fastpitch, load_hifigan  # noqa: E402
from fastpitch_tpu.engine import Synthesizer  # noqa: E402
from fastpitch_tpu.train import (  # noqa: E402
    TrainConfig,
    alignment,  # noqa: E402
    build_dataset,
    load_dataset,
    train,
)
from fastpitch_tpu.train.alignment import (  # noqa: E402
    AlignmentEncoder,
    beta_binomial_prior,
    forward_sum_loss,
    monotonic_alignment,
)

FIXTURES = Path(__file__).parent / "fixtures"
TEXTS = [
    "Printing, in the only sense with which we are at present concerned.",
    "It differs from most if not from all the arts and crafts.",
    "The earliest book printed with movable types.",
    "A very fine one indeed.",
    "Yes, the letters were cast in a mould.",
    "And they were set by hand.",
]


def _best_path(log_prob: np.ndarray) -> np.ndarray:
    """Exhaustive search over every monotonic path (small sizes only)."""
    t_len, n_len = log_prob.shape
    best, cuts_best = -np.inf, None
    for cuts in itertools.combinations(range(1, t_len), n_len - 1):
        bounds = (0, *cuts, t_len)
        score = sum(log_prob[t, n] for n in range(n_len) for t in range(bounds[n], bounds[n + 1]))
        if score > best:
            best, cuts_best = score, bounds
    out = np.zeros_like(log_prob)
    assert cuts_best is not None
    for n in range(n_len):
        out[cuts_best[n]:cuts_best[n + 1], n] = 1
    return out


@pytest.fixture(params=["compiled", "numpy"])
def alignment_impl(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "numpy":
        monkeypatch.setattr(alignment, "_COMPILED", [None])
    elif alignment._compiled_alignment() is None:
        pytest.skip("numba is not installed")
    return str(request.param)


def test_monotonic_alignment_is_the_best_path(alignment_impl: str) -> None:
    rng = np.random.default_rng(0)
    for _ in range(40):
        t_len, n_len = int(rng.integers(1, 9)), int(rng.integers(1, 6))
        if n_len > t_len:
            continue
        lp = rng.normal(size=(2, 10, 7)).astype(np.float32)
        got = monotonic_alignment(lp, np.array([n_len, 1]), np.array([t_len, 3]))
        assert np.array_equal(got[0, :t_len, :n_len], _best_path(lp[0, :t_len, :n_len]))
        assert got[0].sum() == t_len and got[0, t_len:].sum() == 0
    with pytest.raises(ValueError, match="cannot cover"):
        monotonic_alignment(np.zeros((1, 2, 3), np.float32), np.array([3]), np.array([2]))
    with pytest.raises(ValueError, match="beyond"):
        monotonic_alignment(np.zeros((1, 2, 3), np.float32), np.array([2]), np.array([5]))


def test_alignment_implementations_agree_on_large_batches() -> None:
    rng = np.random.default_rng(3)
    lp = rng.normal(size=(6, 300, 60)).astype(np.float32)
    n_lens, t_lens = rng.integers(1, 61, 6), rng.integers(60, 301, 6)
    fast = monotonic_alignment(lp, n_lens, t_lens)
    plain = alignment._alignment_numpy(lp, t_lens, n_lens)
    np.testing.assert_array_equal(fast, plain)
    np.testing.assert_array_equal(fast.sum(axis=(1, 2)), t_lens)


def test_batch_prior_matches_the_per_item_prior() -> None:
    text_lengths, mel_lengths = torch.tensor([12, 3, 7]), torch.tensor([40, 9, 7])
    batch = alignment.batch_beta_binomial_prior(text_lengths, mel_lengths, 14, 43)
    assert batch.shape == (3, 43, 14)
    for b in range(3):
        n, t = int(text_lengths[b]), int(mel_lengths[b])
        torch.testing.assert_close(batch[b, :t, :n], beta_binomial_prior(n, t))
        assert float(batch[b, t:].abs().sum()) == 0.0 and float(batch[b, :, n:].abs().sum()) == 0


def test_prior_is_a_distribution_along_the_diagonal() -> None:
    prior = beta_binomial_prior(12, 40)
    assert prior.shape == (40, 12)
    sums = prior.sum(1).numpy()
    # Each frame's distribution over symbols 0..N, cut to 0..N-1 (as FastPitch 1.1 does): the
    # late frames lose the mass past the last symbol.
    np.testing.assert_allclose(sums[:20], 1.0, atol=1e-3)
    assert np.all((sums > 0.2) & (sums <= 1.0 + 1e-5))
    peaks = prior.argmax(1).numpy()
    assert peaks[0] == 0 and peaks[-1] == 11 and np.all(np.diff(peaks) >= 0)


def test_forward_sum_loss_prefers_monotonic_alignments() -> None:
    t_len, n_len = 12, 4
    diagonal = torch.full((1, 1, t_len, n_len), -8.0)
    for t in range(t_len):
        diagonal[0, 0, t, t * n_len // t_len] = 0.0
    backwards = diagonal.flip(3)
    lengths = (torch.tensor([n_len]), torch.tensor([t_len]))
    assert forward_sum_loss(diagonal, *lengths) < forward_sum_loss(backwards, *lengths)


def test_forward_sum_loss_is_the_mean_of_per_item_ctc_losses() -> None:
    torch.manual_seed(0)
    log_prob = torch.log_softmax(torch.randn(4, 1, 30, 9), dim=-1).requires_grad_()
    n_lens, t_lens = torch.tensor([9, 3, 5, 1]), torch.tensor([30, 12, 5, 20])
    expected = torch.zeros(())
    for b in range(4):
        n, t = int(n_lens[b]), int(t_lens[b])
        scores = torch.nn.functional.pad(log_prob[b, 0, :t, :n], (1, 0), value=-1.0)
        expected = expected + torch.nn.functional.ctc_loss(
            torch.log_softmax(scores, -1)[:, None], torch.arange(1, n + 1)[None],
            torch.tensor([t]), torch.tensor([n]), zero_infinity=True) / 4
    got = forward_sum_loss(log_prob, n_lens, t_lens)
    torch.testing.assert_close(got, expected)
    got.backward()
    assert log_prob.grad is not None and torch.isfinite(log_prob.grad).all()
    assert float(log_prob.grad[1, 0, 12:].abs().sum()) == 0.0


def test_aligner_scores_are_scaled_squared_distances() -> None:
    torch.manual_seed(0)
    aligner = AlignmentEncoder(n_mels=8, n_text=6, n_att=5, temperature=0.05)
    mel, emb = torch.randn(2, 8, 11), torch.randn(2, 6, 4)
    mask = torch.ones(2, 4, dtype=torch.bool)
    _, log_prob = aligner(mel, emb, mask)
    q = aligner.query_proj(mel).transpose(1, 2)
    k = aligner.key_proj(emb).transpose(1, 2)
    direct = -0.05 * (q[:, :, None] - k[:, None]).pow(2).sum(-1)
    torch.testing.assert_close(log_prob[:, 0], torch.log_softmax(direct, -1), atol=1e-5, rtol=0)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Recordings of the fixture voice (random weights, but real audio with real timing)."""
    synth = Synthesizer(
        load_fastpitch(FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt"),
        load_hifigan(FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"),
        backend="torch", dtype="float32", cache_dir="")
    src = tmp_path_factory.mktemp("recordings")
    with open(src / "metadata.jsonl", "w", encoding="utf-8") as f:
        for i, text in enumerate(TEXTS):
            audio = synth.synthesize(text)
            # 24 kHz files, to exercise the resampling to 22,050 Hz.
            from scipy.signal import resample_poly

            soundfile.write(src / f"{i}.wav", resample_poly(audio.samples, 160, 147), 24000)
            n = int(audio.duration / 0.0125) + 1
            f0 = np.where(np.arange(n) % 17 < 3, 0.0, 150 + 20 * np.sin(np.arange(n) / 8))
            f.write(json.dumps({"id": str(i), "text": text, "audio": f"{i}.wav",
                                "f0_hz": f0.tolist(), "f0_hop_s": 0.0125}) + "\n")
    out = tmp_path_factory.mktemp("dataset")
    build_dataset(src, out, frontend="dle_arpabet", jobs=1, progress=False)
    return out


def test_dataset_shards(dataset: Path) -> None:
    info, items = load_dataset(dataset)
    assert info.utterances == len(items) == len(TEXTS) and info.skipped == 0
    assert info.frontend == "dle_arpabet" and info.n_symbols == 148
    assert 130 < info.pitch_mean < 170 and info.pitch_std > 5
    for item in items:
        assert item.mel.shape[0] == 80 and item.mel.shape[1] >= len(item.ids)
        assert item.pitch_hz.shape == item.energy.shape == (item.mel.shape[1],)
        assert (item.pitch_hz == 0).any() and (item.pitch_hz > 100).any()


def test_silence_is_trimmed_and_the_pitch_track_follows(tmp_path: Path) -> None:
    from fastpitch_tpu.train.dataset import trim_silence

    rate = 22050
    t = np.arange(int(0.8 * rate)) / rate
    tone = (0.3 * np.sin(2 * np.pi * 200 * t)).astype(np.float32)
    silence = np.zeros(int(0.4 * rate), np.float32)
    audio = np.concatenate([silence, tone, silence])
    start, end = trim_silence(audio, 40.0)
    # At least the 50 ms margin stays (plus up to one 1024-sample analysis window).
    assert 0.40 - 0.05 - 0.05 < start / rate <= 0.35 and 1.25 <= end / rate < 1.25 + 0.05
    assert trim_silence(np.zeros(5000, np.float32), 40.0) == (0, 5000)
    # A pitch track that is voiced (200 Hz) only while the tone sounds: after trimming, the
    # frames keep their pitch in step with the audio.
    soundfile.write(tmp_path / "a.wav", audio, rate)
    hop = 0.0125
    times = np.arange(int(len(audio) / rate / hop) + 1) * hop
    f0 = np.where((times > 0.4) & (times < 1.2), 200.0, 0.0)
    (tmp_path / "metadata.jsonl").write_text(json.dumps(
        {"id": "a", "text": "A long tone.", "audio": "a.wav", "f0_hz": f0.tolist(),
         "f0_hop_s": hop}) + "\n")
    for trim, seconds in ((40.0, 0.95), (None, 1.6)):
        out = tmp_path / f"ds-{trim}"
        build_dataset(tmp_path, out, frontend="dle_arpabet", trim_db=trim, progress=False)
        _, (item,) = load_dataset(out)
        assert abs(item.mel.shape[1] * 256 / rate - seconds) < 0.06
        voiced = np.flatnonzero(item.pitch_hz > 0) * 256 / rate
        offset = trim_silence(audio, 40.0)[0] / rate if trim else 0.0
        assert abs(voiced[0] + offset - 0.4) < 0.03 and abs(voiced[-1] + offset - 1.2) < 0.03


def test_training_learns_resumes_and_exports(dataset: Path, tmp_path: Path) -> None:
    run = tmp_path / "run"
    cfg = TrainConfig(steps=60, batch_size=3, learning_rate=3e-3, warmup_steps=5,
                      validate_every=60, checkpoint_every=30, log_every=5,
                      binarization_start=20, binarization_warmup=20, validation_fraction=0.2)
    train(dataset, run, preset="tiny", config=cfg, progress=False)
    rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
    steps = [r for r in rows if "mel" in r]

    def mean(key: str, part: list[dict[str, float]]) -> float:
        return sum(r[key] for r in part) / len(part)

    early, late = steps[:3], steps[-3:]
    assert mean("mel", late) < 0.7 * mean("mel", early)
    assert mean("duration", late) < mean("duration", early)
    assert any("validation" in r for r in rows)
    # Resume: the step count continues from the checkpoint.
    more = TrainConfig(**{**cfg.__dict__, "steps": 70})
    train(dataset, run, preset="tiny", config=more, progress=False)
    ckpt = torch.load(run / "checkpoint.pt", weights_only=True)
    assert ckpt["step"] == 70
    # From the compact bf16 weights alone (optimizer afresh), e.g. after moving machines.
    (run / "checkpoint.pt").unlink()
    compact = torch.load(run / "weights.pt", weights_only=True)
    assert compact["step"] == 70 and "optimizer" not in compact
    assert all(v.dtype == torch.bfloat16 for v in compact["model"].values()
               if v.is_floating_point())
    train(dataset, run, preset="tiny", config=TrainConfig(**{**cfg.__dict__, "steps": 75}),
          progress=False)
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] == 75
    voice = load_fastpitch(run / "voice.safetensors")
    assert voice.config.frontend == "dle_arpabet"
    assert voice.pitch_stats[1] > 5
    synth = Synthesizer(voice, load_hifigan(FIXTURES / "hifigan" / "jik876_v1small" /
                                            "generator_v1small"),
                        backend="torch", dtype="float32", cache_dir="")
    assert synth.synthesize("A new sentence.").duration > 0


def test_cli(dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from fastpitch_tpu.cli import main

    run = tmp_path / "cli-run"
    assert main(["train", "fit", str(dataset), str(run), "--preset", "tiny", "--steps", "4",
                 "--batch-size", "2", "--validate-every", "4", "--checkpoint-every", "4"]) == 0
    assert (run / "voice.safetensors").exists()
    with pytest.raises(SystemExit, match="no metadata"):
        main(["train", "dataset", str(tmp_path), str(tmp_path / "out")])


@pytest.mark.teacher
def test_teacher_corpus(tmp_path: Path) -> None:
    """The offline teacher voice speaks lines into a corpus that build_dataset reads."""
    pytest.importorskip("hibari")
    pytest.importorskip("onnx")
    from fastpitch_tpu.train.teacher import generate

    out = tmp_path / "corpus"
    lines = ["The quick brown fox jumps over the lazy dog.", "", "Dr. Smith paid $5."]
    stats = generate(lines, out, jobs=1, normalize="nemo_arpabet", progress=False)
    assert stats["failed"] == 0 and stats["lines"] == 2
    rows = [json.loads(line) for line in (out / "metadata.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["000001", "000003"]  # numbered by line; blank skipped
    assert rows[1]["text"] == "doctor Smith paid five dollars."  # what was spoken
    for row in rows:
        info = soundfile.info(out / row["audio"])
        assert info.samplerate == 22050 and info.duration == pytest.approx(row["seconds"], abs=1e-4)
        assert len(row["f0_hz"]) == pytest.approx(row["seconds"] / row["f0_hop_s"], abs=8)
        assert any(f > 0 for f in row["f0_hz"])
    again = generate(lines, out, jobs=1, progress=False)  # resumable: nothing left to speak
    assert again["spoken"] == 0 and again["lines"] == 2
    info = build_dataset(out, tmp_path / "ds", frontend="nemo_arpabet", progress=False)
    assert info.utterances == 2 and 120 < info.pitch_mean < 300


def test_unreadable_audio_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "metadata.jsonl").write_text(
        '{"id": "1", "text": "Hello there.", "audio": "x.wav"}\n', encoding="utf-8")
    (tmp_path / "x.wav").write_text("not audio")
    with pytest.raises(ValueError, match=r"x\.wav: not readable audio"):
        build_dataset(tmp_path, tmp_path / "out", frontend="dle_arpabet", progress=False)
