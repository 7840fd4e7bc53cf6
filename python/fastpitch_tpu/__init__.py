"""fastpitch_tpu: FastPitch + HiFi-GAN text-to-speech through XLA, with a Rust text frontend.

The text frontend (:class:`TextFrontend`) reproduces NVIDIA's FastPitch frontends token for token
(DeepLearningExamples and NeMo flavors) at Rust speed.

The models (:mod:`fastpitch_tpu.models`, :mod:`fastpitch_tpu.checkpoints`,
:mod:`fastpitch_tpu.audio`) need the ``models`` extra (PyTorch); they are not imported here, so the
frontend works without it.
"""

from fastpitch_tpu.errors import (
    CheckpointDownloadError,
    CheckpointError,
    DictionaryError,
    InternalError,
    InvalidTextError,
    InvalidTokenIdsError,
    TextNormalizationError,
    UnknownFlavorError,
)
from fastpitch_tpu.frontend import FLAVORS, MAX_INPUT_BYTES, TextFrontend, split_sentences

__version__ = "0.1.0"

__all__ = [
    "FLAVORS",
    "MAX_INPUT_BYTES",
    "CheckpointDownloadError",
    "CheckpointError",
    "DictionaryError",
    "InternalError",
    "InvalidTextError",
    "InvalidTokenIdsError",
    "TextFrontend",
    "TextNormalizationError",
    "UnknownFlavorError",
    "split_sentences",
]
