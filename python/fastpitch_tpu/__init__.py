"""fastpitch_tpu: FastPitch + HiFi-GAN text-to-speech through XLA, with a Rust text frontend.

The text frontend (:class:`TextFrontend`) reproduces NVIDIA's FastPitch frontends token for token
(DeepLearningExamples and NeMo flavors) at Rust speed.

The models (:mod:`fastpitch_tpu.models`, :mod:`fastpitch_tpu.checkpoints`) and the engine need
the ``models`` extra (PyTorch). The engine (``fastpitch_tpu.synthesize``,
``fastpitch_tpu.Synthesizer``, ``fastpitch_tpu.Audio``) is imported on first use and imports
PyTorch only when it loads models: with the jax backend and a warm cache it does not at all.
"""

from typing import TYPE_CHECKING, Any

from fastpitch_tpu.errors import (
    CheckpointDownloadError,
    CheckpointError,
    DictionaryError,
    DroppedCharactersWarning,
    InternalError,
    InvalidTextError,
    InvalidTokenIdsError,
    TextNormalizationError,
    UnknownFlavorError,
)
from fastpitch_tpu.frontend import FLAVORS, MAX_INPUT_BYTES, TextFrontend, split_sentences
from fastpitch_tpu.version import __version__

if TYPE_CHECKING:
    from fastpitch_tpu.audio import Audio
    from fastpitch_tpu.engine import SynthesisOptions, Synthesizer, synthesize

_LAZY = {
    "Audio": "fastpitch_tpu.audio",
    "SynthesisOptions": "fastpitch_tpu.engine",
    "Synthesizer": "fastpitch_tpu.engine",
    "synthesize": "fastpitch_tpu.engine",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastpitch_tpu' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "__version__",
    "FLAVORS",
    "Audio",
    "SynthesisOptions",
    "Synthesizer",
    "synthesize",
    "MAX_INPUT_BYTES",
    "CheckpointDownloadError",
    "CheckpointError",
    "DictionaryError",
    "DroppedCharactersWarning",
    "InternalError",
    "InvalidTextError",
    "InvalidTokenIdsError",
    "TextFrontend",
    "TextNormalizationError",
    "UnknownFlavorError",
    "split_sentences",
]
