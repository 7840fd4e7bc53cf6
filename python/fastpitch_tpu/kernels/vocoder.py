"""A HiFi-GAN generator's forward pass made of fused convolutions
(:mod:`fastpitch_tpu.kernels.conv1d`).

Each stride-1 convolution of the generator (``conv_pre``, every residual block's, ``conv_post``)
is one launch that also does the element-wise work around it; the upsampling (transposed)
convolutions stay cuDNN's. What the plain model does between two convolutions lands in one of
the two launches:

- the leaky ReLU before a convolution and the mask of its input: in its loads;
- the mask of its output, the residual add, the sum of a stage's blocks and their average: in
  its epilogue; the leaky ReLU before an upsampling (or ``conv_post``) is the epilogue of the
  last block of the stage before it.

So the upsampling's output is never masked on its own: every consumer masks what it loads.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fastpitch_tpu.kernels.reference import fused_conv1d_reference
from fastpitch_tpu.models.hifigan import LEAKY_SLOPE, HiFiGAN, ResBlock1

__all__ = ["FusedHiFiGAN"]

_POST_SLOPE = 0.01
"""The slope of the leaky ReLU before ``conv_post`` (PyTorch's default, as in the published
generators)."""


class _Conv:
    """One stride-1 convolution's weights, in the layout the chosen implementation takes."""

    def __init__(self, conv: nn.Conv1d, triton: bool) -> None:
        from fastpitch_tpu.kernels.conv1d import prepare_weight

        self.weight = prepare_weight(conv.weight) if triton else conv.weight.detach()
        self.bias = None if conv.bias is None else conv.bias.detach()
        self.dilation = int(conv.dilation[0])


class FusedHiFiGAN(nn.Module):
    """``hifigan``'s forward pass (same arguments, same result within the dtype's rounding)
    through the fused convolutions: Triton's kernels with ``triton=True``, else the plain
    PyTorch reference of each (:func:`~fastpitch_tpu.kernels.reference.fused_conv1d_reference`),
    which runs anywhere. Takes ``[batch, mels, frames]`` mels in channels-first layout."""

    def __init__(self, hifigan: HiFiGAN, *, triton: bool) -> None:
        super().__init__()
        self.generator = hifigan  # keeps the parameters (their dtype, device) visible
        self.triton = triton
        self.config = hifigan.config
        self._pre = _Conv(hifigan.conv_pre, triton)
        self._post = _Conv(hifigan.conv_post, triton)
        self._blocks: list[list[list[_Conv]]] = []
        """Per stage, per block, its convolutions in the order they run."""
        for group in hifigan.resblocks:
            assert isinstance(group, nn.ModuleList)
            stage = []
            for block in group:
                if isinstance(block, ResBlock1):
                    convs = [c for pair in zip(block.convs1, block.convs2) for c in pair]
                else:
                    assert isinstance(block.convs, nn.ModuleList)
                    convs = list(block.convs)
                stage.append([_Conv(c, triton) for c in convs if isinstance(c, nn.Conv1d)])
            self._blocks.append(stage)
        self._pairs = hifigan.config.resblock == 1

    def _conv_fn(self) -> Callable[..., Tensor]:
        if not self.triton:
            return fused_conv1d_reference
        from fastpitch_tpu.kernels.conv1d import fused_conv1d

        return fused_conv1d

    def forward(self, mel: Tensor, lengths: Tensor | None = None) -> Tensor:
        if mel.dim() != 3 or mel.shape[1] != self.config.num_mels:
            raise ValueError(f"FusedHiFiGAN expects mel [batch, {self.config.num_mels}, frames],"
                             f" got {tuple(mel.shape)}")
        conv = self._conv_fn()
        lengths = None if lengths is None else lengths.to(torch.int32)
        mel = mel.contiguous()
        masked: dict[str, Any] = {} if lengths is None else {"lengths": lengths}

        def run(c: _Conv, x: Tensor, scale: int, **kw: Any) -> Tensor:
            return conv(x, c.weight, c.bias, dilation=c.dilation, scale=scale, **masked, **kw)

        n_stages = len(self._blocks)
        x = run(self._pre, mel, 1, out_act="leaky_relu", out_slope=LEAKY_SLOPE)
        scale = 1
        for i, (up, stage) in enumerate(zip(self.generator.ups, self._blocks)):
            assert isinstance(up, nn.ConvTranspose1d)
            scale *= int(up.stride[0])
            u = F.conv_transpose1d(x, up.weight, up.bias, stride=up.stride,
                                   padding=int(up.padding[0])).contiguous()
            slope = _POST_SLOPE if i == n_stages - 1 else LEAKY_SLOPE
            x = self._stage(run, stage, u, scale, slope)
        audio = run(self._post, x, scale, out_act="tanh")
        return audio.reshape(audio.shape[0], -1)

    def _stage(self, run: Callable[..., Tensor], stage: list[list[_Conv]], u: Tensor,
               scale: int, next_slope: float) -> Tensor:
        """One stage's residual blocks on the upsampled ``u``: returns the leaky ReLU (of slope
        ``next_slope``, the next layer's) of the blocks' average."""
        total: Tensor | None = None
        for j, convs in enumerate(stage):
            x = u
            step = 2 if self._pairs else 1
            for p in range(0, len(convs), step):
                last = p + step >= len(convs)
                y = run(convs[p], x, scale, in_slope=LEAKY_SLOPE) if self._pairs else x
                final: dict[str, Any] = {}
                if last:
                    final["accumulate"] = total
                    if j == len(stage) - 1:
                        final.update(out_scale=1.0 / len(stage), out_act="leaky_relu",
                                     out_slope=next_slope)
                x = run(convs[p + step - 1], y, scale, in_slope=LEAKY_SLOPE, residual=x,
                        **final)
            total = x
        assert total is not None
        return total
