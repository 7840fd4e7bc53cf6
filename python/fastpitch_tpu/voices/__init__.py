"""Voices that ship inside the package.

``default``: a FastPitch voice (8.4 M parameters, float16 safetensors with its config) trained
by ``examples/train_default_voice.sh`` on the first 6,000 LJSpeech transcripts (public domain)
spoken by the offline teacher voice of ``hibari-tts`` 0.2.1 (Apache-2.0, a distillation of
Kokoro-82M's ``af_heart``, Apache-2.0). Each voice has a JSON manifest next to its weights:
file name, sha256, the vocoder it was trained against, its origin, licence and measurements.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["BUILTIN_VOICES", "BuiltinVoice", "builtin_voice", "vocoder_for"]

_FOLDER = Path(__file__).resolve().parent

BUILTIN_VOICES = ("default",)
"""Names :func:`builtin_voice` (and so ``load_fastpitch``, ``Synthesizer``, the CLI and the
server) accept in place of a checkpoint path."""


@dataclass(frozen=True)
class BuiltinVoice:
    name: str
    path: Path
    """The FastPitch weights (our safetensors format)."""
    vocoder: str
    """The HiFi-GAN (a ``load_hifigan`` name) the voice was trained and measured with."""
    manifest: dict[str, Any]


@functools.lru_cache(maxsize=None)
def builtin_voice(name: str) -> BuiltinVoice:
    """The packaged voice ``name``, its file checked against the manifest's sha256."""
    if name not in BUILTIN_VOICES:
        raise KeyError(f"no built-in voice {name!r}; built-in voices: {', '.join(BUILTIN_VOICES)}")
    manifest_path = _FOLDER / f"{name}.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    path = _FOLDER / manifest["file"]
    if not path.is_file():
        raise FileNotFoundError(f"{path}: the built-in voice {name!r} is missing from this "
                                "installation; reinstall fastpitch-tpu")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != manifest["sha256"]:
        raise OSError(f"{path}: sha256 {digest} differs from the manifest's "
                      f"{manifest['sha256']}; the installation is damaged, reinstall it")
    return BuiltinVoice(name=name, path=path, vocoder=str(manifest["vocoder"]),
                        manifest=manifest)


def vocoder_for(fastpitch: object) -> str:
    """The vocoder to pair with ``fastpitch`` when none is named: a built-in voice's own, else
    ``"lj"`` (the LJSpeech HiFi-GAN, matching NVIDIA's LJSpeech FastPitch checkpoints)."""
    if isinstance(fastpitch, str) and fastpitch in BUILTIN_VOICES:
        return builtin_voice(fastpitch).vocoder
    return "lj"
