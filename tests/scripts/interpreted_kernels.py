"""Runs the Triton kernels in Triton's interpreter on CPU tensors (start it with
``TRITON_INTERPRET=1``) against their plain-PyTorch references on tiny shapes, with fresh random
inputs; prints one JSON object of relative errors and checks (read by tests/test_kernels.py)."""

from __future__ import annotations

import json
import sys

import torch

from fastpitch_tpu.kernels.conv1d import fused_conv1d, interpreted, prepare_weight
from fastpitch_tpu.kernels.reference import fused_conv1d_reference
from fastpitch_tpu.kernels.vocoder import FusedHiFiGAN
from fastpitch_tpu.models.hifigan import HiFiGAN, HiFiGANConfig


def _scalar_loop_bounds() -> None:
    """Triton's interpreter turns a runtime integer used as a loop bound into a Python int with
    ``int()`` of a one-element array, which numpy 2 refuses; take the element instead (the
    compiled kernels are not concerned)."""
    from triton.runtime import interpreter

    patch = interpreter._patch_lang_tensor

    def patched(tensor: object) -> None:
        patch(tensor)
        tensor.__index__ = lambda self: int(self.handle.data.reshape(-1)[0])  # type: ignore[attr-defined]

    interpreter._patch_lang_tensor = patched


def rel(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).norm() / b.norm().clamp_min(1e-12))


def main() -> None:
    assert interpreted(), "start with TRITON_INTERPRET=1"
    _scalar_loop_bounds()
    torch.manual_seed(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    out: dict[str, float] = {}
    # channels that are and are not multiples of the tiles, odd lengths, one output channel
    for ci, co, k, d, t in [(16, 16, 3, 1, 50), (24, 40, 5, 3, 37), (16, 1, 7, 1, 40),
                            (80, 32, 7, 1, 19)]:
        x = torch.randn(2, ci, t)
        w = torch.randn(co, ci, k) / (ci * k) ** 0.5
        b = torch.randn(co)
        lengths = torch.tensor([t, t // 2])
        res, acc = torch.randn(2, co, t), torch.randn(2, co, t)
        cases = {
            "plain": {},
            "input": {"in_slope": 0.1, "lengths": lengths},
            "scaled": {"in_slope": 0.1, "lengths": lengths // 2, "scale": 2},
            "epilogue": {"in_slope": 0.1, "lengths": lengths, "residual": res,
                         "accumulate": acc, "out_scale": 1 / 3, "out_act": "leaky_relu",
                         "out_slope": 0.01},
            "tanh": {"lengths": lengths, "out_act": "tanh"},
        }
        for name, kw in cases.items():
            if co != ci and "residual" in kw:
                kw = {**kw, "residual": torch.randn(2, co, t)}
            got = fused_conv1d(x, prepare_weight(w), b, dilation=d, **kw)  # type: ignore[arg-type]
            ref = fused_conv1d_reference(x, w, b, dilation=d, **kw)  # type: ignore[arg-type]
            out[f"conv {ci}->{co} k{k} d{d} {name}"] = rel(got, ref)
            if "lengths" in kw and "accumulate" not in kw:
                # past each row's length the output is exactly zero
                limit = int(kw["lengths"][1]) * int(kw.get("scale", 1))  # type: ignore[index]
                tail = got[1, :, limit:]
                out[f"conv {ci}->{co} k{k} d{d} {name} tail"] = float(tail.abs().max())
    for version, cfg in {
        "v1": HiFiGANConfig(upsample_initial_channel=32, upsample_rates=(2, 2),
                            upsample_kernel_sizes=(4, 4), hop_size=4,
                            resblock_kernel_sizes=(3, 5),
                            resblock_dilation_sizes=((1, 3, 5), (1, 3, 5))),
        "v3": HiFiGANConfig(resblock=2, upsample_initial_channel=32, upsample_rates=(2, 2),
                            upsample_kernel_sizes=(4, 4), hop_size=4,
                            resblock_kernel_sizes=(3, 5),
                            resblock_dilation_sizes=((1, 2), (2, 6))),
    }.items():
        model = HiFiGAN(cfg).eval()
        with torch.no_grad():
            for p in model.parameters():
                p.normal_(0, 0.2)
            mel = torch.randn(3, 80, 20)
            lengths = torch.tensor([20, 13, 5])
            ref = model(mel, lengths)
            got = FusedHiFiGAN(model, triton=True)(mel, lengths)
        out[f"hifigan {version}"] = rel(got, ref)
        out[f"hifigan {version} tail"] = float(got[2, 5 * 4:].abs().max())
    print(json.dumps(out))


if __name__ == "__main__":
    main()
