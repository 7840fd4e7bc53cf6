"""The host's share of a batch between the two stages: the predicted durations → the frame
count of each token and of each row."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["frames_per_token"]


def frames_per_token(durations: NDArray[np.floating], pace: NDArray[np.float32], rows: int,
                     max_tokens: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Each token's frame count (``[batch, max_tokens]``, the layout the decode stage takes) and
    each row's total, from the encode stage's ``durations [batch, tokens]``: divided by the
    row's ``pace`` and rounded half up, in float32 as the reference models do. Rows from
    ``rows`` on are batch padding: they get no frames."""
    reps = np.floor(durations.astype(np.float32) / pace[:, None] + np.float32(0.5))
    reps = reps.astype(np.int64)
    reps[rows:] = 0
    frames = reps.sum(axis=1)
    padded = np.zeros((reps.shape[0], max_tokens), dtype=np.int64)
    padded[:, : reps.shape[1]] = reps
    return padded, frames
