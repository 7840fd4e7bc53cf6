"""The jax backend's graphs lower for TPU, checked on a machine without one.

Every bucket kind (the encode stage at a (batch, tokens) shape, the decode stage at a
(batch, frames) shape; batch 1 and a larger batch; float32 and bfloat16) is exported for the
``tpu`` platform through the backend's own tracing path (:meth:`JaxBackend.stage_graph`: the same
torchax functions and converted weights it compiles for its own device). Lowering is where an op
without a TPU lowering, or a custom call that only exists on the CPU, would fail; the checks on
the module then confirm it is the graph of that bucket, in that dtype, with no 64-bit values
(TPUs have no float64, and emulate int64 slowly).
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

if not (importlib.util.find_spec("jax") and importlib.util.find_spec("torchax")):
    pytest.skip("needs jax and torchax (the jax extra)", allow_module_level=True)

from fastpitch_tpu.checkpoints import load_fastpitch, load_hifigan  # noqa: E402
from fastpitch_tpu.engine import Buckets, Synthesizer  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
FASTPITCH = FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt"
HIFIGAN = FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"
BUCKETS = Buckets(tokens=(16, 32), batch=(1, 3), frames=(64, 128))
DTYPES = ("float32", "bfloat16")

WIDE_TYPE = re.compile(r"tensor<[\dx]*(?:f64|i64|ui64|complex<f64>)>")
# An op's attribute dictionary (`{...}`, `<{...}>`): attributes such as a reduction window's
# padding are typed `tensor<2x2xi64>` but are compile-time facts, not values on the device.
ATTRIBUTES = re.compile(r"\{[^{}]*\}")
MLIR_TYPE = {"float32": "f32", "bfloat16": "bf16"}
"""How StableHLO writes each backend dtype's element type."""


@pytest.fixture(scope="module", params=DTYPES)
def synth(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Synthesizer:
    return Synthesizer(load_fastpitch(FASTPITCH), load_hifigan(HIFIGAN), backend="jax",
                       dtype=request.param, buckets=BUCKETS,
                       cache_dir=str(tmp_path_factory.mktemp("cache")))


def _shapes() -> list[tuple[str, int, int]]:
    return ([("encode", b, t) for b in BUCKETS.batch for t in BUCKETS.tokens]
            + [("decode", b, f) for b in BUCKETS.batch for f in BUCKETS.frames])


def _export_for_tpu(backend: Any, stage: str, batch: int, size: int) -> Any:
    import jax
    from jax import export

    _, fn, args = backend.stage_graph(stage, batch, size, BUCKETS.max_tokens)
    with backend.tracing():
        return export.export(jax.jit(fn), platforms=("tpu",))(*args)


def _input_shapes(stage: str, batch: int, size: int, d_model: int) -> list[tuple[int, ...]]:
    """The graph's inputs after the weights: what the engine passes for this bucket."""
    if stage == "encode":  # ids, speaker, pitch shift, pitch scale
        return [(batch, size), (batch,), (batch,), (batch,)]
    # encoder states (padded to the largest token bucket), frames per token, speaker
    return [(batch, BUCKETS.max_tokens, d_model), (batch, BUCKETS.max_tokens), (batch,)]


def _wide_values(module: str) -> set[str]:
    """The 64-bit types of the values (arguments, results, constants) in a StableHLO module."""
    found: set[str] = set()
    for line in module.splitlines():
        if line.startswith("#loc"):  # source locations: names, no types
            continue
        while ATTRIBUTES.search(line):  # innermost first: dictionaries may nest
            line = ATTRIBUTES.sub("", line)
        found.update(WIDE_TYPE.findall(line))
    return found


# Without jax_enable_x64, torchax traces PyTorch's int64 indices as int32 (and says so): what
# the backend compiles too, and what keeps int64 out of the TPU graphs.
@pytest.mark.filterwarnings("ignore:Explicitly requested dtype int64:UserWarning")
@pytest.mark.parametrize(("stage", "batch", "size"), _shapes())
def test_stage_graph_lowers_for_tpu(synth: Synthesizer, stage: str, batch: int,
                                    size: int) -> None:
    import jax
    import jax.numpy as jnp
    from jax import export

    backend: Any = synth.backend
    exported = _export_for_tpu(backend, stage, batch, size)
    assert exported.platforms == ("tpu",)
    assert exported.nr_devices == 1

    # The weights are the backend's converted states, in its dtype; the inputs are the bucket's.
    states = backend._enc_states if stage == "encode" else backend._dec_states
    leaves = jax.tree.leaves(states)
    weights, inputs = exported.in_avals[:len(leaves)], exported.in_avals[len(leaves):]
    assert [a.shape for a in weights] == [np.shape(v) for v in leaves]
    floating = {a.dtype for a in weights if jnp.issubdtype(a.dtype, jnp.floating)}
    assert floating == {jnp.dtype(backend.dtype)}
    d_model = synth.fastpitch.config.d_model
    assert [a.shape for a in inputs] == _input_shapes(stage, batch, size, d_model)

    if stage == "encode":
        hidden, durations = exported.out_avals
        assert hidden.shape == (batch, BUCKETS.max_tokens, d_model)
        assert hidden.dtype == jnp.dtype(backend.dtype)
        assert (durations.shape, durations.dtype) == ((batch, size), jnp.float32)
    else:
        (audio,) = exported.out_avals
        assert (audio.shape, audio.dtype) == ((batch, size * synth.hop_length), jnp.float32)

    text = exported.mlir_module()
    assert "func.func public @main" in text
    assert _wide_values(text) == set(), "64-bit values in the TPU graph"
    # The matrix products and convolutions (the bulk of the work, on the TPU's matrix units)
    # run in the backend's dtype.
    products = re.findall(r"stablehlo\.(?:dot_general|convolution)\b.*-> tensor<[\dx]*(\w+)>",
                          text)
    assert products and set(products) == {MLIR_TYPE[backend.dtype]}

    # What a TPU process would load from the graphs' folder: the serialized module keeps the
    # platform and the shapes.
    again = export.deserialize(bytearray(exported.serialize()))
    assert again.platforms == ("tpu",)
    assert again.in_avals == exported.in_avals
    assert again.out_avals == exported.out_avals
