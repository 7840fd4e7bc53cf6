"""Execution backends for the static-shape engine; each runs our one model definition.

=================  ==========================================================================
``torch``          eager PyTorch (CUDA or CPU): the reference path, no compilation
``torch_compile``  ``torch.compile`` per bucket (CUDA graphs on a GPU)
``cuda_graph``     eager PyTorch captured as a CUDA graph per bucket, the vocoder in our own
                   fused kernels: no compiler step (a CUDA GPU)
``jax``            torchax + ``jax.jit`` per bucket (GPU, TPU or CPU)
``torch_xla``      PyTorch/XLA per bucket (TPU; CPU with ``PJRT_DEVICE=CPU``)
=================  ==========================================================================

``"auto"`` picks, in order: ``torch_xla`` on a TPU, ``jax`` on a TPU or GPU it can see,
``torch_compile`` on a CUDA GPU, else ``torch`` (eager) on the CPU.
"""

from __future__ import annotations

import importlib.util
import os

from fastpitch_tpu.backends.base import DTYPES, Backend, StageSource

__all__ = ["BACKENDS", "DTYPES", "Backend", "StageSource", "auto_backend", "auto_dtype",
           "create_backend", "local_devices"]

BACKENDS = ("torch", "torch_compile", "cuda_graph", "jax", "torch_xla")


def _has(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _jax_sees_beyond_the_cpu() -> bool:
    """Whether a jax accelerator plugin (CUDA, ROCm: the ``jax_plugins`` namespace or the older
    ``jax_cuda*_plugin`` packages) or ``libtpu`` is installed: without one jax sees only the
    CPU, and importing it to ask would cost a CPU-only process about 200 MB and a second."""
    return any(_has(m) for m in ("jax_plugins", "jax_cuda12_plugin", "jax_cuda13_plugin",
                                 "libtpu"))


def auto_backend() -> str:
    """The best backend available here (see the module documentation)."""
    if _has("torch_xla") and os.environ.get("PJRT_DEVICE", "").upper() == "TPU":
        return "torch_xla"
    if _has("jax") and _has("torchax") and _jax_sees_beyond_the_cpu():
        from fastpitch_tpu.backends.jax_backend import jax_devices

        try:
            if any(d.split(":")[0] in ("tpu", "gpu") for d in jax_devices()):
                return "jax"
        except RuntimeError:
            pass
    import torch

    if torch.cuda.is_available():
        return "torch_compile"
    return "torch"


def auto_dtype(name: str, device: str | None = None) -> str:
    """What ``dtype="auto"`` means for backend ``name`` on ``device``: ``bfloat16`` on an
    accelerator (GPU, TPU: native bf16 matrix units, half the memory traffic), ``float32`` on a
    CPU, where PyTorch's and XLA's bf16 convolutions are slower than float32 ones on CPUs without
    bf16 matrix units (docs/performance.md has the measurement)."""
    if name == "auto":
        name = auto_backend()
    if name in ("torch", "torch_compile", "cuda_graph"):
        if device is not None:
            return "float32" if device.split(":")[0] == "cpu" else "bfloat16"
        import torch

        return "bfloat16" if torch.cuda.is_available() else "float32"
    if name == "jax":
        if device is None:
            from fastpitch_tpu.backends.jax_backend import jax_devices

            device = jax_devices()[0]
        return "float32" if device.split(":")[0] == "cpu" else "bfloat16"
    if name == "torch_xla":
        return "float32" if os.environ.get("PJRT_DEVICE", "CPU").upper() == "CPU" else "bfloat16"
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)} or 'auto'")


def local_devices(name: str) -> list[str | None]:
    """Every local device backend ``name`` (or ``"auto"``) can run one replica on, as
    ``device=`` values: the CUDA devices (else the CPU) for ``torch`` / ``torch_compile``, every
    device jax sees (``"gpu:0"``, ``"cpu:3"`` ...) for ``jax``. ``torch_xla`` addresses one
    device per process: its default device only."""
    if name == "auto":
        name = auto_backend()
    if name in ("torch", "torch_compile", "cuda_graph"):
        import torch

        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        return [f"cuda:{i}" for i in range(count)] if count else ["cpu"]
    if name == "jax":
        from fastpitch_tpu.backends.jax_backend import jax_devices

        return list(jax_devices())
    if name == "torch_xla":
        return [None]
    raise ValueError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)} or 'auto'")


def create_backend(name: str, source: StageSource, *, dtype: str, device: str | None = None,
                   cache_dir: str | None = None) -> Backend:
    """Instantiate backend ``name`` (or ``"auto"``) over the two stages ``source`` gives, in
    ``dtype`` (one of :data:`DTYPES`, or ``"auto"``: see :func:`auto_dtype`)."""
    if dtype != "auto" and dtype not in DTYPES:
        raise ValueError(f"dtype must be 'auto' or one of {sorted(DTYPES)}, got {dtype!r}")
    if name == "auto":
        name = auto_backend()
    if dtype == "auto":
        dtype = auto_dtype(name, device)
    kind: type[Backend]
    if name == "torch":
        from fastpitch_tpu.backends.torch_backend import TorchBackend as kind
    elif name == "torch_compile":
        from fastpitch_tpu.backends.torch_backend import TorchCompileBackend as kind
    elif name == "cuda_graph":
        from fastpitch_tpu.backends.torch_cuda_graph import CudaGraphBackend as kind
    elif name == "jax":
        from fastpitch_tpu.backends.jax_backend import JaxBackend as kind
    elif name == "torch_xla":
        from fastpitch_tpu.backends.torch_xla_backend import TorchXlaBackend as kind
    else:
        raise ValueError(
            f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)} or 'auto'")
    return kind(source, dtype=dtype, device=device, cache_dir=cache_dir)
