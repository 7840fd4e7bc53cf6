"""Writing a file so that readers see the old content or the new one, never a part: the data goes
to a uniquely named temporary file beside it (unique per process and thread), which then replaces
the target in one rename."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

__all__ = ["write_atomic"]


def write_atomic(path: str | os.PathLike[str], data: bytes | bytearray | str) -> None:
    """Replace ``path`` with ``data`` (text as UTF-8) in one step."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
