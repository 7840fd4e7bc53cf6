"""The jax backend's saved graphs: a second process-like backend on the same cache folder loads
the traced graphs instead of tracing again and gives the same audio; a damaged graph file is
replaced; a different model gets its own folder."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

if not (importlib.util.find_spec("jax") and importlib.util.find_spec("torchax")):
    pytest.skip("needs jax and torchax", allow_module_level=True)

torch = pytest.importorskip("torch")

from fastpitch_tpu.checkpoints import load_fastpitch, load_hifigan  # noqa: E402
from fastpitch_tpu.engine import Buckets, Synthesizer  # noqa: E402
from fastpitch_tpu.models.fastpitch import FastPitch  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
FASTPITCH = FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt"
HIFIGAN = FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"
BUCKETS = Buckets(tokens=(64,), batch=(1,), frames=(512,))
TEXT = "Printing, in the only sense with which we are at present concerned."


def _synth(cache: Path, fastpitch: FastPitch | None = None) -> Synthesizer:
    return Synthesizer(fastpitch or load_fastpitch(FASTPITCH), load_hifigan(HIFIGAN),
                       backend="jax", dtype="float32", buckets=BUCKETS, cache_dir=str(cache))


def _graph_files(cache: Path) -> list[Path]:
    return sorted((cache / "graphs").glob("*/*.jaxexport"))


def test_saved_graphs_are_loaded_not_traced(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    first = _synth(tmp_path)
    assert first.warmup(progress=False) == 2
    reference = first.synthesize(TEXT)
    files = _graph_files(tmp_path)
    assert [f.name for f in files] == ["0-1-64.jaxexport", "1-512-1-64.jaxexport"]

    second = _synth(tmp_path)
    from jax import export

    def no_tracing(*args: object, **kwargs: object) -> None:
        raise AssertionError("traced a graph that was saved")

    monkeypatch.setattr(export, "export", no_tracing)
    assert second.warmup(progress=False) == 2
    again = second.synthesize(TEXT)
    assert np.array_equal(again.samples, reference.samples)
    assert second.compile_count() == 2


def test_a_damaged_graph_is_traced_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    reference = _synth(tmp_path).synthesize(TEXT)
    damaged = _graph_files(tmp_path)[0]
    damaged.write_bytes(b"not a graph")
    audio = _synth(tmp_path).synthesize(TEXT)
    assert np.array_equal(audio.samples, reference.samples)
    assert "ignoring the saved graph" in caplog.text
    assert damaged.read_bytes() != b"not a graph"  # replaced by a good one


def test_another_model_gets_its_own_graphs(tmp_path: Path) -> None:
    _synth(tmp_path).synthesize(TEXT)
    other = load_fastpitch(FASTPITCH)
    assert isinstance(other, FastPitch)
    with torch.no_grad():  # the pitch statistics are constants inside the traced graphs
        other.pitch_mean.add_(1.0)
        other.pitch_std.fill_(max(float(other.pitch_std[0]), 1.0))
    _synth(tmp_path, other).synthesize(TEXT)
    assert len({f.parent for f in _graph_files(tmp_path)}) == 2


def test_graphs_that_cannot_be_exported_are_traced(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    reference = _synth(tmp_path / "saved").synthesize(TEXT)
    from jax import export

    def unsupported(*args: object, **kwargs: object) -> None:
        raise ValueError("a custom call without stability guarantees")

    monkeypatch.setattr(export, "export", unsupported)
    s = _synth(tmp_path / "traced")
    assert s.warmup(progress=False) == 2
    audio = s.synthesize(TEXT)
    assert np.array_equal(audio.samples, reference.samples)
    assert "cannot be saved or loaded" in caplog.text
    assert _graph_files(tmp_path / "traced") == []


def test_warmup_compiles_with_the_backends_thread_count(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import os
    import threading

    s = Synthesizer(load_fastpitch(FASTPITCH), load_hifigan(HIFIGAN), backend="jax",
                    dtype="float32", buckets=Buckets(tokens=(32, 64), batch=(1, 2), frames=(512,)),
                    cache_dir=str(tmp_path))
    backend = s.backend
    # On the CPU every core compiles (up to 8); on a GPU, whose autotuning the compiles share, 2.
    assert backend.compile_threads() == min(8, os.cpu_count() or 1)

    class GpuDevice:
        platform = "gpu"

    real = backend._device
    backend._device = GpuDevice()
    try:
        assert backend.compile_threads() == 2
    finally:
        backend._device = real

    threads: set[str] = set()
    compile_only = backend.compile_only

    def recording(*args: object) -> bool:
        threads.add(threading.current_thread().name)
        return compile_only(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(backend, "compile_only", recording)
    monkeypatch.setattr(backend, "compile_threads", lambda: 1)
    assert s.warmup(progress=False) == 6
    assert len(threads) == 1  # workers=None: the backend's count (here 1)
