"""Text → token-id chunks that fit the token buckets: long texts split at sentence (then clause,
then word) boundaries, with the checks for a text that has nothing to speak and for characters
the voice cannot read."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from fastpitch_tpu.engine.options import SynthesisOptions
from fastpitch_tpu.errors import DroppedCharactersWarning, InvalidTextError
from fastpitch_tpu.frontend import TextFrontend
from fastpitch_tpu.model_source import VoiceInfo

__all__ = ["Chunk", "TextChunker", "device_error", "resolve_frontend"]


@dataclass
class Chunk:
    """One piece of one text, as token ids, with the options it is spoken with; ``audio`` is
    set once it is spoken."""

    text_index: int
    ids: NDArray[np.int64]
    options: SynthesisOptions
    audio: NDArray[np.float32] | None = field(default=None, repr=False)


def device_error(chunk: Chunk) -> RuntimeError:
    """The error reported in the place of a chunk whose synthesis failed on the device."""
    return RuntimeError(f"synthesis failed for text {chunk.text_index} (see the log)")


def _nothing_to_speak(index: int, text: str) -> InvalidTextError:
    shown = text if len(text) <= 40 else text[:40] + "..."
    return InvalidTextError(f"text {index} has nothing to speak: {shown!r}")


def resolve_frontend(frontend: str | TextFrontend | None, info: VoiceInfo) -> TextFrontend:
    """The text frontend to use: ``frontend`` (a flavor or a frontend), by default the one the
    checkpoint names; its symbol count must match the model's embedding."""
    if frontend is None:
        if info.frontend is None:
            raise ValueError(
                "the checkpoint does not say which text frontend it was trained with; pass "
                "frontend= (one of dle_chars, dle_arpabet, nemo_arpabet, nemo_ipa)"
            )
        frontend = info.frontend
    fe = frontend if isinstance(frontend, TextFrontend) else TextFrontend(frontend)
    if len(fe.vocab) != info.n_symbols:
        raise ValueError(
            f"frontend {fe.flavor!r} has {len(fe.vocab)} symbols but the model embeds "
            f"{info.n_symbols}"
        )
    return fe


class TextChunker:
    """Splits texts into :class:`Chunk` s of at most ``limit`` tokens (the largest token
    bucket) for a voice of ``n_speakers`` speakers."""

    def __init__(self, frontend: TextFrontend, limit: int, n_speakers: int) -> None:
        self.frontend = frontend
        self.limit = limit
        self.n_speakers = n_speakers

    def chunks(self, index: int, text: str, opts: SynthesisOptions,
               per_sentence: bool = False, pack: bool = True) -> list[Chunk]:
        """``text`` as token-id chunks that each fit the largest token bucket.

        A text that fits is one chunk (spoken as NVIDIA's code would). A longer one is split at
        sentence boundaries (then clauses, then words, for a sentence that alone is too long)
        and consecutive pieces are packed back together while they fit. ``per_sentence`` keeps
        one chunk per sentence (streaming); ``pack=False`` keeps a text that fits whole and gives
        a longer one one chunk per sentence, unpacked (what :meth:`Synthesizer.synthesize_pieces`
        speaks).
        """
        if not isinstance(text, str):
            raise TypeError(f"text {index} is not a string")
        if not 0 <= opts.speaker < self.n_speakers:
            raise ValueError(f"speaker must be in [0, {self.n_speakers}), got {opts.speaker}")
        self.warn_dropped(index, text)
        if not per_sentence:
            ids = self.frontend.encode(text)
            if len(ids) <= self.limit:
                if not self.frontend.speaks(ids):
                    raise _nothing_to_speak(index, text)
                return [Chunk(index, ids.astype(np.int64), opts)]
        pieces = self.pieces(index, text)
        if not pieces:
            raise _nothing_to_speak(index, text)
        if per_sentence or not pack:
            return [Chunk(index, ids, opts) for _, ids in pieces]
        return self._packed(index, pieces, opts)

    def _packed(self, index: int, pieces: list[tuple[str, NDArray[np.int64]]],
                opts: SynthesisOptions) -> list[Chunk]:
        """Consecutive ``pieces`` joined into chunks while the joined text fits."""
        out: list[Chunk] = []
        current, current_ids = pieces[0]
        for piece, ids in pieces[1:]:
            joined = f"{current} {piece}"
            joined_ids = self.frontend.encode(joined)
            if len(joined_ids) <= self.limit:
                current, current_ids = joined, joined_ids.astype(np.int64)
            else:
                out.append(Chunk(index, current_ids, opts))
                current, current_ids = piece, ids
        out.append(Chunk(index, current_ids, opts))
        return out

    def warn_dropped(self, index: int, text: str) -> None:
        """Warn (:class:`DroppedCharactersWarning`) about characters the voice cannot read."""
        dropped = self.frontend.unspoken_chars(text)
        if dropped:
            shown = ", ".join(repr(c) if c.isprintable() else f"U+{ord(c):04X}"
                              for c in dropped[:10])
            more = f" and {len(dropped) - 10} more" if len(dropped) > 10 else ""
            warnings.warn(f"text {index}: skipped characters the voice cannot read: "
                          f"{shown}{more}", DroppedCharactersWarning, stacklevel=2)

    def pieces(self, index: int, text: str) -> list[tuple[str, NDArray[np.int64]]]:
        """Sentences (or smaller pieces of too-long sentences) with their ids, in order."""
        out: list[tuple[str, NDArray[np.int64]]] = []
        pending = list(self.frontend.split_sentences(text))
        while pending:
            piece = pending.pop(0)
            ids = self.frontend.encode(piece)
            if not self.frontend.speaks(ids):
                continue
            if len(ids) <= self.limit:
                out.append((piece, ids.astype(np.int64)))
                continue
            # Too long for the largest bucket: split at clause / word boundaries, smaller and
            # smaller until every piece fits.
            pending[:0] = self._split_smaller(index, piece, len(ids))
        return out

    def _split_smaller(self, index: int, piece: str, n_ids: int) -> list[str]:
        max_chars = max(1, int(len(piece) * self.limit / n_ids * 0.9))
        parts = self.frontend.split_sentences(piece, max_chars=max_chars)
        while len(parts) == 1 and max_chars > 1:
            max_chars //= 2
            parts = self.frontend.split_sentences(piece, max_chars=max_chars)
        if len(parts) == 1:
            raise InvalidTextError(f"text {index}: cannot split {piece[:40]!r} to fit "
                                   f"{self.limit} tokens")
        return list(parts)
