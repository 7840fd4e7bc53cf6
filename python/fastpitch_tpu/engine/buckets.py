"""The static shapes the engine pads its inputs to, so that every compiled graph is reused."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

__all__ = ["Buckets"]

log = logging.getLogger("fastpitch_tpu")


@dataclass(frozen=True)
class Buckets:
    """Static shapes: token counts, batch sizes and mel frame counts (each sorted ascending).

    A row longer than the largest frame bucket gets a frame count rounded up to a multiple of
    ``frame_step`` (a new compilation, logged), never a cut.
    """

    tokens: tuple[int, ...] = (32, 64, 128, 256)
    batch: tuple[int, ...] = (1, 4, 16)
    frames: tuple[int, ...] = (
        64, 96, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024,
        1280, 1536, 1792, 2048, 2560, 3072,
    )
    """Steps of at most 25 % (at most a fifth of the vocoder's work is padding)."""
    frame_step: int = 512

    def __post_init__(self) -> None:
        for name in ("tokens", "batch", "frames"):
            values = getattr(self, name)
            if not values or any(v < 1 for v in values) or list(values) != sorted(set(values)):
                raise ValueError(f"buckets.{name} must be distinct positive sizes in ascending "
                                 f"order, got {values}")

    @staticmethod
    def batch_sizes(max_batch: int) -> tuple[int, ...]:
        """Batch buckets up to ``max_batch``: powers of 4, then ``max_batch`` itself."""
        sizes = [1]
        while sizes[-1] * 4 < max_batch:
            sizes.append(sizes[-1] * 4)
        if sizes[-1] != max_batch:
            sizes.append(max_batch)
        return tuple(sizes)

    @property
    def max_tokens(self) -> int:
        return self.tokens[-1]

    @property
    def max_batch(self) -> int:
        return self.batch[-1]

    def token_bucket(self, n: int) -> int:
        return next(b for b in self.tokens if b >= n)

    def batch_bucket(self, n: int) -> int:
        return next(b for b in self.batch if b >= n)

    def frame_bucket(self, n: int) -> int:
        for b in self.frames:
            if b >= n:
                return b
        size = self.frame_step * math.ceil(n / self.frame_step)
        log.warning("%d frames exceed the largest frame bucket (%d): using %d (compiles a new "
                    "graph)", n, self.frames[-1], size)
        return size
