"""The benchmark's measurement on a tiny fixture model: every field, stage times inside the
end-to-end time, nothing recompiled."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("torch")

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
