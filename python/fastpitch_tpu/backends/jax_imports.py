"""Importing JAX and torchax for the jax backend, with the settings and stand-ins they need."""

from __future__ import annotations

import importlib.machinery
import importlib.util
import os
import sys
import types
from typing import Any

__all__ = ["import_jax", "import_jax_and_torchax", "jax_devices"]


def import_jax() -> Any:
    """The ``jax`` module, with an error that names the package's extra when it is missing."""
    # Unless told otherwise, let JAX's GPU memory pool grow on demand instead of reserving 75 %
    # of the device when it starts (which alone takes 1.4 s on an H200, and leaves nothing to
    # other processes). Read when JAX creates its GPU client, so this works until then.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    try:
        import jax
    except ImportError as e:
        raise ImportError(
            "the jax backend needs jax and torchax: pip install 'fastpitch-tpu[jax]'"
        ) from e
    return jax


def import_jax_and_torchax() -> tuple[Any, Any]:
    """The ``jax`` and ``torchax`` modules (torchax without requiring flax)."""
    if "flax" not in sys.modules and importlib.util.find_spec("flax") is None:
        # torchax's __init__ imports flax only for its checkpoint helpers, which are not used
        # here: stand in empty modules rather than require flax and its dependencies.
        for name in ("flax", "flax.training", "flax.training.checkpoints"):
            module = types.ModuleType(name)
            module.__spec__ = importlib.machinery.ModuleSpec(name, None)
            sys.modules[name] = module
        sys.modules["flax"].training = sys.modules["flax.training"]  # type: ignore[attr-defined]
        sys.modules["flax.training"].checkpoints = (  # type: ignore[attr-defined]
            sys.modules["flax.training.checkpoints"])
    jax = import_jax()
    try:
        import torchax
    except ImportError as e:
        raise ImportError(
            "the jax backend needs jax and torchax: pip install 'fastpitch-tpu[jax]'"
        ) from e
    return jax, torchax


def jax_devices() -> list[str]:
    """Every device of JAX's default platform, as ``"platform:index"`` names."""
    devices = import_jax().devices()
    return [f"{d.platform}:{i}" for i, d in enumerate(devices)]
