"""Exceptions raised by fastpitch_tpu. Each subclasses the stdlib type callers already catch.

==========================  ==============  =====================================================
class                       base            raised when
==========================  ==============  =====================================================
``UnknownFlavorError``      ``ValueError``  the flavor name is not one of ``FLAVORS``
``DictionaryError``         ``OSError``     a dictionary / heteronym file is unreadable or malformed
``InvalidTextError``        ``ValueError``  the input is too large or not valid Unicode
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
