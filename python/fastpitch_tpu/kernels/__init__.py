"""Our own GPU kernels for the vocoder, each with a plain-PyTorch reference beside it.

HiFi-GAN's layers are few and fixed: its residual blocks are 1-D convolutions wrapped in
element-wise work (a leaky ReLU before each convolution, the padding mask and the residual add
after it, the average of the blocks). :mod:`fastpitch_tpu.kernels.conv1d` does all of that in one
kernel per convolution, with the time length a runtime argument: a kernel is compiled once per
layer type (channels, kernel size, dilation), never per input shape, so recording a new bucket
is a CUDA graph capture, not a compilation.

- :func:`~fastpitch_tpu.kernels.conv1d.fused_conv1d`: the Triton kernel (CUDA, or Triton's
  interpreter on a CPU with ``TRITON_INTERPRET=1``);
- :func:`~fastpitch_tpu.kernels.reference.fused_conv1d_reference`: the same function in plain
  PyTorch, the reference the tests hold the kernel to and the fallback;
- :class:`~fastpitch_tpu.kernels.vocoder.FusedHiFiGAN`: a HiFi-GAN generator's forward pass
  made of these (the upsampling convolutions stay cuDNN's).

``FASTPITCH_TPU_KERNELS=0`` in the environment turns the Triton kernels off (the reference ops
run instead).
"""

from __future__ import annotations

import importlib.util
import os

__all__ = ["kernels_enabled", "triton_available"]


def triton_available() -> bool:
    """Whether Triton can be imported here."""
    return importlib.util.find_spec("triton") is not None


def kernels_enabled() -> bool:
    """Whether the Triton kernels are to be used: Triton present and not switched off with
    ``FASTPITCH_TPU_KERNELS=0``."""
    return triton_available() and os.environ.get("FASTPITCH_TPU_KERNELS", "1") != "0"
