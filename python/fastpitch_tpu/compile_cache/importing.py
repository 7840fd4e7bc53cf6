"""Importing a compile cache archive (:mod:`.archive`) into a cache folder, checked
against this machine and against damage.

The archive is read once, as a stream: its manifest first, which must describe this machine
(else nothing is written, unless forced); then every member, checked before its data is written
(a path the manifest lists, a regular file of the listed size) into a staging folder inside the
cache folder, and its SHA-256 checked. Only when every listed file arrived intact are they moved
into place, each by one rename (a process using the cache sees a file whole or not at all); a
file already there and identical stays as it is. The import is recorded in the folder first
(:func:`~fastpitch_tpu.compile_cache.manifest.record_import`), so that its files are known as imported
even if the move is interrupted.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import logging
import os
import shutil
import tarfile
import time
import uuid
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from fastpitch_tpu.compile_cache.archive import (
    FILES_PREFIX,
    CacheArchiveError,
    Limits,
    allow_files,
    check_relative,
    open_archive,
    read_manifest,
    sha256_file,
)
from fastpitch_tpu.compile_cache.manifest import (
    ACCELERATORS,
    STAGING_PREFIX,
    differences,
    machine_facts,
    record_import,
)

__all__ = ["ImportReport", "import_cache"]

log = logging.getLogger("fastpitch_tpu")

_CHUNK = 1 << 20
_STALE_STAGING_S = 6 * 3600
"""A staging folder this old was left by an import that was killed: removed by the next one."""


@dataclass(frozen=True)
class ImportReport:
    """What an import did: ``imported`` False where the archive was made for another machine
    (``differences`` say how) and nothing was written."""

    archive: Path
    imported: bool
    added: int = 0
    replaced: int = 0
    kept: int = 0
    """Files already in the cache and identical to the archive's."""
    bytes: int = 0
    """Bytes of the files written."""
    differences: tuple[str, ...] = ()


@contextlib.contextmanager
def _refusing(source: Path) -> Iterator[None]:
    """Any sign of damage in the archive becomes one :class:`CacheArchiveError` naming it."""
    try:
        yield
    except CacheArchiveError as e:
        raise CacheArchiveError(f"{source}: refused, nothing imported: {e}") from None
    except (tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile, UnicodeError) as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise CacheArchiveError(f"{source}: refused, nothing imported: a damaged archive "
                                f"({reason})") from None


def import_cache(archive: str | os.PathLike[str], cache_dir: str | os.PathLike[str], *,
                 force: bool = False, limits: Limits | None = None) -> ImportReport:
    """Puts the files of ``archive`` (made by :func:`~fastpitch_tpu.compile_cache.export_cache`)
    into the cache folder ``cache_dir``, if the archive was made on a machine like this one (same
    versions, accelerator, OS: see :func:`~fastpitch_tpu.compile_cache.manifest.differences`). One made
    for another is ignored with a warning (``imported`` False); ``force`` imports it anyway (its
    files are then used here while this machine stays as it is now, where each library's own
    keys let them). A damaged or unsafe archive raises :class:`CacheArchiveError`, ``force`` or
    not; in either case nothing of it is written to the cache."""
    source, root = Path(archive), Path(cache_dir)
    if not source.is_file():
        raise FileNotFoundError(f"no such archive: {source}")
    limits = limits or Limits()
    with _refusing(source), open_archive(source, limits) as (tar, budget):
        manifest = read_manifest(tar, limits)
        made = manifest["environment"]
        here = machine_facts(probe=[k for k in made["accelerators"] if k in ACCELERATORS])
        differ = differences(made, here)
        if differ and not force:
            log.warning("%s was made for another machine or other versions (%s): nothing "
                        "imported", source, "; ".join(differ))
            return ImportReport(source, imported=False, differences=tuple(differ))
        if differ:
            log.warning("importing %s, made for another machine or other versions (%s), as "
                        "forced", source, "; ".join(differ))
        allow_files(budget, manifest)
        root.mkdir(parents=True, exist_ok=True)
        _check_space(root, manifest["files"])
        with _staging(root) as staging:
            _extract(tar, manifest["files"], staging)
            return _move_in(staging, root, manifest, source, here, tuple(differ))


def _check_space(root: Path, files: Mapping[str, Any]) -> None:
    need = sum(entry["size"] for entry in files.values())
    free = shutil.disk_usage(root).free
    if need > free:
        raise OSError(f"{root} has {free} bytes free, the archive's files need {need}; nothing "
                      "imported")


