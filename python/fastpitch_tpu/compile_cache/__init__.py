"""Shipping a compile cache to identical machines.

:func:`export_cache` packs a cache folder (the engine's ``cache_dir``: saved jax graphs and
converted weights, jax's and PyTorch Inductor's compiled code, ...) into one archive with a
manifest that names what makes it valid -- this package's, Python's and the compilers' versions,
the OS and processor, the accelerator (:mod:`.manifest`) -- and every file's size and
SHA-256 (:mod:`.archive`). :func:`import_cache` (:mod:`.importing`) puts an archive's
files into another machine's cache folder if that machine matches the manifest, and never a
damaged archive. :func:`describe_cache` and :func:`archive_manifest` say what a folder or an
archive holds.

What protects a cache folder's entries once they are in it: each consumer's own keys (jax's
saved graphs: a digest of the package version, model code, jax and torchax versions, configs,
dtype and platform; converted weights: the checkpoint files' identity, the package version and
code; jax's and Inductor's compiled code: keys with their versions and the device); and for the
files an import put there, :func:`~fastpitch_tpu.compile_cache.manifest.foreign_entry`, which the jax
backend asks before it uses a saved graph or converted weights.
"""

from __future__ import annotations

import contextlib
import gzip
import os
import tarfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastpitch_tpu.compile_cache.archive import (
    CacheArchiveError,
    Limits,
    open_archive,
    read_manifest,
)
from fastpitch_tpu.compile_cache.exporting import ExportReport, export_cache
from fastpitch_tpu.compile_cache.importing import ImportReport, import_cache
from fastpitch_tpu.compile_cache.manifest import (
    ACCELERATORS,
    differences,
    machine_facts,
    read_imports,
)

__all__ = ["CacheArchiveError", "CacheSummary", "ExportReport", "ImportReport", "Limits",
           "archive_differences", "archive_manifest", "describe_cache", "describe_facts",
           "export_cache", "human_bytes", "import_cache", "manifest_lines", "summary_lines"]

def archive_manifest(archive: str | os.PathLike[str],
                     limits: Limits | None = None) -> dict[str, Any]:
    """The manifest of ``archive`` (read from its start, not the whole file)."""
    source = Path(archive)
    if not source.is_file():
        raise FileNotFoundError(f"no such archive: {source}")
    limits = limits or Limits()
    try:
        with open_archive(source, limits) as (tar, _):
            return read_manifest(tar, limits)
    except (CacheArchiveError, tarfile.TarError, EOFError, zlib.error, gzip.BadGzipFile,
            UnicodeError) as e:
        raise CacheArchiveError(f"{source}: not a readable compile cache archive "
                                f"({' '.join(str(e).split()) or type(e).__name__})") from None


@dataclass
class CacheSummary:
    """What a cache folder holds: files and bytes in all and by top-level folder (``""``: the
    files at its top, jax's compiled code among them), and its imports, each with what differs
    from this machine now (empty: it matches)."""

    folder: Path
    files: int = 0
    bytes: int = 0
    parts: dict[str, list[int]] = field(default_factory=dict)
    imports: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)


def describe_cache(cache_dir: str | os.PathLike[str]) -> CacheSummary:
    """What the cache folder ``cache_dir`` holds (it may not exist). An import's accelerators
    are queried to compare them with this machine's."""
    root = Path(cache_dir)
    summary = CacheSummary(root)
    for folder, _, names in os.walk(root):
        for name in names:
            path = Path(folder) / name
            with contextlib.suppress(OSError):
                size = path.lstat().st_size
                rel = path.relative_to(root)
                part = summary.parts.setdefault(rel.parts[0] if len(rel.parts) > 1 else "",
                                                [0, 0])
                part[0] += 1
                part[1] += size
                summary.files += 1
                summary.bytes += size
    for record in read_imports(root):
        accepted = record.get("accepted") or {}
        probe = [k for k in (accepted.get("accelerators") or {}) if k in ACCELERATORS]
        summary.imports.append((record, differences(accepted, machine_facts(probe=probe))))
    return summary


def archive_differences(manifest: dict[str, Any]) -> list[str]:
    """What differs between the machine that made an archive (its ``manifest``) and this one,
    querying the accelerators the manifest names."""
    made = manifest["environment"]
    return differences(made, machine_facts(
        probe=[k for k in made["accelerators"] if k in ACCELERATORS]))


# -------------------------------------------------------------------------------------------
# Reports, as the command line prints them


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    raise AssertionError("unreachable")


def _files(n: int) -> str:
    return f"{n} file" if n == 1 else f"{n} files"


def describe_facts(env: dict[str, Any]) -> str:
    """An environment's facts on one line."""
    packages = ", ".join(f"{k} {v}" for k, v in sorted((env.get("packages") or {}).items()))
    devices = ", ".join(f"{k}: {'none' if v is None else ' '.join(map(str, v.values()))}"
                        for k, v in sorted((env.get("accelerators") or {}).items()))
    return (f"fastpitch-tpu {env.get('fastpitch_tpu')} (code {env.get('code')}), "
            f"{env.get('python')}, {env.get('os')} {env.get('machine')}"
            + (f", {packages}" if packages else "") + f"; accelerators: {devices or 'none'}")


def summary_lines(summary: CacheSummary) -> list[str]:
    """``fastpitch-tpu cache info``: a cache folder's size, parts and imports."""
    if not summary.files:
        return [f"{summary.folder}: no compile cache files"]
    lines = [f"{summary.folder}: {_files(summary.files)}, {human_bytes(summary.bytes)}"]
    for part, (count, size) in sorted(summary.parts.items()):
        name = f"{part}/" if part else "(top level)"
        lines.append(f"  {name} {_files(count)}, {human_bytes(size)}")
    for record, differ in summary.imports:
        state = ("matches this machine" if not differ else
                 f"does not match this machine ({'; '.join(differ)}): its files are not used")
        lines.append(f"  imported {_files(len(record['files']))} from {record.get('archive')} "
                     f"on {record.get('imported')}: {state}")
    return lines


def manifest_lines(archive: Path, manifest: dict[str, Any], differ: list[str]) -> list[str]:
    """``fastpitch-tpu cache info FILE``: an archive's contents and the machine that made it."""
    total = sum(entry["size"] for entry in manifest["files"].values())
    state = ("matches this machine" if not differ
             else f"does not match this machine: {'; '.join(differ)}")
    return [f"{archive}: a compile cache of {_files(len(manifest['files']))}, "
            f"{human_bytes(total)}, made {manifest.get('created')}",
            f"  made with {describe_facts(manifest['environment'])}", f"  {state}"]
