"""Many texts, each with its own options, spoken in batches of the largest batch bucket; each
text's chunks are joined back into its audio, and a text that fails gets its error in its
place."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from fastpitch_tpu.audio import Audio
from fastpitch_tpu.engine.chunking import Chunk, TextChunker
from fastpitch_tpu.engine.options import SynthesisOptions
from fastpitch_tpu.engine.scheduler import BatchScheduler, Results

if TYPE_CHECKING:
    from tqdm import tqdm

__all__ = ["speak_requests"]


class _TextProgress:
    """Counts each text's chunks down as their batches finish; a text is done (the bar, if
    any, advances) when its last chunk is."""

    def __init__(self, n_texts: int, chunks: list[Chunk], bar: tqdm[Any] | None) -> None:
        self.remaining = [0] * n_texts
        for c in chunks:
            self.remaining[c.text_index] += 1
        self.bar = bar

    def finished(self, batch: list[Chunk]) -> None:
        for c in batch:
            self.remaining[c.text_index] -= 1
            if self.remaining[c.text_index] == 0 and self.bar is not None:
                self.bar.update(1)


def speak_requests(chunker: TextChunker, scheduler: BatchScheduler,
                   requests: Sequence[tuple[str, SynthesisOptions]], progress: bool | None,
                   sample_rate: int) -> list[Audio | Exception]:
    """Each request's audio, or the exception it failed with. ``progress``: show a bar of the
    texts done (None: where there are several texts and more than four batches)."""
    from tqdm import tqdm

    results: Results = [None] * len(requests)
    chunks: list[Chunk] = []
    for i, (text, opts) in enumerate(requests):
        try:
            chunks.extend(chunker.chunks(i, text, opts))
        except Exception as e:  # reported in this request's place
            results[i] = e
    batches = scheduler.batches(chunks, scheduler.buckets.max_batch)
    show = progress if progress is not None else len(requests) > 1 and len(batches) > 4
    # No bar object unless it is shown: even a disabled one costs time on every call.
    bar = tqdm(total=len(requests), desc="synthesizing", unit="text") if show else None
    with bar if bar is not None else contextlib.nullcontext():
        scheduler.run(batches, results, _TextProgress(len(requests), chunks, bar).finished)
    parts: list[list[Audio]] = [[] for _ in requests]
    for c in chunks:
        if c.audio is not None:
            parts[c.text_index].append(Audio(c.audio, sample_rate))
    out: list[Audio | Exception] = []
    for i, (_, opts) in enumerate(requests):
        r = results[i]
        out.append(r if r is not None else Audio.concatenate(parts[i], opts.sentence_pause))
    return out
