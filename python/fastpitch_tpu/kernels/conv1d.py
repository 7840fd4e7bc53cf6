"""One Triton kernel for a HiFi-GAN convolution and the element-wise work around it.

:func:`fused_conv1d` computes exactly :func:`~fastpitch_tpu.kernels.reference.
fused_conv1d_reference` (read its documentation for the order of the steps): input mask and
leaky ReLU while loading, the convolution as a sum of per-tap matrix products on the tensor
cores (fp32 accumulation), then bias, output mask, residual, accumulator, scale and activation
before the one store. Intermediate activations of a residual block step never go to memory.

Shape-generic: the batch, the time length, the kernel size, the dilation and every option are
runtime arguments; only the channel counts (and the tiles chosen for them) are compile-time
constants. One kernel is compiled per layer width (twice at most: Triton specializes integer
arguments on divisibility by 16), whatever the bucket shapes: six for HiFi-GAN V1.

On a CUDA device the kernel is compiled; with ``TRITON_INTERPRET=1`` in the environment (before
Triton is imported) it runs on CPU tensors in Triton's interpreter (numpy, slow: meant for tests
on tiny shapes).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

__all__ = ["BlockConfig", "block_config", "fused_conv1d", "prepare_weight"]

_ACTS = {None: 0, "leaky_relu": 1, "tanh": 2}


def _kernel_source() -> Any:
    import triton
    import triton.language as tl

    def conv1d_kernel(  # type: ignore[no-untyped-def]  # Triton reads the annotations
        x_ptr, w_ptr, b_ptr, res_ptr, acc_ptr, len_ptr, out_ptr,
        T, K, dil, scale, in_slope, out_scale, out_slope,
        has_bias, in_act, has_mask, has_res, has_acc, out_act,
        CI: tl.constexpr, CO: tl.constexpr, PRECISION: tl.constexpr,
        BLOCK_CO: tl.constexpr, BLOCK_CI: tl.constexpr, BLOCK_T: tl.constexpr,
    ):
        # Only the channel counts, the tiles and the precision are compile-time constants: the
        # kernel size, dilation and every option are runtime values (uniform branches), so one
        # compiled kernel serves every layer of a given width.
        pid_t = tl.program_id(0)
        pid_co = tl.program_id(1)
        b = tl.program_id(2).to(tl.int64)
        t = pid_t * BLOCK_T + tl.arange(0, BLOCK_T)
        co = pid_co * BLOCK_CO + tl.arange(0, BLOCK_CO)
        co_ok = co < CO
        limit = T
        if has_mask != 0:
            limit = tl.load(len_ptr + b).to(tl.int32) * scale
        pad = (K - 1) * dil // 2
        x_base = x_ptr + b * CI * T
        acc = tl.zeros((BLOCK_CO, BLOCK_T), dtype=tl.float32)
        for k in tl.range(0, K):
            tin = t + (k * dil - pad)
            t_ok = (tin >= 0) & (tin < T) & (tin < limit)
            for ci0 in range(0, CI, BLOCK_CI):
                ci = ci0 + tl.arange(0, BLOCK_CI)
                ci_ok = ci < CI
                xv = tl.load(x_base + ci[:, None] * T + tin[None, :],
                             mask=ci_ok[:, None] & t_ok[None, :], other=0.0)
                if in_act != 0:
                    xv = tl.where(xv >= 0, xv, xv * in_slope).to(xv.dtype)
                wv = tl.load(w_ptr + (k * CO + co[:, None]) * CI + ci[None, :],
                             mask=co_ok[:, None] & ci_ok[None, :], other=0.0)
                acc = tl.dot(wv, xv.to(wv.dtype), acc, input_precision=PRECISION)
        if has_bias != 0:
            acc += tl.load(b_ptr + co, mask=co_ok, other=0.0).to(tl.float32)[:, None]
        valid = (t < T) & (t < limit)
        acc = tl.where(valid[None, :], acc, 0.0)
        offs = b * CO * T + co[:, None] * T + t[None, :]
        inside = co_ok[:, None] & (t < T)[None, :]
        if has_res != 0:
            acc += tl.load(res_ptr + offs, mask=co_ok[:, None] & valid[None, :],
                           other=0.0).to(tl.float32)
        if has_acc != 0:
            acc += tl.load(acc_ptr + offs, mask=inside, other=0.0).to(tl.float32)
        acc = acc * out_scale
        if out_act == 1:
            acc = tl.where(acc >= 0, acc, acc * out_slope)
        if out_act == 2:
            # tanh from exp: saturates cleanly (exp overflow gives exactly 1, underflow -1).
            acc = 1.0 - 2.0 / (tl.exp(2.0 * acc) + 1.0)
        tl.store(out_ptr + offs, acc.to(out_ptr.dtype.element_ty), mask=inside)

    return triton, conv1d_kernel


@functools.cache
def _kernel() -> Any:
    triton, source = _kernel_source()
    return triton.jit(source)


def interpreted() -> bool:
    """Whether Triton runs kernels in its interpreter (``TRITON_INTERPRET=1`` set before
    Triton was first imported)."""
    from triton import knobs

    return bool(knobs.runtime.interpret)


@dataclass(frozen=True)
class BlockConfig:
    """Tile sizes and launch settings of one layer type."""

    block_co: int
    block_ci: int
    block_t: int
    num_warps: int = 4
    num_stages: int = 2


def _pow2_at_least(n: int, low: int = 16) -> int:
    p = low
    while p < n:
        p *= 2
    return p


def block_config(ci: int, co: int, k: int) -> BlockConfig:
    """Default tiles: output channels in tiles of at most 128, input channels taken 64 at a
    time, a time tile that keeps the accumulator near 8K values per program, 8 warps and 3
    pipeline stages (the best of the tiles tried for the 256-channel layers on an H100;
    ``benches/vocoder_kernels.py`` tries others per layer)."""
    block_co = min(128, _pow2_at_least(co))
    block_ci = min(64, _pow2_at_least(ci))
    block_t = max(64, min(256, 8192 // block_co))
    return BlockConfig(block_co, block_ci, block_t, num_warps=8, num_stages=3)


def prepare_weight(weight: Tensor) -> Tensor:
    """A ``Conv1d`` weight ``[out, in, kernel]`` in the kernel's layout ``[kernel, out, in]``."""
    return weight.detach().permute(2, 0, 1).contiguous()


