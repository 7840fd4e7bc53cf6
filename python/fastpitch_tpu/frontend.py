"""The text frontend: text → token ids for FastPitch, implemented in Rust (``rust/textfront``).

>>> from fastpitch_tpu import TextFrontend
>>> fe = TextFrontend("dle_arpabet")
>>> fe.normalize("Dr. Smith paid $5.")
'doctor smith paid five dollars.'
>>> ids = fe.encode("Dr. Smith paid $5.")            # numpy int64 array
>>> batch, lengths = fe.encode_batch(["Hi.", "Bye."])  # padded [B, L] + lengths, parallel

Flavors: ``dle_chars``, ``dle_arpabet`` (DeepLearningExamples FastPitch ``TextProcessing``) and
``nemo_arpabet``, ``nemo_ipa`` (NeMo FastPitch: English text normalizer, G2P and tokenizer).
Every method releases the GIL.
"""

# numpy is loaded here, at import, rather than by the first encode() (which returns arrays).
import numpy  # noqa: F401

from fastpitch_tpu._textfront import FLAVORS, MAX_INPUT_BYTES, TextFrontend, split_sentences

__all__ = ["FLAVORS", "MAX_INPUT_BYTES", "TextFrontend", "split_sentences"]
