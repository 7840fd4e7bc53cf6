"""A 1-D convolution over ``[batch, time, channels]`` sequences, computed as one matrix product.

FastPitch's convolutions (the transformer's position-wise layers, the predictors, the pitch and
energy embeddings) run on short sequences with kernels of 1 or 3. Written as a matrix product
over the kernel's shifted copies of the input, they need no layout change around them (the
transformer works time-major) and compile to plain matrix products, which XLA can record into
CUDA-graph command buffers together with the kernels around them, instead of library
convolution calls launched one by one. The module is an ``nn.Conv1d`` (same parameters, same
state-dict names, same channels-first ``forward``), so checkpoints load unchanged.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["SequenceConv1d"]


class SequenceConv1d(nn.Conv1d):
    """``nn.Conv1d`` (stride 1, dilation 1, zero padding) with :meth:`over_time` for
    time-major inputs."""

    def over_time(self, x: Tensor) -> Tensor:
        """``x`` ``[batch, time, in_channels]`` → ``[batch, time', out_channels]``: the same
        values as ``self(x.transpose(1, 2)).transpose(1, 2)``."""
        if self.stride != (1,) or self.dilation != (1,) or self.groups != 1 or isinstance(
                self.padding, str) or self.padding_mode != "zeros":
            raise ValueError("SequenceConv1d.over_time needs stride 1, dilation 1, one group "
                             "and numeric zero padding")
        (k,), (p,) = self.kernel_size, self.padding
        weight = self.weight  # [out, in, k]
        if p:
            x = F.pad(x, (0, 0, p, p))
        if k == 1:
            return F.linear(x, weight[:, :, 0], self.bias)
        steps = x.shape[1] - k + 1
        # Column j * in + c holds input channel c shifted by tap j; the weight is laid out alike.
        shifted = torch.cat([x[:, j: j + steps] for j in range(k)], dim=2)
        return F.linear(shifted, weight.permute(0, 2, 1).reshape(weight.shape[0], -1),
                        self.bias)