def fused_conv1d(
    x: Tensor, weight_kco: Tensor, bias: Tensor | None, *, dilation: int = 1,
    in_slope: float | None = None, lengths: Tensor | None = None, scale: int = 1,
    residual: Tensor | None = None, accumulate: Tensor | None = None, out_scale: float = 1.0,
    out_act: str | None = None, out_slope: float = 0.0, config: BlockConfig | None = None,
) -> Tensor:
    """:func:`~fastpitch_tpu.kernels.reference.fused_conv1d_reference` as one kernel launch.
    ``weight_kco`` is the weight in :func:`prepare_weight`'s layout; every tensor must be
    contiguous and on one device, ``lengths`` integer ``[batch]``."""
    if out_act not in _ACTS:
        raise ValueError(f"out_act must be None, 'leaky_relu' or 'tanh', got {out_act!r}")
    k, co, ci = weight_kco.shape
    batch, channels, t = x.shape
    if channels != ci or k % 2 == 0:
        raise ValueError(f"weight {tuple(weight_kco.shape)} does not fit input "
                         f"{tuple(x.shape)} (odd kernel [kernel, out, in] expected)")
    for name, extra in (("residual", residual), ("accumulate", accumulate)):
        if extra is not None and tuple(extra.shape) != (batch, co, t):
            raise ValueError(f"{name} must be {(batch, co, t)}, got {tuple(extra.shape)}")
    out = torch.empty((batch, co, t), device=x.device, dtype=x.dtype)
    cfg = config or block_config(ci, co, k)
    grid = ((t + cfg.block_t - 1) // cfg.block_t, (co + cfg.block_co - 1) // cfg.block_co, batch)
    if x.device.type != "cuda" and not interpreted():
        raise RuntimeError("the Triton kernels run on a CUDA device (or in Triton's interpreter: "
                           "TRITON_INTERPRET=1 in the environment before starting Python)")
    kernel = _kernel()
    kernel[grid](
        x, weight_kco, bias if bias is not None else x, residual if residual is not None else x,
        accumulate if accumulate is not None else x, lengths if lengths is not None else x, out,
        t, k, dilation, scale, float(in_slope or 0.0), float(out_scale), float(out_slope),
        int(bias is not None), int(in_slope is not None), int(lengths is not None),
        int(residual is not None), int(accumulate is not None), _ACTS[out_act],
        CI=ci, CO=co, PRECISION="ieee" if x.dtype == torch.float32 else "tf32",
        BLOCK_CO=cfg.block_co, BLOCK_CI=cfg.block_ci, BLOCK_T=cfg.block_t,
        num_warps=cfg.num_warps, num_stages=cfg.num_stages,
    )
    return out
