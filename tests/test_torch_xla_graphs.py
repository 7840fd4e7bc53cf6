"""The torch_xla backend's stages run wholly on the XLA device (here the CPU, PJRT_DEVICE=CPU),
read from torch_xla's own metrics.

An op torch_xla cannot lower falls back to PyTorch on the host: it shows as an ``aten::<op>``
counter, and every fallback copies its inputs off the device and its outputs back (on a TPU, a
stall per call). After warm-up, each stage call must be one cached graph execution whose only
transfers are its inputs going in and its outputs (durations after the encode stage, audio
after the decode stage) coming out.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from fastpitch_tpu.checkpoints import load_fastpitch, load_hifigan
from fastpitch_tpu.engine import Buckets, Synthesizer

FIXTURES = Path(__file__).parent / "fixtures"
FASTPITCH = FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt"
HIFIGAN = FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"
# Short texts: every one fits the token bucket and its frames the frame bucket, so nothing
# compiles after warm-up.
BUCKETS = Buckets(tokens=(32,), batch=(1, 2), frames=(256,))
TEXTS = ["Hello world.", "Printing, in the only sense.", "It is late."]


def _fallbacks(metrics: Any) -> dict[str, int]:
    return {name: metrics.counter_value(name) for name in metrics.counter_names()
            if name.startswith("aten::")}


def _samples(metrics: Any, name: str) -> tuple[int, float]:
    """A metric's sample count and sum (0, 0 where it has no samples)."""
    data = metrics.metric_data(name)
    return (int(data[0]), float(data[1])) if data else (0, 0.0)


@pytest.mark.xla
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_stages_run_on_the_device_without_fallbacks(dtype: str,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    pytest.importorskip("torch_xla", reason="the xla extra is not installed")
    monkeypatch.setenv("PJRT_DEVICE", "CPU")
    import torch_xla.debug.metrics

    metrics: Any = torch_xla.debug.metrics  # untyped module

    synth = Synthesizer(load_fastpitch(FASTPITCH), load_hifigan(HIFIGAN), backend="torch_xla",
                        dtype=dtype, buckets=BUCKETS, cache_dir=str(tmp_path / "cache"))
    metrics.clear_all()
    synth.warmup(progress=False)
    assert _fallbacks(metrics) == {}, "ops run on the host while tracing the stages"

    backend = synth.backend
    encodes: list[tuple[int, ...]] = []
    decodes: list[tuple[int, int]] = []
    encode, decode = backend.encode, backend.decode

    def counting_encode(ids: Any, *args: Any) -> Any:
        encodes.append(ids.shape)
        return encode(ids, *args)

    def counting_decode(hidden: Any, frames_per_token: Any, speaker: Any, n_frames: int) -> Any:
        decodes.append((frames_per_token.shape[0], n_frames))
        return decode(hidden, frames_per_token, speaker, n_frames)

    monkeypatch.setattr(backend, "encode", counting_encode)
    monkeypatch.setattr(backend, "decode", counting_decode)

    metrics.clear_all()
    audio = synth.synthesize(TEXTS)
    audio.append(synth.synthesize(TEXTS[0]))
    assert all(len(a) > 0 and np.isfinite(a.samples).all() for a in audio)

    assert _fallbacks(metrics) == {}, "ops run on the host"
    assert not metrics.counter_value("UncachedCompile"), "compiled after warm-up"
    calls = len(encodes) + len(decodes)
    assert len(encodes) == len(decodes) >= 2  # a batch of 2 and batches of 1
    # One graph execution per stage call: no op leaves the graph to run on its own.
    assert metrics.counter_value("ExecuteComputation") == calls

    # Device to host: one transfer per stage call, of exactly its output (float32 durations
    # [batch, tokens] after the encode stage, float32 audio [batch, frames * hop] after the
    # decode stage); the encoder states stay on the device between the two.
    inbound = 4 * (sum(b * t for b, t in encodes)
                   + sum(b * f * synth.hop_length for b, f in decodes))
    assert _samples(metrics, "TransferFromDeviceTime")[0] == calls
    assert _samples(metrics, "InboundData") == (calls, inbound)

    # Host to device: only each call's inputs, one transfer apiece (encode: int64 ids
    # [batch, tokens], int64 speaker, float32 pitch shift and scale [batch]; decode: int64
    # frames per token [batch, max tokens], int64 speaker [batch]). The weights stay on the
    # device.
    outbound = (sum(8 * b * t + (8 + 4 + 4) * b for b, t in encodes)
                + sum((8 * BUCKETS.max_tokens + 8) * b for b, _ in decodes))
    assert _samples(metrics, "TransferToDeviceTime")[0] == 4 * len(encodes) + 2 * len(decodes)
    assert _samples(metrics, "OutboundData") == (4 * len(encodes) + 2 * len(decodes), outbound)
