"""Exporting a compile cache folder into one archive (:mod:`.archive`'s format): every file
read twice, once for the manifest's SHA-256 and once into the archive, and the export fails if a
file changed in between (a process was writing the cache); the archive is written beside its name
and takes it only when complete."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import tarfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any, cast

from fastpitch_tpu.compile_cache.archive import (
    FILES_PREFIX,
    FORMAT,
    MANIFEST_NAME,
    VERSION,
    CacheArchiveError,
    Limits,
    check_manifest,
    check_relative,
    sha256_file,
)
from fastpitch_tpu.compile_cache.manifest import (
    ACCELERATORS,
    IMPORTS_FILE,
    STAGING_PREFIX,
    foreign_files,
    machine_facts,
)

__all__ = ["ExportReport", "export_cache"]

GZIP_LEVEL = 1
"""Compression of a ``.tar.gz`` archive: compiled code and weights barely shrink at higher
levels, which cost several times the time (docs/cli.md has the measurements)."""


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote."""

    archive: Path
    files: int
    bytes: int
    """Bytes of the cache's files."""
    archive_bytes: int
    skipped: int
    """Entries left out: links, names an import would refuse, files imported for another
    machine (others' temporary files and locks are not counted)."""


def _transient(name: str) -> bool:
    """Files that are no cache entry: others' temporary files (``.name.*.tmp``, written then
    renamed) and locks."""
    return ((name.startswith(".") and name.endswith(".tmp")) or name == ".lockfile"
            or name.endswith(".lock"))


def _cache_files(root: Path) -> tuple[list[str], int]:
    """The paths of the cache's files to ship, sorted, and how many were left out."""
    foreign = foreign_files(root)
    found: list[str] = []
    skipped = 0
    for folder, dirs, names in os.walk(root):
        here = Path(folder)
        links = [d for d in dirs if (here / d).is_symlink()]
        skipped += len(links)
        dirs[:] = sorted(d for d in dirs if d not in links and not d.startswith(STAGING_PREFIX))
        for name in sorted(names):
            path = here / name
            rel = path.relative_to(root).as_posix()
            if rel == IMPORTS_FILE or _transient(name):
                continue
            try:
                check_relative(rel)
                regular = path.is_file() and not path.is_symlink()
            except (CacheArchiveError, OSError):
                regular = False
            if not regular or rel in foreign:
                skipped += 1
                continue
            found.append(rel)
    return found, skipped


class _Hashing(io.RawIOBase):
    """Reads a file for the archive, hashing what it reads."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._f.read(len(buffer))
        self.digest.update(data)
        memoryview(buffer).cast("B")[: len(data)] = data
        return len(data)


def _fingerprint(path: Path) -> tuple[int, int, str]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns, sha256_file(path)


def _add(tar: tarfile.TarFile, root: Path, rel: str, expected: tuple[int, int, str]) -> None:
    """One file into the archive, as it was when the manifest was made (else the export
    fails: a process wrote the cache meanwhile)."""
    with open(root / rel, "rb") as f:
        before = os.fstat(f.fileno())
        info = tarfile.TarInfo(FILES_PREFIX + rel)
        info.size, info.mtime, info.mode = before.st_size, int(before.st_mtime), 0o644
        reader = _Hashing(f)
        if (before.st_size, before.st_mtime_ns) == expected[:2]:
            tar.addfile(info, reader)
        after = os.fstat(f.fileno())
    if (after.st_size, after.st_mtime_ns, reader.digest.hexdigest()) != expected:
        raise OSError(f"{root / rel} changed while it was exported (a process is writing the "
                      "cache); export again")


@contextlib.contextmanager
def _replacing(path: Path) -> Iterator[IO[bytes]]:
    """A new file that takes ``path``'s name when complete; removed on any failure or
    interruption, so that no partial archive is ever left under that name."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _installed_accelerators() -> list[str]:
    import importlib.util

    return [name for name, module in zip(ACCELERATORS, ("torch", "jax"))
            if importlib.util.find_spec(module) is not None]


def export_cache(cache_dir: str | os.PathLike[str], archive: str | os.PathLike[str], *,
                 compress: bool | None = None) -> ExportReport:
    """Packs the cache folder ``cache_dir`` into the file ``archive``: a tar, gzip-compressed
    where ``compress`` says (default: where the name ends in ``.gz`` or ``.tgz``). The archive
    appears whole or not at all. Queries the accelerators (starting PyTorch's CUDA and jax where
    installed) to name them in the manifest."""
    root, target = Path(cache_dir), Path(archive)
    if not root.is_dir():
        raise FileNotFoundError(f"no compile cache folder at {root}")
    if target.resolve().is_relative_to(root.resolve()):
        raise ValueError(f"{target} is inside the cache folder {root}: write it elsewhere")
    if target.is_dir() or not target.parent.is_dir():
        raise FileNotFoundError(f"{target}: name a file in an existing folder")
    if compress is None:
        compress = target.name.endswith((".gz", ".tgz"))
    environment = machine_facts(probe=_installed_accelerators())
    names, skipped = _cache_files(root)
    if not names:
        raise ValueError(f"{root} holds no cache files to export")
    expected = {rel: _fingerprint(root / rel) for rel in names}
    total = sum(size for size, _, _ in expected.values())
    manifest = {"format": FORMAT, "version": VERSION,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "environment": environment,
                "files": {rel: {"size": size, "sha256": digest}
                          for rel, (size, _, digest) in expected.items()},
                "bytes": total}
    check_manifest(manifest, Limits())  # an archive that an import would refuse is not made
    blob = json.dumps(manifest, indent=1, sort_keys=True).encode()
    with _replacing(target) as out, contextlib.ExitStack() as stack:
        sink: IO[bytes] = out
        if compress:
            packed = gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=GZIP_LEVEL)
            stack.callback(packed.close)
            sink = cast(IO[bytes], packed)
        with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:
            info = tarfile.TarInfo(MANIFEST_NAME)
            info.size, info.mode = len(blob), 0o644
            tar.addfile(info, io.BytesIO(blob))
            for rel in names:
                _add(tar, root, rel, expected[rel])
    return ExportReport(target, len(names), total, target.stat().st_size, skipped)
