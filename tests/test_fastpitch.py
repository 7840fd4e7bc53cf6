"""FastPitch parity with DeepLearningExamples and NeMo, through our checkpoint loader.

The fixtures (tests/fixtures/fastpitch/, made by make_fastpitch_fixtures.py from the reference
code) hold each reference model in its native checkpoint format and its outputs on fixed inputs.
Every case loads the checkpoint with ``load_fastpitch`` and must match within 1e-4 (fp32).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastpitch_tpu.checkpoints import export_fastpitch, load_fastpitch  # noqa: E402
from fastpitch_tpu.models import FastPitch, FastPitchConfig, regulate_length  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "fastpitch"
TOL = 1e-4

CHECKPOINTS = {
    "dle_single": "FastPitch_checkpoint_1000.pt",
    "dle_multispeaker": "FastPitch_checkpoint_1000_ddp.pt",
    "nemo_single": "nemo_fastpitch_single.nemo",
    "nemo_multispeaker_cln": "nemo_fastpitch_multispeaker_cln.nemo",
}

_models: dict[str, FastPitch] = {}


def model(variant: str) -> FastPitch:
    if variant not in _models:
        _models[variant] = load_fastpitch(FIXTURES / variant / CHECKPOINTS[variant])
    return _models[variant]


def cases() -> list[tuple[str, str]]:
    return [(v, p.stem) for v in CHECKPOINTS for p in sorted((FIXTURES / v).glob("*.npz"))]


def _run(variant: str, case: dict[str, Any]) -> Any:
    m = model(variant)
    ids = torch.from_numpy(case["text"])
    kwargs: dict[str, Any] = {"pace": float(case.get("pace", 1.0))}
    if "speaker" in case:
        kwargs["speaker"] = torch.from_numpy(np.asarray(case["speaker"]).astype(np.int64))
    if "durs_given" in case:
        kwargs["durations"] = torch.from_numpy(case["durs_given"])
    if "pitch_given" in case:
        kwargs["pitch"] = torch.from_numpy(case["pitch_given"].reshape(ids.shape))
    if "energy_given" in case:
        kwargs["energy"] = torch.from_numpy(case["energy_given"].reshape(ids.shape))
    transform = str(case["pitch_transform"]) if "pitch_transform" in case else None
    if transform is not None:
        if "invert" in transform:
            kwargs["pitch_scale"] = -float(case.get("pitch_amplify", 1.0))
        elif "amplify" in transform:
            kwargs["pitch_scale"] = float(case["pitch_amplify"])
        if "shift" in transform:
            kwargs["pitch_shift"] = float(case["pitch_shift_hz"])
    if "pitch_offset" in case:
        # NeMo's infer(pitch=offset) adds a normalized offset per token.
        offset = torch.from_numpy(case["pitch_offset"])
        kwargs["pitch_transform"] = lambda p, lens, mean, std: p + offset
    with torch.no_grad():
        return m.infer(ids, **kwargs)


@pytest.mark.parametrize(("variant", "name"), cases())
def test_parity(variant: str, name: str) -> None:
    case = dict(np.load(FIXTURES / variant / f"{name}.npz"))
    out = _run(variant, case)
    assert out.mel_lengths.tolist() == case["mel_lens"].tolist()
    assert out.mel.shape == case["mel"].shape
    assert np.abs(out.mel.numpy() - case["mel"]).max() <= TOL
    assert np.abs(out.durations.numpy() - case["durs_pred"]).max() <= TOL
    assert np.abs(out.log_durations.numpy() - case["log_durs_pred"]).max() <= TOL
    reps = out.durations if "durs_given" not in case else torch.from_numpy(case["durs_given"])
    rounded = torch.floor(reps.float() / float(case.get("pace", 1.0)) + 0.5).long()
    assert rounded.tolist() == case["durs_rounded"].tolist()
    pitch = case["pitch_pred"].reshape(out.pitch.shape)
    if "pitch_given" in case:
        # Given pitch conditions the decoder; the reference reports its own prediction.
        assert np.abs(out.pitch.numpy() - case["pitch_given"].reshape(out.pitch.shape)).max() == 0
    else:
        assert np.abs(out.pitch.numpy() - pitch).max() <= TOL
    if "energy_pred" in case and "energy_given" not in case:
        assert out.energy is not None
        assert np.abs(out.energy.numpy() - case["energy_pred"]).max() <= TOL


def test_configs_match_the_reference() -> None:
    for variant in CHECKPOINTS:
        meta = json.loads((FIXTURES / variant / "config.json").read_text())
        cfg = model(variant).config
        if "padding_idx" in meta:
            assert cfg.padding_idx == meta["padding_idx"]
            assert cfg.n_symbols == meta["n_symbols"]
        for key, eff in meta.get("effective_condition_types", {}).items():
            if key == "aligner":
                continue
            sub = getattr(cfg, key)
            assert ("add" in sub.condition_types) == ("add" in eff["cond_input"])
            assert ("layernorm" in sub.condition_types) == eff["conditional_layernorm"]
    assert model("dle_single").pitch_stats == pytest.approx((214.72203, 65.72038))
    assert model("dle_single").config.frontend == "dle_arpabet"
    assert model("nemo_single").config.frontend == "nemo_arpabet"
    assert model("nemo_single").config.padding_idx == 112


def test_training_only_tensors_are_skipped_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="fastpitch_tpu"):
        load_fastpitch(FIXTURES / "dle_single" / CHECKPOINTS["dle_single"])
        load_fastpitch(FIXTURES / "nemo_single" / CHECKPOINTS["nemo_single"])
    text = caplog.text
    assert "training-only tensors (attention)" in text
    assert "aligner" in text and "preprocessor" in text


def test_dle_checkpoint_without_config_reads_shapes(tmp_path: Path) -> None:
    ckpt = torch.load(FIXTURES / "dle_single" / CHECKPOINTS["dle_single"], weights_only=True)
    heads = ckpt["config"]["in_fft_n_heads"]
    bare = tmp_path / "bare.pt"
    torch.save({"state_dict": ckpt["state_dict"]}, bare)
    m = load_fastpitch(bare, config={"encoder": {"n_head": heads},
                                     "decoder": {"n_head": ckpt["config"]["out_fft_n_heads"]}})
    assert m.config == model("dle_single").config
    case = dict(np.load(FIXTURES / "dle_single" / "plain.npz"))
    with torch.no_grad():
        out = m.infer(torch.from_numpy(case["text"]))
    assert np.abs(out.mel.numpy() - case["mel"]).max() <= TOL


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_export_round_trip(tmp_path: Path, dtype: torch.dtype) -> None:
    m = model("nemo_multispeaker_cln")
    path = export_fastpitch(m, tmp_path / "voice.safetensors", dtype=dtype)
    back = load_fastpitch(path)
    assert back.config == m.config
    for key, value in m.state_dict().items():
        ref = value.to(dtype).float()
        assert torch.equal(back.state_dict()[key], ref), key


def test_config_round_trip() -> None:
    for variant in CHECKPOINTS:
        cfg = model(variant).config
        assert FastPitchConfig.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg
    with pytest.raises(ValueError, match="unknown keys"):
        FastPitchConfig.from_dict({"n_symbol": 3})


def test_regulate_length_static_shape_matches_dynamic() -> None:
    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(3, 9, 4, generator=g)
    durations = torch.rand(3, 9, generator=g) * 6
    durations[2, 5:] = 0
    frames, lengths = regulate_length(durations, hidden, pace=1.3)
    fixed, fixed_lengths = regulate_length(durations, hidden, pace=1.3, max_frames=64)
    assert torch.equal(lengths, fixed_lengths)
    assert torch.equal(fixed[:, : frames.shape[1]], frames)
    assert fixed[:, frames.shape[1]:].abs().sum() == 0
    # Each token is repeated round(d / pace) times, in order.
    reps = torch.floor(durations / 1.3 + 0.5).long()
    expected = torch.repeat_interleave(hidden[0], reps[0], dim=0)
    assert torch.equal(frames[0, : int(lengths[0])], expected)


def test_speaker_out_of_range_is_a_clear_error() -> None:
    m = model("dle_multispeaker")
    ids = torch.tensor([[5, 6, 7]])
    with pytest.raises(ValueError, match=r"speaker ids must be in \[0, 3\)"):
        m.infer(ids, speaker=3)


def test_given_energy_needs_an_energy_predictor() -> None:
    ids = torch.tensor([[5, 6, 7]])
    with pytest.raises(ValueError, match="no energy predictor"):
        model("dle_multispeaker").infer(ids, speaker=0, energy=torch.zeros(1, 3))
