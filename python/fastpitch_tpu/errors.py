"""Exceptions raised by fastpitch_tpu. Each subclasses the stdlib type callers already catch.

==========================  ==============  =====================================================
class                       base            raised when
==========================  ==============  =====================================================
``UnknownFlavorError``      ``ValueError``  the flavor name is not one of ``FLAVORS``
``DictionaryError``         ``OSError``     a dictionary / heteronym file is unreadable or malformed
``InvalidTextError``        ``ValueError``  the input is too large, not valid Unicode, or has nothing
                                            to speak (only spaces, punctuation, emoji ...)
``TextNormalizationError``  ``ValueError``  normalization is unavailable or failed for the flavor
``InvalidTokenIdsError``    ``ValueError``  ``decode`` got ids outside the vocabulary
``InternalError``           ``RuntimeError`` a frontend bug was caught (please report it)
==========================  ==============  =====================================================
"""

from fastpitch_tpu._textfront import (
    DictionaryError,
    InternalError,
    InvalidTextError,
    InvalidTokenIdsError,
    TextNormalizationError,
    UnknownFlavorError,
)

__all__ = [
    "DictionaryError",
    "InternalError",
    "InvalidTextError",
    "InvalidTokenIdsError",
    "TextNormalizationError",
    "UnknownFlavorError",
]


# Model checkpoints (fastpitch_tpu.checkpoints). Pure Python: importing them needs no torch.
#
# ==========================  ==============  =====================================================
# class                       base            raised when
# ==========================  ==============  =====================================================
# ``CheckpointError``         ``ValueError``  a checkpoint file or archive is unreadable, unsafe,
#                                             or does not fit the model (keys, shapes, config)
# ``CheckpointDownloadError`` ``OSError``     a named checkpoint could not be downloaded/verified
# ==========================  ==============  =====================================================


class CheckpointError(ValueError):
    """A checkpoint is malformed, unsafe to read, or does not match the model it is loaded into."""


class CheckpointDownloadError(OSError):
    """A checkpoint named by a hub name could not be downloaded or failed its sha256 check."""


__all__ += ["CheckpointDownloadError", "CheckpointError"]


# Warnings (``warnings.warn``; filter or escalate them with the ``warnings`` module).


class DroppedCharactersWarning(UserWarning):
    """Characters of a text were dropped because the voice's text frontend cannot read them
    (emoji, scripts other than the Latin alphabet); the rest of the text is spoken."""


__all__ += ["DroppedCharactersWarning"]
