"""Per-utterance synthesis controls: the validated :class:`SynthesisOptions` and the typed
keyword arguments (:class:`SynthesisOverrides`) the ``synthesize`` calls accept for them."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import TypedDict

__all__ = ["SynthesisOptions", "SynthesisOverrides", "apply_overrides"]


@dataclass(frozen=True)
class SynthesisOptions:
    """Per-utterance controls."""

    pace: float = 1.0
    """Speaking rate: 1.25 is 25 % faster (durations divided by the pace)."""
    pitch_shift: float = 0.0
    """Added to the predicted pitch, in Hz."""
    pitch_scale: float = 1.0
    """Multiplies the pitch's deviation from the speaker's mean (0 = monotone)."""
    speaker: int = 0
    """Speaker id for multi-speaker models."""
    denoise: float = 0.0
    """Strength of the vocoder-bias removal (DeepLearningExamples' denoiser; 0 = off)."""
    sentence_pause: float = 0.2
    """Silence (s) between the sentence chunks of one text."""
    trim_silence: bool | None = None
    """Cut the near-silence (40 dB under the peak) at both ends of every piece of audio, keeping
    20 ms: no dead air before the first word, after the last, or between sentences beyond
    ``sentence_pause``. None: the voice's choice (on for the built-in voice)."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.pace) and 0.1 <= self.pace <= 10.0):
            raise ValueError(f"pace must be in [0.1, 10], got {self.pace}")
        if not math.isfinite(self.pitch_shift) or abs(self.pitch_shift) > 1000:
            raise ValueError(f"pitch_shift must be within ±1000 Hz, got {self.pitch_shift}")
        if not (math.isfinite(self.pitch_scale) and -10 <= self.pitch_scale <= 10):
            raise ValueError(f"pitch_scale must be in [-10, 10], got {self.pitch_scale}")
        if not (math.isfinite(self.denoise) and 0 <= self.denoise <= 1):
            raise ValueError(f"denoise must be in [0, 1], got {self.denoise}")
        if not (math.isfinite(self.sentence_pause) and 0 <= self.sentence_pause <= 10):
            raise ValueError(f"sentence_pause must be in [0, 10] s, got {self.sentence_pause}")


class SynthesisOverrides(TypedDict, total=False):
    """The :class:`SynthesisOptions` fields as keyword arguments (each optional): what
    ``Synthesizer.synthesize(text, **options)`` and its siblings accept, so that a type checker
    rejects a misspelt option."""

    pace: float
    pitch_shift: float
    pitch_scale: float
    speaker: int
    denoise: float
    sentence_pause: float
    trim_silence: bool | None


OPTION_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SynthesisOptions))


def apply_overrides(defaults: SynthesisOptions,
                    options: SynthesisOverrides) -> SynthesisOptions:
    """``defaults`` with ``options`` replaced; an unknown option is a :class:`TypeError` that
    names it and the valid ones (untyped callers get the check a type checker gives the
    others)."""
    unknown = sorted(set(options) - set(OPTION_NAMES))
    if unknown:
        raise TypeError(f"unknown synthesis option(s) {', '.join(map(repr, unknown))}; valid "
                        f"options: {', '.join(OPTION_NAMES)}")
    if options.get("trim_silence", False) is None:  # the voice's choice: the default's value
        options = {k: v for k, v in options.items() if k != "trim_silence"}  # type: ignore[assignment]
    return dataclasses.replace(defaults, **options)
