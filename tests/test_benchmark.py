"""The benchmark's measurement on a tiny fixture model: every field, stage times inside the
end-to-end time, nothing recompiled."""

from __future__ import annotations

from pathlib import Path

import pytest

torch = pytest.importorskip("torch")

from fastpitch_tpu.benchmark import _measure  # noqa: E402
from fastpitch_tpu.engine import Synthesizer  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


def test_measure_reports_stages_and_memory() -> None:
    synth = Synthesizer(FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt",
                        FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small",
                        backend="torch", dtype="float32", cache_dir="")
    row = _measure(synth, ["Hello world.", "A second, longer sentence."], iters=4)
    assert row["recompiled"] == 0
    assert row["audio_s"] > 0 and row["rtf"] > 0
    assert row["frontend_ms"] > 0
    assert row["stage1_ms"] > 0 and row["stage2_ms"] > 0
    assert row["host_ms"] >= 0  # per run: end to end minus the two stages
    assert row["peak_memory_mib"] is None  # CPU: the runtime reports no device memory


def test_benchmark_checkpoint_saves_both_models(tmp_path: Path) -> None:
    import torch

    from fastpitch_tpu.benchmark import benchmark_checkpoint, benchmark_models
    from fastpitch_tpu.checkpoints import load_fastpitch, load_hifigan

    vocoder = FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"
    fastpitch_path, hifigan_path = benchmark_checkpoint(tmp_path, hifigan=str(vocoder))
    fastpitch, hifigan = benchmark_models(hifigan=str(vocoder))
    for saved, model in ((load_fastpitch(fastpitch_path), fastpitch),
                         (load_hifigan(hifigan_path), hifigan)):
        state, expected = saved.state_dict(), model.state_dict()
        assert state.keys() == expected.keys()
        assert all(torch.equal(state[k], expected[k]) for k in state)
    # Without loadable vocoder weights, the benchmark's random HiFi-GAN V1 is saved instead.
    _, random_path = benchmark_checkpoint(tmp_path / "random", hifigan=str(tmp_path / "none"))
    assert load_hifigan(random_path).config.upsample_initial_channel == 512


@pytest.mark.parametrize("flag", ["--batch", "--batches", "--iters"])
@pytest.mark.parametrize("value", ["0", "-2", "x"])
def test_counts_must_be_positive(flag: str, value: str,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    import argparse

    from fastpitch_tpu.benchmark import add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    assert parser.parse_args([flag, "3"]) is not None
    with pytest.raises(SystemExit) as e:
        parser.parse_args([flag, value])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and "positive whole number" in err


def test_defaults_follow_the_machine() -> None:
    import argparse

    from fastpitch_tpu.benchmark import _configs, add_arguments

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    defaults = parser.parse_args([])
    # A GPU: every backend in bfloat16 after the float32 eager reference, jax last.
    assert _configs(defaults, gpu=True) == [
        ("torch", "float32"), ("torch", "bfloat16"), ("torch_compile", "bfloat16"),
        ("jax", "bfloat16")]
    # A CPU: eager float32 alone (compiled backends are slower there; the reference row is not
    # repeated).
    assert _configs(defaults, gpu=False) == [("torch", "float32")]
    named = parser.parse_args(["--backends", "torch_compile", "--dtypes", "auto", "float16"])
    assert _configs(named, gpu=False) == [
        ("torch", "float32"), ("torch_compile", "float32"), ("torch_compile", "float16")]


def test_auto_dtype_is_bfloat16_on_accelerators_only(monkeypatch: pytest.MonkeyPatch) -> None:
    from fastpitch_tpu.backends import auto_dtype

    assert auto_dtype("torch", "cpu") == "float32"
    assert auto_dtype("torch_compile", "cuda:1") == "bfloat16"
    assert auto_dtype("jax", "gpu:0") == "bfloat16"
    assert auto_dtype("jax", "cpu:3") == "float32"
    monkeypatch.setenv("PJRT_DEVICE", "TPU")
    assert auto_dtype("torch_xla") == "bfloat16"
    monkeypatch.setenv("PJRT_DEVICE", "CPU")
    assert auto_dtype("torch_xla") == "float32"
    with pytest.raises(ValueError, match="unknown backend"):
        auto_dtype("nope")
    if not torch.cuda.is_available():
        assert auto_dtype("torch") == "float32"
