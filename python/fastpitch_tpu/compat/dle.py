"""Drop-in for DeepLearningExamples FastPitch ``common.text.text_processing``.

Swap one import and get identical ids::

    # from common.text.text_processing import get_text_processing
    from fastpitch_tpu.compat.dle import get_text_processing

    tp = get_text_processing("english_basic", ["english_cleaners_v2"], 1.0)
    ids = tp.encode_text("Dr. Smith paid $5.")

Supported: symbol set ``english_basic``, cleaners ``["english_cleaners_v2"]``, ``p_arpabet`` 0.0
(graphemes) or 1.0 (CMUdict ARPAbet), ``handle_arpabet="word"``, ``expand_currency=True`` (the
configuration of DLE's ``inference.py``). Anything else raises ``ValueError`` rather than giving
different ids. DLE draws a random number per word for 0 < p_arpabet < 1 (a training-time
augmentation); that is not reproduced.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from fastpitch_tpu.frontend import TextFrontend

__all__ = ["TextProcessing", "get_text_processing"]


def _unsupported(what: str, value: object, allowed: str) -> ValueError:
    return ValueError(f"fastpitch_tpu.compat.dle supports {what} {allowed}, not {value!r}")


class TextProcessing:
    """DLE's ``TextProcessing`` for the ``english_basic`` + ``english_cleaners_v2`` setup."""

    def __init__(
        self,
        symbol_set: str,
        cleaner_names: list[str] | tuple[str, ...] | str,
        p_arpabet: float = 0.0,
        handle_arpabet: str = "word",
        handle_arpabet_ambiguous: str = "ignore",
        expand_currency: bool = True,
        *,
        dictionary: str | os.PathLike[str] | None = None,
        heteronyms: str | os.PathLike[str] | None = None,
    ) -> None:
        if symbol_set != "english_basic":
            raise _unsupported("symbol_set", symbol_set, "'english_basic'")
        names = [cleaner_names] if isinstance(cleaner_names, str) else list(cleaner_names)
        if names != ["english_cleaners_v2"]:
            raise _unsupported("cleaner_names", cleaner_names, "['english_cleaners_v2']")
        if p_arpabet not in (0.0, 1.0):
            raise _unsupported("p_arpabet", p_arpabet, "0.0 or 1.0")
        if handle_arpabet != "word":
            raise _unsupported("handle_arpabet", handle_arpabet, "'word'")
        if handle_arpabet_ambiguous != "ignore":
            raise _unsupported("handle_arpabet_ambiguous", handle_arpabet_ambiguous, "'ignore'")
        if not expand_currency:
            raise _unsupported("expand_currency", expand_currency, "True")
        self.symbol_set = symbol_set
        self.cleaner_names = names
        self.p_arpabet = float(p_arpabet)
        self.handle_arpabet = handle_arpabet
        self.handle_arpabet_ambiguous = handle_arpabet_ambiguous
        self.expand_currency = expand_currency
        flavor = "dle_arpabet" if self.p_arpabet == 1.0 else "dle_chars"
        self._frontend = TextFrontend(flavor, dictionary=dictionary, heteronyms=heteronyms)
        # The grapheme flavor on cleaned text is DLE's text_to_sequence: symbols, with `{...}`
        # groups read as ARPAbet and no dictionary substitution.
        self._symbols = TextFrontend("dle_chars")
        self.symbols = self._frontend.vocab
        self.symbol_to_id = {s: i for i, s in enumerate(self.symbols)}
        self.id_to_symbol = dict(enumerate(self.symbols))

    def clean_text(self, text: str) -> str:
        """The cleaned text (``english_cleaners_v2``)."""
        return self._frontend.normalize(text)

    def text_to_sequence(self, text: str) -> list[int]:
        """Ids of already cleaned text; ``{...}`` groups are read as ARPAbet."""
        ids: list[int] = self._symbols.encode(text, normalize=False).tolist()
        return ids

    def sequence_to_text(self, sequence: Iterable[Any]) -> str:
        """Ids back to text as DLE's ``sequence_to_text``: ARPAbet symbols (``@AH0``) written in
        braces, neighbouring braces merged (``{HH AH0}``), the padding symbol ``_`` written too.

        An id that is not a key of ``id_to_symbol`` is skipped without a word, as in DLE: ids past
        the vocabulary, negative ids, and the 0-d tensors of a torch tensor (whose hash is not
        their value); ``3.0`` and ``True`` are the keys 3 and 1.
        """
        pieces = []
        for symbol_id in sequence:
            symbol = self.id_to_symbol.get(symbol_id)
            if symbol is None:
                continue
            pieces.append("{" + symbol[1:] + "}" if symbol[:1] == "@" and len(symbol) > 1
                          else symbol)
        return "".join(pieces).replace("}{", " ")

    def encode_text(self, text: str, return_all: bool = False):  # type: ignore[no-untyped-def]
        """Ids of ``text``; with ``return_all`` also the cleaned and the ARPAbet text."""
        ids = self._frontend.encode(text).tolist()
        if not return_all:
            return ids
        cleaned = self._frontend.normalize(text)
        arpabet = ""
        if self.p_arpabet > 0:
            arpabet = self._frontend.arpabet_text(cleaned, normalize=False) or ""
        return ids, cleaned, arpabet


def get_text_processing(symbol_set: str, text_cleaners: list[str], p_arpabet: float) -> TextProcessing:
    """Same as DLE's ``get_text_processing`` for the supported configuration."""
    return TextProcessing(symbol_set, text_cleaners, p_arpabet=p_arpabet)
