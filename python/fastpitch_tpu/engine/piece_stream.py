"""Texts of any number and length spoken in bounded memory: their chunks taken a window at a
time, batched, and handed over in input order as :class:`AudioPiece` s."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from fastpitch_tpu.audio import Audio
from fastpitch_tpu.engine.chunking import Chunk, TextChunker, device_error
from fastpitch_tpu.engine.options import SynthesisOptions
from fastpitch_tpu.engine.scheduler import BatchScheduler, Results

__all__ = ["AudioPiece", "PieceStream"]

_Numbered = tuple[Chunk, int, int]
"""A chunk, its index among its text's chunks and that text's chunk count."""


@dataclass(frozen=True)
class AudioPiece:
    """One piece of :meth:`Synthesizer.synthesize_pieces`' output: the audio of one chunk of
    one text."""

    text_index: int
    """The text it belongs to (its position in the input)."""
    index: int
    """Its position among that text's pieces (0 is the first)."""
    count: int
    """How many pieces that text has."""
    audio: Audio


class PieceStream:
    """Speaks texts window by window: first windows of the batch bucket sizes below ``size``,
    then ``size`` chunks at a time, in batches of at most ``rows`` chunks."""

    def __init__(self, chunker: TextChunker, scheduler: BatchScheduler, sample_rate: int,
                 rows: int, size: int) -> None:
        if size < 1:
            raise ValueError(f"window must be positive, got {size}")
        self.chunker = chunker
        self.scheduler = scheduler
        self.sample_rate = sample_rate
        self.rows = rows
        self.size = size

    def speak(self, texts: Iterable[str], opts: SynthesisOptions) -> Iterator[AudioPiece]:
        """The pieces of ``texts`` in order; an error is raised once every text before its own
        is spoken."""
        ramp = [b for b in self.scheduler.buckets.batch if b < self.size]
        feed = self._numbered(texts, opts)
        error: Exception | None = None
        while error is None:
            limit = ramp.pop(0) if ramp else self.size
            window: list[_Numbered] = []
            while len(window) < limit:
                try:
                    window.append(next(feed))
                except StopIteration:
                    break
                except Exception as e:  # raised once the texts before it are spoken
                    error = e
                    break
            if not window:
                break
            yield from self._speak_window(window)
            if len(window) < limit and error is None:
                break  # the input is used up
        if error is not None:
            raise error

    def _numbered(self, texts: Iterable[str], opts: SynthesisOptions) -> Iterator[_Numbered]:
        """Each text's chunks: the whole text where it fits, else one per sentence."""
        for i, text in enumerate(texts):
            if not isinstance(text, str):
                raise TypeError(f"text {i} is not a string")
            parts = self.chunker.chunks(i, text, opts, pack=False)
            for k, chunk in enumerate(parts):
                yield chunk, k, len(parts)

    def _speak_window(self, window: list[_Numbered]) -> Iterator[AudioPiece]:
        """Speak ``window``'s chunks batched; yield their pieces in order, raising a chunk's
        failure in its place."""
        chunks = [chunk for chunk, _, _ in window]
        # The scheduler records a failure under the chunk's text index: positions in the
        # window here, mapped back to the texts' own indices below.
        text_indices = [chunk.text_index for chunk in chunks]
        for position, chunk in enumerate(chunks):
            chunk.text_index = position
        results: Results = [None] * len(chunks)
        try:
            self.scheduler.run(self.scheduler.batches(chunks, self.rows), results)
        finally:
            for chunk, index in zip(chunks, text_indices):
                chunk.text_index = index
        for position, (chunk, k, count) in enumerate(window):
            if results[position] is not None or chunk.audio is None:
                raise device_error(chunk)
            audio, chunk.audio = chunk.audio, None  # held only until it is handed over
            yield AudioPiece(chunk.text_index, k, count, Audio(audio, self.sample_rate))
