"""Several voices served side by side: one :class:`Synthesizer` per checkpoint, all sharing
one vocoder (loaded once)."""

from __future__ import annotations

from typing import Any

from fastpitch_tpu.engine.synthesizer import Synthesizer

__all__ = ["load_voices"]


def load_voices(checkpoints: dict[str, str], hifigan: str | None = None,
                **engine: Any) -> dict[str, Synthesizer]:
    """One :class:`Synthesizer` per voice (name → checkpoint, ``"default"`` first), all sharing
    one vocoder: ``hifigan``, or the default voice's own (:func:`~fastpitch_tpu.voices.
    vocoder_for`). ``engine``: the other Synthesizer arguments (backend, dtype, buckets ...)."""
    from fastpitch_tpu.checkpoints import load_hifigan
    from fastpitch_tpu.voices import vocoder_for

    vocoder = load_hifigan(hifigan or vocoder_for(checkpoints["default"]))
    return {name: Synthesizer(path, vocoder, **engine) for name, path in checkpoints.items()}
