"""The vocoder's fused kernels (fastpitch_tpu.kernels) against their plain-PyTorch references:
the decomposition of the generator into fused steps on any machine, the Triton kernels in
Triton's interpreter on the CPU (a fresh process: the interpreter is chosen when Triton is first
imported), and on a GPU the compiled kernels and the cuda_graph backend."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from fastpitch_tpu.kernels.reference import fused_conv1d_reference
from fastpitch_tpu.kernels.vocoder import FusedHiFiGAN
from fastpitch_tpu.models.hifigan import HiFiGAN, HiFiGANConfig

SCRIPT = Path(__file__).parent / "scripts" / "interpreted_kernels.py"
TINY = {
    "v1": HiFiGANConfig(upsample_initial_channel=32, upsample_rates=(2, 2),
                        upsample_kernel_sizes=(4, 4), hop_size=4, resblock_kernel_sizes=(3, 5),
                        resblock_dilation_sizes=((1, 3, 5), (1, 3, 5))),
    "v3": HiFiGANConfig(resblock=2, upsample_initial_channel=32, upsample_rates=(2, 2),
                        upsample_kernel_sizes=(4, 4), hop_size=4, resblock_kernel_sizes=(3, 5),
                        resblock_dilation_sizes=((1, 2), (2, 6))),
}


def _model(version: str, seed: int = 0) -> HiFiGAN:
    torch.manual_seed(seed)
    model = HiFiGAN(TINY[version]).eval()
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0, 0.2)
    return model


@pytest.mark.parametrize("version", sorted(TINY))
def test_fused_steps_compute_the_generator(version: str) -> None:
    """The generator rewritten as fused steps (reference ops) gives the plain model's audio,
    padding masks included: each row as if vocoded alone, zeros past its length."""
    model = _model(version)
    mel = torch.randn(3, 80, 20)
    lengths = torch.tensor([20, 13, 5])
    with torch.no_grad():
        ref = model(mel, lengths)
        got = FusedHiFiGAN(model, triton=False)(mel, lengths)
        alone = model(mel[1:2, :, :13])
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got[1, : 13 * 4], alone[0], rtol=1e-4, atol=1e-5)
    assert float(got[2, 5 * 4:].abs().max()) == 0.0
    with torch.no_grad():
        torch.testing.assert_close(FusedHiFiGAN(model, triton=False)(mel), model(mel),
                                   rtol=1e-5, atol=1e-6)


def test_reference_steps_follow_their_order() -> None:
    """The reference's documented order on a case small enough to write out by hand."""
    x = torch.tensor([[[-1.0, 2.0, -3.0, 4.0]]])
    w = torch.tensor([[[0.0, 1.0, 0.0]]])  # identity convolution
    out = fused_conv1d_reference(x, w, torch.tensor([0.5]), in_slope=0.1,
                                 lengths=torch.tensor([3]), residual=torch.ones(1, 1, 4),
                                 accumulate=torch.full((1, 1, 4), 2.0), out_scale=0.5,
                                 out_act="leaky_relu", out_slope=0.01)
    # masked input [-1, 2, -3, 0] -> leaky [-0.1, 2, -0.3, 0] -> +bias, masked
    # [0.4, 2.5, 0.2, 0] -> +masked residual [1, 1, 1, 0] -> +2 -> *0.5
    np.testing.assert_allclose(out.numpy()[0, 0], [1.7, 2.75, 1.6, 1.0], rtol=1e-6)
    with pytest.raises(ValueError, match="out_act"):
        fused_conv1d_reference(x, w, None, out_act="gelu")


def test_triton_kernels_in_the_interpreter() -> None:
    """Every option of the Triton kernel and the whole fused generator (V1, V3), run by
    Triton's interpreter on the CPU, against the references: float32 rounding only, and exact
    zeros past each row's length."""
    pytest.importorskip("triton", reason="Triton is installed with PyTorch's Linux wheels")
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    done = subprocess.run([sys.executable, str(SCRIPT), "7"], env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    errors = json.loads(done.stdout.strip().splitlines()[-1])
    assert len(errors) == 36  # 4 layer shapes x (5 options + 4 tails), 2 generators x 2
    for name, value in errors.items():
        if name.endswith("tail"):
            assert value == 0.0, name
        else:
            assert value < 1e-5, (name, value)


def test_kernel_refuses_what_it_cannot_run() -> None:
    pytest.importorskip("triton", reason="Triton is installed with PyTorch's Linux wheels")
    from fastpitch_tpu.kernels.conv1d import fused_conv1d, interpreted, prepare_weight

    x = torch.randn(1, 4, 10)
    w = prepare_weight(torch.randn(4, 4, 3))
    with pytest.raises(ValueError, match="out_act"):
        fused_conv1d(x, w, None, out_act="gelu")
    with pytest.raises(ValueError, match="does not fit"):
        fused_conv1d(torch.randn(1, 5, 10), w, None)
    with pytest.raises(ValueError, match="residual"):
        fused_conv1d(x, w, None, residual=torch.randn(1, 4, 9))
    if not interpreted():
        with pytest.raises(RuntimeError, match="CUDA device"):
            fused_conv1d(x, w, None)


def test_cuda_graph_backend_needs_a_gpu() -> None:
    from fastpitch_tpu.engine import Synthesizer

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: the refusal is for machines without one")
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        Synthesizer(backend="cuda_graph")


@pytest.mark.gpu
def test_cuda_graph_backend_matches_eager_on_a_gpu() -> None:
    """On a GPU: the cuda_graph backend (fused kernels, captured per shape) speaks as the eager
    torch backend does, within bf16 rounding, and replays its graphs without capturing again."""
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from fastpitch_tpu.engine import Buckets, Synthesizer

    texts = ["Printing, in the only sense with which we are at present concerned.", "Yes."]
    buckets = Buckets(tokens=(64, 128), batch=(1, 2))
    eager = Synthesizer(backend="torch", dtype="float32", device="cuda", buckets=buckets)
    graphs = Synthesizer(backend="cuda_graph", dtype="bfloat16", buckets=buckets)
    ref = eager.synthesize(texts)
    got = graphs.synthesize(texts)
    captured = graphs.compile_count()
    again = graphs.synthesize(texts)
    assert graphs.compile_count() == captured
    for r, g, a in zip(ref, got, again):
        assert len(g.samples) == len(r.samples)
        np.testing.assert_array_equal(g.samples, a.samples)
        err = np.linalg.norm(g.samples - r.samples) / np.linalg.norm(r.samples)
        assert err < 0.1, err
