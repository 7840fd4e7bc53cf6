"""Synthesizer(devices=...): one replica per device, batches spread over them, the same audio
as one device. jax runs on 4 virtual CPU devices in a child process (XLA_FLAGS must be set
before jax starts)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")

from fastpitch_tpu.engine import Buckets, Synthesizer  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
FASTPITCH = FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt"
HIFIGAN = FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"
BUCKETS = Buckets(tokens=(64, 128), batch=(1, 4), frames=(128, 256, 512, 1024))
TEXTS = [f"Line {i}: the quick brown fox jumps over the lazy dog." * (1 + i % 3)
         for i in range(22)]


def test_torch_replicas_give_the_same_audio() -> None:
    one = Synthesizer(FASTPITCH, HIFIGAN, backend="torch", dtype="float32", cache_dir="",
                      buckets=BUCKETS)
    two = Synthesizer(FASTPITCH, HIFIGAN, backend="torch", dtype="float32", cache_dir="",
                      buckets=BUCKETS, devices=["cpu", "cpu"])
    assert len(two.replicas) == 2 and two.backend is two.replicas[0]
    for a, b in zip(one.synthesize(TEXTS, progress=False), two.synthesize(TEXTS, progress=False)):
        assert len(a.samples) == len(b.samples)
        np.testing.assert_allclose(a.samples, b.samples, atol=1e-5, rtol=0)
    # A failing text fails alone, on whichever device it ran.
    results = two.synthesize_requests([(t, two.defaults) for t in [*TEXTS[:6], "   ", *TEXTS[6:9]]])
    assert isinstance(results[6], Exception) and all(
        not isinstance(r, Exception) for i, r in enumerate(results) if i != 6)


def test_device_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="not both"):
        Synthesizer(FASTPITCH, HIFIGAN, backend="torch", device="cpu", devices="all")
    with pytest.raises(ValueError, match="'all' or a list"):
        Synthesizer(FASTPITCH, HIFIGAN, backend="torch", devices="cpu")
    with pytest.raises(ValueError, match="empty"):
        Synthesizer(FASTPITCH, HIFIGAN, backend="torch", devices=[])


CHILD = r"""
import json, sys
import numpy as np
from fastpitch_tpu.engine import Buckets, Synthesizer
fastpitch, hifigan, texts = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
b = Buckets(tokens=(64, 128), batch=(1, 4), frames=(128, 256, 512, 1024))
kw = dict(backend="jax", dtype="float32", cache_dir="", buckets=b)
one = Synthesizer(fastpitch, hifigan, **kw)
many = Synthesizer(fastpitch, hifigan, devices="all", **kw)
compiled = many.warmup(progress=False)
a1 = one.synthesize(texts, progress=False)
a2 = many.synthesize(texts, progress=False)
print(json.dumps({
    "devices": [r.device for r in many.replicas],
    "compiled": compiled,
    "recompiled": many.compile_count() - compiled,
    "same_lengths": all(len(x.samples) == len(y.samples) for x, y in zip(a1, a2)),
    "max_diff": max(float(np.abs(x.samples - y.samples).max()) for x, y in zip(a1, a2)),
}))
"""


def test_jax_spreads_batches_over_every_virtual_device() -> None:
    if importlib.util.find_spec("jax") is None or importlib.util.find_spec("torchax") is None:
        pytest.skip("the jax backend needs jax and torchax")
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    done = subprocess.run([sys.executable, "-c", CHILD, str(FASTPITCH), str(HIFIGAN),
                           json.dumps(TEXTS)], env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["devices"] == ["cpu:0", "cpu:1", "cpu:2", "cpu:3"]
    # Every (batch, tokens) and (batch, frames) graph once on each of the 4 devices.
    assert result["compiled"] == 4 * (2 * 2 + 2 * 4)
    assert result["recompiled"] == 0
    assert result["same_lengths"] and result["max_diff"] < 1e-5
