"""Cutting the near-silence at both ends of an utterance (``SynthesisOptions.trim_silence``).

A voice trained on recordings with pauses at both ends learns to speak them: dead air a listener
waits through at the start of every answer and between the sentences of a stream. The cut is
made on the audio itself, on the host, where it costs one pass over the samples: everything
before the first and after the last sample louder than ``threshold_db`` under the utterance's
peak goes, but for a short margin that keeps the onset and the decay whole."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["KEEP_S", "THRESHOLD_DB", "trim_silence"]

THRESHOLD_DB = 40.0
"""How far under the peak a sample counts as silence."""
KEEP_S = 0.02
"""Seconds kept before the first and after the last louder sample."""


def trim_silence(samples: NDArray[np.float32], sample_rate: int, *,
                 threshold_db: float = THRESHOLD_DB, keep_s: float = KEEP_S
                 ) -> NDArray[np.float32]:
    """``samples`` without their leading and trailing near-silence (a view, no copy). Audio that
    is silent throughout is returned as it is: there is nothing to tell speech from pause."""
    if samples.size == 0:
        return samples
    level = np.abs(samples)
    peak = float(level.max())
    if peak == 0.0:
        return samples
    loud = np.flatnonzero(level > peak * 10.0 ** (-threshold_db / 20.0))
    keep = int(round(keep_s * sample_rate))
    start = max(0, int(loud[0]) - keep)
    end = min(samples.size, int(loud[-1]) + 1 + keep)
    return samples[start:end]