@contextlib.contextmanager
def _staging(root: Path) -> Iterator[Path]:
    """A new staging folder in ``root`` (same file system: files move in by rename), removed
    when done, whatever happens."""
    for old in root.glob(f"{STAGING_PREFIX}*"):
        with contextlib.suppress(OSError):
            if time.time() - old.stat().st_mtime > _STALE_STAGING_S:
                shutil.rmtree(old)
    folder = root / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    folder.mkdir()
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _member_path(member: tarfile.TarInfo) -> str:
    """The cache path of an archive member, if it is a safe one and a regular file."""
    check_relative(member.name)
    if not member.name.startswith(FILES_PREFIX):
        raise CacheArchiveError(f"unexpected member {member.name!r}")
    if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
        kind = ("a symbolic link" if member.issym() else "a hard link" if member.islnk()
                else "a device" if member.isdev() else "a folder" if member.isdir()
                else "not a regular file")
        raise CacheArchiveError(f"{member.name!r} is {kind}; only regular files are allowed")
    return check_relative(member.name[len(FILES_PREFIX):])


def _extract(tar: tarfile.TarFile, files: Mapping[str, Any], staging: Path) -> None:
    """Every member into ``staging``, each checked against the manifest's ``files``."""
    seen: set[str] = set()
    # next(), not iteration: iterating a tar stream starts again from its first member
    while (member := tar.next()) is not None:
        rel = _member_path(member)
        entry = files.get(rel)
        if entry is None:
            raise CacheArchiveError(f"{member.name!r} is not in the manifest")
        if rel in seen:
            raise CacheArchiveError(f"{member.name!r} appears twice")
        if member.size != entry["size"]:
            raise CacheArchiveError(f"{member.name!r} is {member.size} bytes, the manifest "
                                    f"says {entry['size']}")
        seen.add(rel)
        _write_member(tar, member, staging / rel, entry["sha256"])
    if len(seen) < len(files):
        missing = sorted(set(files) - seen)
        raise CacheArchiveError(f"truncated: {len(missing)} of the manifest's files are "
                                f"missing (the first: {missing[0]})")


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, target: Path,
                  sha256: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    # a new file only, never through a link (the staging folder is new: belt and braces)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(
        os, "O_BINARY", 0)
    data = tar.extractfile(member)
    assert data is not None  # a regular file
    digest, left = hashlib.sha256(), member.size
    with os.fdopen(os.open(target, flags, 0o644), "wb") as out:
        while left:
            chunk = data.read(min(left, _CHUNK))
            if not chunk:
                raise CacheArchiveError(f"truncated in {member.name!r}")
            digest.update(chunk)
            out.write(chunk)
            left -= len(chunk)
    if digest.hexdigest() != sha256:
        raise CacheArchiveError(f"{member.name!r} does not match its SHA-256 in the manifest")


def _check_targets(root: Path, files: Mapping[str, Any]) -> None:
    """Each file's place in the cache is free for a file: no folder of that name, no file where
    its folders go (checked before anything moves in)."""
    folders: set[Path] = set()
    for rel in files:
        target = root / rel
        if target.exists() and not target.is_file():
            raise OSError(f"{target} is in the way of the archive's file of that name; nothing "
                          "imported")
        folders.update(p for p in target.parents if root in p.parents)
    for folder in folders:
        if folder.exists() and not folder.is_dir():
            raise OSError(f"{folder} is in the way of the archive's folder of that name; "
                          "nothing imported")


def _same(path: Path, entry: Mapping[str, Any]) -> bool:
    try:
        return (path.is_file() and path.stat().st_size == entry["size"]
                and sha256_file(path) == entry["sha256"])
    except OSError:
        return False


def _move(staged: Path, target: Path) -> None:
    """``staged`` to ``target`` by one rename; where ``target``'s folder is on another file
    system (a link inside the cache), copied beside it first."""
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.replace(staged, target)
    except OSError as e:
        if e.errno != errno.EXDEV:
            raise
        beside = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            shutil.copy2(staged, beside)
            os.replace(beside, target)
        finally:
            beside.unlink(missing_ok=True)


def _move_in(staging: Path, root: Path, manifest: Mapping[str, Any], source: Path,
             here: Mapping[str, Any], differ: tuple[str, ...]) -> ImportReport:
    files = manifest["files"]
    _check_targets(root, files)
    moving = [rel for rel in sorted(files) if not _same(root / rel, files[rel])]
    # One modification time for every file of the import, which tells them apart from this
    # machine's own later (read back: a file system may round it).
    stamp = time.time_ns()
    for rel in moving:
        os.utime(staging / rel, ns=(stamp, stamp))
    if moving:
        stamp = (staging / moving[0]).stat().st_mtime_ns
        record_import(root, {
            "archive": str(source), "created": manifest.get("created"),
            "imported": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "origin": manifest["environment"], "accepted": dict(here), "stamp_ns": stamp,
            "files": {rel: files[rel]["size"] for rel in moving}})
    replaced = 0
    for rel in moving:
        replaced += (root / rel).exists()
        _move(staging / rel, root / rel)
    return ImportReport(source, imported=True, added=len(moving) - replaced, replaced=replaced,
                        kept=len(files) - len(moving),
                        bytes=sum(files[rel]["size"] for rel in moving), differences=differ)
