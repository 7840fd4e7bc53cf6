"""Drop-in for NeMo's FastPitch text frontend: the English text normalizer, the tokenizers
(``EnglishPhonemesTokenizer`` + ``EnglishG2p`` and ``IPATokenizer`` + ``IpaG2p`` as the pretrained
English FastPitch models configure them) and ``parse``.

::

    from fastpitch_tpu.compat import nemo
    tok = nemo.EnglishPhonemesTokenizer()
    ids = tok.encode("hello world.")          # same ids as NeMo under set_phone_prob(1.0)
    norm = nemo.Normalizer()                  # Normalizer(lang="en", input_case="cased")
    text = norm.normalize("Dr. Smith paid $5.", punct_pre_process=True, punct_post_process=True)
    tokens = nemo.parse("Dr. Smith paid $5.")  # torch.LongTensor [1, L], like FastPitchModel.parse
    nemo.patch(model)                         # swap a NeMo FastPitchModel's normalizer + tokenizer

The tokenizers take *normalized* text, as NeMo's do.
"""

from __future__ import annotations

import contextlib
import operator
import os
from collections.abc import Iterable, Iterator
from typing import Any

from fastpitch_tpu.errors import InvalidTokenIdsError
from fastpitch_tpu.frontend import TextFrontend

__all__ = ["EnglishPhonemesTokenizer", "IPATokenizer", "Normalizer", "parse", "patch"]


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
        self.sep = "|"  # NeMo's phoneme tokenizers' separator: multi-letter phonemes stay apart
        self.space: int = self.tokens.index(" ")
        self.phoneme_probability = 1.0

    def __call__(self, text: str) -> list[int]:
        return self.encode(text)

    def encode(self, text: str) -> list[int]:
        """Ids of normalized text (phonemes where the dictionary is unambiguous)."""
        ids: list[int] = self._frontend.encode(text, normalize=False).tolist()
        return ids

    def decode(self, tokens: Iterable[Any]) -> str:
        """Ids back to their tokens joined by ``sep`` (``"|"``), as NeMo's ``decode``.

        The pad, blank and oov ids are left out, found the way NeMo finds them: by membership in
        the set of those ids (so ``None`` is left out as the absent blank, and the 0-d tensors of
        a torch tensor never match, their tokens written as NeMo writes them). Where NeMo would
        fail with ``IndexError`` past the vocabulary or read a negative id from its end, this
        raises :class:`~fastpitch_tpu.errors.InvalidTokenIdsError`; an id that is not an integer
        is a ``TypeError`` in both.
        """
        skipped = {self.pad, self.blank, self.oov}
        out: list[str] = []
        for pos, token in enumerate(tokens):
            try:
                if token in skipped:
                    continue
                index = operator.index(token)
            except TypeError:
                raise TypeError(f"token ids must be integers; got {type(token).__name__} at "
                                f"position {pos}") from None
            if not 0 <= index < len(self.tokens):
                raise InvalidTokenIdsError(f"id {index} at position {pos} is outside the "
                                           f"vocabulary of {len(self.tokens)} tokens")
            out.append(self.tokens[index])
        return self.sep.join(out)

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


class Normalizer:
    """NeMo's English ``Normalizer(lang="en", input_case="cased")`` as FastPitch calls it.

    Only FastPitch's call (``punct_pre_process=True, punct_post_process=True``) is reproduced;
    other settings raise ``ValueError`` rather than give different text.
    """

    def __init__(self, lang: str = "en", input_case: str = "cased", **_unused: Any) -> None:
        if lang != "en" or input_case != "cased":
            raise ValueError(f"only lang='en', input_case='cased' is supported, not {lang!r}, {input_case!r}")
        self.lang = lang
        self.input_case = input_case
        self._frontend = TextFrontend("nemo_arpabet")

    def normalize(
        self,
        text: str,
        verbose: bool = False,
        punct_pre_process: bool = True,
        punct_post_process: bool = True,
        **_unused: Any,
    ) -> str:
        """Spoken form of ``text`` (numbers, dates, money, abbreviations... written out)."""
        if not (punct_pre_process and punct_post_process):
            raise ValueError(
                "only FastPitch's settings punct_pre_process=True, punct_post_process=True are supported"
            )
        normalized = self._frontend.normalize(text)
        if verbose:
            print(normalized)
        return normalized


def parse(text: str, flavor: str = "nemo_arpabet", normalize: bool = True) -> Any:
    """``FastPitchModel.parse``: normalized, tokenized ``text`` as a ``torch.LongTensor [1, L]``."""
    try:
        import torch  # type: ignore[import-not-found,unused-ignore]
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("parse() returns a torch tensor: install torch") from e
    ids = _frontends(flavor).encode(text, normalize=normalize)
    return torch.from_numpy(ids).unsqueeze(0)


def patch(model: Any, flavor: str | None = None) -> Any:
    """Swap a NeMo ``FastPitchModel``'s normalizer and tokenizer for ours, in place.

    The flavor follows the model's tokenizer (``IPATokenizer`` → ``nemo_ipa``, otherwise
    ``nemo_arpabet``) unless given. Raises ``ValueError`` when the model's vocabulary is not the
    flavor's (its token ids would not mean the same thing). Returns the model.
    """
    current = getattr(model, "vocab", None)
    if flavor is None:
        flavor = "nemo_ipa" if type(current).__name__ == "IPATokenizer" else "nemo_arpabet"
    if flavor not in ("nemo_arpabet", "nemo_ipa"):
        raise ValueError(f"flavor must be 'nemo_arpabet' or 'nemo_ipa', not {flavor!r}")
    tokenizer: _Tokenizer = IPATokenizer() if flavor == "nemo_ipa" else EnglishPhonemesTokenizer()
    tokens = getattr(current, "tokens", None)
    if tokens is not None and list(tokens) != tokenizer.tokens:
        raise ValueError(
            f"the model's vocabulary ({len(tokens)} tokens) differs from {flavor}'s "
            f"({len(tokenizer.tokens)} tokens); its ids would mean other symbols"
        )
    normalizer = Normalizer()
    model.normalizer = normalizer
    model.text_normalizer_call = normalizer.normalize
    model.text_normalizer_call_kwargs = {"punct_pre_process": True, "punct_post_process": True}
    model.vocab = tokenizer
    if hasattr(model, "_parser"):
        model._parser = None
    return model


_FRONTENDS: dict[str, TextFrontend] = {}


def _frontends(flavor: str) -> TextFrontend:
    if flavor not in _FRONTENDS:
        _FRONTENDS[flavor] = TextFrontend(flavor)
    return _FRONTENDS[flavor]
