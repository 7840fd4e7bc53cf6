"""The compile cache archive's format: a tar (plain or gzip-compressed) whose first member is the
manifest (:data:`MANIFEST_NAME`, JSON) and whose other members are the cache's files under
``cache/``, and the checks an archive from elsewhere must pass before any of it is written.

The manifest::

    {"format": "fastpitch-tpu compile cache", "version": 1, "created": "2026-01-31T12:00:00Z",
     "environment": {...the facts of the machine that made it (manifest.machine_facts)},
     "files": {"graphs/<digest>/0-1-64.jaxexport": {"size": 47760, "sha256": "..."}, ...},
     "bytes": 1234567}
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import re
import tarfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, cast

from fastpitch_tpu.compile_cache.manifest import IMPORTS_FILE, STAGING_PREFIX

__all__ = ["FILES_PREFIX", "FORMAT", "MANIFEST_NAME", "VERSION", "CacheArchiveError", "Limits",
           "allow_files", "check_manifest", "check_relative", "open_archive", "read_manifest",
           "sha256_file"]

FORMAT = "fastpitch-tpu compile cache"
VERSION = 1
MANIFEST_NAME = "fastpitch-tpu-cache.json"
FILES_PREFIX = "cache/"
_GZIP_MAGIC = b"\x1f\x8b"
_HEADER_ALLOWANCE = 4096
"""Bytes of tar headers allowed per member (its header, a pax header for a long name)."""
_END_ALLOWANCE = 64 * 1024
"""Bytes allowed after the last member (the end-of-archive blocks, the record's padding)."""


class CacheArchiveError(ValueError):
    """A compile cache archive is damaged, truncated, unsafe or not one: nothing of it is
    used."""


@dataclass(frozen=True)
class Limits:
    """What an archive may hold: beyond these it is refused as damaged (a real cache is far
    below them)."""

    files: int = 200_000
    file_bytes: int = 16 << 30
    total_bytes: int = 512 << 30
    manifest_bytes: int = 256 << 20


class _Budget(io.RawIOBase):
    """A reader of the archive's (decompressed) bytes that refuses to go past a budget, so that
    tar headers bigger than the manifest allows cannot make the reader take unbounded time or
    memory."""

    def __init__(self, raw: IO[bytes], budget: int) -> None:
        self._raw = raw
        self.budget = budget
        self.used = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        want = min(len(view), self.budget - self.used + 1)
        data = self._raw.read(want)
        self.used += len(data)
        if self.used > self.budget:
            raise CacheArchiveError("more data than its manifest lists")
        view[: len(data)] = data
        return len(data)


@contextlib.contextmanager
def open_archive(path: Path, limits: Limits) -> Iterator[tuple[tarfile.TarFile, _Budget]]:
    """The archive at ``path`` as a tar stream, and the budget of bytes it may be read for
    (until its manifest is known: the manifest's limit)."""
    with contextlib.ExitStack() as stack:
        file = stack.enter_context(open(path, "rb"))
        gzipped = file.read(2) == _GZIP_MAGIC
        file.seek(0)
        raw: IO[bytes] = file
        if gzipped:
            unpacked = gzip.GzipFile(fileobj=file, mode="rb")
            stack.callback(unpacked.close)
            raw = cast(IO[bytes], unpacked)
        budget = _Budget(raw, limits.manifest_bytes + _HEADER_ALLOWANCE + _END_ALLOWANCE)
        tar = stack.enter_context(tarfile.open(fileobj=budget, mode="r|"))
        yield tar, budget


def allow_files(budget: _Budget, manifest: Mapping[str, Any]) -> None:
    """Extends the budget to what the manifest's files need (in tar's 512-byte blocks)."""
    files = manifest["files"]
    data = sum(-(-entry["size"] // 512) * 512 for entry in files.values())
    budget.budget = budget.used + data + _HEADER_ALLOWANCE * len(files) + _END_ALLOWANCE


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


_DRIVE = re.compile(r"^[A-Za-z]:")


def check_relative(rel: str) -> str:
    """``rel`` if it is a safe path inside a cache folder: relative, ``/``-separated, without
    ``.``, ``..`` or empty parts, backslashes, NUL, or the names an import keeps for itself."""
    parts = rel.split("/")
    if (not rel or rel.startswith("/") or _DRIVE.match(rel) or "\\" in rel or "\0" in rel
            or len(rel) > 4096 or any(p in ("", ".", "..") or len(p) > 255 for p in parts)
            or parts[0] == IMPORTS_FILE or parts[0].startswith(STAGING_PREFIX)):
        raise CacheArchiveError(f"unsafe path {rel!r}")
    return rel


def _check_environment(env: Any) -> None:
    """The facts are compared and shown, never run: they need only the right types."""
    if not isinstance(env, dict):
        raise CacheArchiveError("the manifest's environment is not an object")
    for key in ("fastpitch_tpu", "code", "python", "os", "machine"):
        if not isinstance(env.get(key), str):
            raise CacheArchiveError(f"the manifest's environment lacks {key!r}")
    packages, devices = env.get("packages"), env.get("accelerators")
    if not (isinstance(packages, dict) and all(isinstance(v, str) for v in packages.values())):
        raise CacheArchiveError("the manifest's package versions are not strings")
    if not (isinstance(devices, dict) and all(
            v is None or (isinstance(v, dict) and all(isinstance(x, str) for x in v.values()))
            for v in devices.values())):
        raise CacheArchiveError("the manifest's accelerators are malformed")


def check_manifest(manifest: Any, limits: Limits) -> dict[str, Any]:
    """``manifest`` if it is one of this format within ``limits``."""
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise CacheArchiveError("not a fastpitch-tpu compile cache archive")
    if manifest.get("version") != VERSION:
        raise CacheArchiveError(f"archive format version {manifest.get('version')!r}, this "
                                f"fastpitch-tpu reads version {VERSION}")
    _check_environment(manifest.get("environment"))
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise CacheArchiveError("the manifest lists no files")
    if len(files) > limits.files:
        raise CacheArchiveError(f"{len(files)} files, over the limit of {limits.files}")
    total = 0
    for rel, entry in files.items():
        check_relative(rel)
        size = entry.get("size") if isinstance(entry, dict) else None
        digest = entry.get("sha256") if isinstance(entry, dict) else None
        if not (isinstance(size, int) and 0 <= size <= limits.file_bytes):
            raise CacheArchiveError(f"{rel}: size {size!r} is not one of 0 to "
                                    f"{limits.file_bytes} bytes")
        if not (isinstance(digest, str) and re.fullmatch(r"[0-9a-f]{64}", digest)):
            raise CacheArchiveError(f"{rel}: no SHA-256 in the manifest")
        total += size
    if total > limits.total_bytes:
        raise CacheArchiveError(f"{total} bytes of files, over the limit of "
                                f"{limits.total_bytes}")
    folders = {rel.rsplit("/", 1)[0] for rel in files if "/" in rel}
    folders |= {f.rsplit("/", i)[0] for f in folders for i in range(1, f.count("/") + 1)}
    clash = sorted(folders & set(files))
    if clash:
        raise CacheArchiveError(f"{clash[0]!r} is both a file and a folder")
    return manifest


def read_manifest(tar: tarfile.TarFile, limits: Limits) -> dict[str, Any]:
    """The manifest, from the archive's first member."""
    member = tar.next()
    if member is None or member.name != MANIFEST_NAME:
        raise CacheArchiveError("not a fastpitch-tpu compile cache archive (its first member "
                                f"is {member.name if member else 'missing'!r}, not "
                                f"{MANIFEST_NAME})")
    if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
        raise CacheArchiveError(f"{MANIFEST_NAME} is not a regular file")
    if member.size > limits.manifest_bytes:
        raise CacheArchiveError(f"a manifest of {member.size} bytes, over the limit of "
                                f"{limits.manifest_bytes}")
    stream = tar.extractfile(member)
    assert stream is not None  # a regular file
    blob = stream.read(member.size)
    if len(blob) != member.size:
        raise CacheArchiveError("truncated in its manifest")
    try:
        manifest = json.loads(blob.decode("utf-8"))
    except ValueError as e:
        raise CacheArchiveError(f"its manifest is not JSON ({e})") from None
    return check_manifest(manifest, limits)
