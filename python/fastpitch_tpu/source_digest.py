"""A digest of this package's own source files, for cache keys: whatever is derived from a
checkpoint (converted weights, traced graphs) is kept only while the code that derived it is
unchanged."""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["source_digest"]

_PACKAGE = Path(__file__).resolve().parent


def source_digest(*subpackages: str) -> str:
    """SHA-256 of the ``.py`` files of ``subpackages`` (e.g. ``"models"``), read from disk:
    found, not imported (the models import PyTorch)."""
    digest = hashlib.sha256()
    for package in subpackages:
        for path in sorted((_PACKAGE / package).glob("*.py")):
            digest.update(f"{package}/{path.name}".encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
