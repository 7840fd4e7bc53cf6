"""The plain-PyTorch definition of what the fused kernels compute: the reference they are tested
against, and what ``FusedHiFiGAN(triton=False)`` runs on any device. The padding mask is the
model's own (``HiFiGAN._mask``)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from fastpitch_tpu.models.hifigan import HiFiGAN

__all__ = ["fused_conv1d_reference"]


def fused_conv1d_reference(
    x: Tensor, weight: Tensor, bias: Tensor | None, *, dilation: int = 1,
    in_slope: float | None = None, lengths: Tensor | None = None, scale: int = 1,
    residual: Tensor | None = None, accumulate: Tensor | None = None, out_scale: float = 1.0,
    out_act: str | None = None, out_slope: float = 0.0,
) -> Tensor:
    """A stride-1 "same" convolution with its element-wise neighbours, in the order HiFi-GAN's
    generator applies them:

    1. the input masked to each row's length (``t < lengths * scale``) and passed through a
       leaky ReLU of slope ``in_slope`` (none if None);
    2. the convolution (``weight`` ``[out, in, kernel]``, odd kernel, ``dilation``) plus
       ``bias``, masked;
    3. plus ``residual`` (masked like the input), plus ``accumulate``, times ``out_scale``;
    4. ``out_act``: None, ``"leaky_relu"`` (slope ``out_slope``) or ``"tanh"``.

    ``x`` is ``[batch, in, time]``; the result ``[batch, out, time]`` in ``x``'s dtype."""
    mask = None if lengths is None else HiFiGAN._mask(lengths, x.shape[-1], scale, x)
    if mask is not None:
        x = x * mask
    if in_slope is not None:
        x = F.leaky_relu(x, in_slope)
    k = weight.shape[-1]
    y = F.conv1d(x, weight, bias, padding=(k - 1) * dilation // 2, dilation=dilation)
    if mask is not None:
        y = y * mask
    if residual is not None:
        y = y + (residual if mask is None else residual * mask)
    if accumulate is not None:
        y = y + accumulate
    if out_scale != 1.0:
        y = y * out_scale
    if out_act == "leaky_relu":
        y = F.leaky_relu(y, out_slope)
    elif out_act == "tanh":
        y = torch.tanh(y)
    elif out_act is not None:
        raise ValueError(f"out_act must be None, 'leaky_relu' or 'tanh', got {out_act!r}")
    return y
