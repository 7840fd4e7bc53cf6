"""Drop-in for NeMo's FastPitch tokenizers (``EnglishPhonemesTokenizer`` + ``EnglishG2p`` and
``IPATokenizer`` + ``IpaG2p`` as the pretrained English FastPitch models configure them).

::

    from fastpitch_tpu.compat.nemo import EnglishPhonemesTokenizer
    tok = EnglishPhonemesTokenizer()
    ids = tok.encode("hello world.")        # same ids as NeMo under set_phone_prob(1.0)

The tokenizers take *normalized* text, as NeMo's do; NeMo's text normalizer itself is not part
of this module yet (``FastPitchModel.parse`` normalizes first).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from fastpitch_tpu.frontend import TextFrontend

__all__ = ["EnglishPhonemesTokenizer", "IPATokenizer"]


class _Tokenizer:
    _flavor = ""

    def __init__(
        self,
        phoneme_dict: str | os.PathLike[str] | None = None,
        heteronyms: str | os.PathLike[str] | None = None,
    ) -> None:
        self._frontend = TextFrontend(self._flavor, dictionary=phoneme_dict, heteronyms=heteronyms)
        self.tokens: list[str] = self._frontend.vocab
        self.pad: int = self.tokens.index("<pad>")
        self.oov: int = self.tokens.index("<oov>")
        self.blank: int | None = None
        self.sep = ""
        self.space: int = self.tokens.index(" ")
        self.phoneme_probability = 1.0

    def __call__(self, text: str) -> list[int]:
        return self.encode(text)

    def encode(self, text: str) -> list[int]:
        """Ids of normalized text (phonemes where the dictionary is unambiguous)."""
        ids: list[int] = self._frontend.encode(text, normalize=False).tolist()
        return ids

    def decode(self, tokens: list[int]) -> str:
        """Ids back to tokens joined by ``sep``, skipping pad and oov as NeMo does."""
        return self._frontend.decode([t for t in tokens if t not in (self.pad, self.oov)])

    @contextlib.contextmanager
    def set_phone_prob(self, prob: float) -> Iterator[None]:
        """Accepted for compatibility; only ``prob=1.0`` (inference) is reproduced."""
        if prob != 1.0:
            raise ValueError(f"only phoneme probability 1.0 is supported, not {prob!r}")
        yield


class EnglishPhonemesTokenizer(_Tokenizer):
    """ARPAbet tokenizer of NeMo's English FastPitch (cmudict-0.7b_nv22.10, heteronyms-052722)."""

    _flavor = "nemo_arpabet"


class IPATokenizer(_Tokenizer):
    """IPA tokenizer of NeMo's English FastPitch (ipa_cmudict-0.7b_nv23.01, heteronyms-052722)."""

    _flavor = "nemo_ipa"
