"""Helpers for the hostile-checkpoint tests: tar archives and a pickle that would run code."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path
from typing import Any


class Payload:
    """Unpickling this would create the file at ``path``."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return (open, (self.path, "w"))


def write_tar(path: Path, files: dict[str, bytes], extra: list[tarfile.TarInfo] | None = None,
              mode: str = "w") -> None:
    """A tar at ``path`` with the members in ``extra`` (links, devices ...) then ``files``."""
    with tarfile.open(path, mode) as tar:
        for info in extra or []:
            tar.addfile(info)
        for name, blob in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))


def tar_members(path: Path) -> dict[str, bytes]:
    """The regular files of a tar archive, by base name."""
    with tarfile.open(path) as tar:
        out = {}
        for m in tar.getmembers():
            if m.isfile():
                f = tar.extractfile(m)
                assert f is not None
                out[os.path.basename(m.name)] = f.read()
        return out
