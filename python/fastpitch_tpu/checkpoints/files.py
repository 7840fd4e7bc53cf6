"""Reading checkpoint files without running code: PyTorch pickles, safetensors, ``.nemo`` tars.

Pickles are read with ``torch.load(..., weights_only=True)`` only (tensors and plain containers;
anything else is refused), ``.nemo`` archives are read in memory after every member is checked (no
absolute paths, no ``..``, no links or devices, size limits) and their YAML with
``yaml.safe_load``. Every failure is a :class:`~fastpitch_tpu.errors.CheckpointError` naming the
file.
"""

from __future__ import annotations

import io
import os
import pickle
import re
import tarfile
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import IO, Any

import safetensors
import safetensors.torch
import torch
import yaml
from torch import Tensor, nn

from fastpitch_tpu.errors import CheckpointError

__all__ = [
    "MAX_ARCHIVE_MEMBER_BYTES",
    "is_nemo_archive",
    "load_checkpoint_file",
    "load_state_strict",
    "read_nemo_archive",
    "safetensors_metadata",
]

MAX_ARCHIVE_MEMBER_BYTES = 4 << 30
"""Largest member read from a ``.nemo`` archive (and largest download), in bytes."""

_MAX_ARCHIVE_MEMBERS = 10_000


def load_checkpoint_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a PyTorch pickle (``torch.load(weights_only=True)``) or a ``.safetensors`` file.

    Returns the top-level dict. Raises :class:`CheckpointError` for anything unreadable, truncated,
    not a dict, or containing objects other than tensors and plain containers.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    if p.suffix == ".safetensors":
        try:
            return dict(safetensors.torch.load_file(str(p), device="cpu"))
        except Exception as e:  # safetensors raises its own SafetensorError and OSError
            raise CheckpointError(f"{p}: not a valid safetensors file ({e})") from e
    with open(p, "rb") as f:
        return _torch_load(f, str(p))


def _torch_load(f: IO[bytes], name: str) -> dict[str, Any]:
    try:
        obj = torch.load(f, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        if "weights only" not in str(e).lower():
            raise CheckpointError(f"{name}: not a readable PyTorch checkpoint ({e})") from e
        found = re.search(r"GLOBAL ([\w.]+)", str(e))
        what = f" (it references {found.group(1)})" if found else ""
        raise CheckpointError(
            f"{name}: refused to load: the pickle holds objects other than tensors and plain "
            f"containers{what}; checkpoints are only read with torch.load(weights_only=True)"
        ) from e
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, KeyError) as e:
        raise CheckpointError(f"{name}: not a readable PyTorch checkpoint ({e})") from e
    if not isinstance(obj, dict):
        raise CheckpointError(f"{name}: expected a dict at the top level, got {type(obj).__name__}")
    return obj


def _archive_name(member: tarfile.TarInfo) -> PurePosixPath:
    name = member.name
    path = PurePosixPath(name)
    if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in path.parts:
        raise CheckpointError(f"unsafe path in archive: {name!r}")
    if "\\" in name:
        raise CheckpointError(f"unsafe path in archive: {name!r}")
    if not (member.isfile() or member.isdir()):
        kind = "link" if member.issym() or member.islnk() else "special file"
        raise CheckpointError(f"archive member {name!r} is a {kind}; only files are allowed")
    return PurePosixPath(*[part for part in path.parts if part != "."])


def read_nemo_archive(
    path: str | os.PathLike[str], *, max_member_bytes: int = MAX_ARCHIVE_MEMBER_BYTES
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a NeMo ``.nemo`` archive (tar, optionally gzipped) without extracting it to disk.

    Every member is checked first: absolute paths, ``..``, links, devices and members larger than
    ``max_member_bytes`` make the whole archive rejected. Returns the parsed ``model_config.yaml``
    (``yaml.safe_load``) and the ``model_weights.ckpt`` dict (``weights_only`` unpickling).
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    try:
        with tarfile.open(p, mode="r:*") as tar:
            members: dict[str, tarfile.TarInfo] = {}
            for count, member in enumerate(tar, start=1):
                if count > _MAX_ARCHIVE_MEMBERS:
                    raise CheckpointError(f"{p}: more than {_MAX_ARCHIVE_MEMBERS} archive members")
                name = _archive_name(member)
                if member.isfile():
                    if member.size > max_member_bytes:
                        raise CheckpointError(
                            f"{p}: archive member {member.name!r} is {member.size} bytes, "
                            f"over the {max_member_bytes}-byte limit"
                        )
                    members[str(name)] = member
            blobs = {}
            for wanted in ("model_config.yaml", "model_weights.ckpt"):
                found = members.get(wanted)
                if found is None:
                    raise CheckpointError(
                        f"{p}: not a NeMo archive: no {wanted} (members: "
                        f"{', '.join(sorted(members)[:10]) or 'none'})"
                    )
                f = tar.extractfile(found)
                assert f is not None  # regular file, checked above
                blobs[wanted] = f.read(found.size)
    except CheckpointError as e:
        if str(p) in str(e):
            raise
        raise CheckpointError(f"{p}: {e}") from None
    except (tarfile.TarError, EOFError, OSError, zlib.error) as e:
        raise CheckpointError(f"{p}: not a readable .nemo (tar) archive ({e})") from e
    try:
        config = yaml.safe_load(blobs["model_config.yaml"].decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise CheckpointError(f"{p}: model_config.yaml is not valid YAML ({e})") from e
    if not isinstance(config, dict):
        raise CheckpointError(f"{p}: model_config.yaml is not a mapping")
    state = _torch_load(io.BytesIO(blobs["model_weights.ckpt"]), f"{p}:model_weights.ckpt")
    return config, state



def is_nemo_archive(path: Path) -> bool:
    """True for a ``.nemo`` file or any tar archive (zip-based PyTorch files excluded)."""
    return path.suffix == ".nemo" or (tarfile.is_tarfile(path) and not zipfile.is_zipfile(path))


def safetensors_metadata(path: Path) -> dict[str, str]:
    """The string metadata of a safetensors file (empty if none)."""
    try:
        with safetensors.safe_open(str(path), framework="pt") as f:
            return dict(f.metadata() or {})
    except Exception as e:  # safetensors raises its own SafetensorError
        raise CheckpointError(f"{path}: not a valid safetensors file ({e})") from e


def load_state_strict(model: nn.Module, state: Mapping[str, Tensor], name: str, what: str) -> None:
    """Copy ``state`` into ``model``: every key must exist on both sides with the same shape.

    Otherwise raises :class:`CheckpointError` listing the missing keys, the unexpected keys and
    the shape mismatches (``what`` names the model in the message).
    """
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    mismatched = [
        f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in sorted(set(state) & set(expected))
        if state[k].shape != expected[k].shape
    ]
    if missing or unexpected or mismatched:
        parts = []
        for label, items in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("shape mismatches", mismatched),
        ):
            if items:
                more = f" (+{len(items) - 10} more)" if len(items) > 10 else ""
                parts.append(f"{label}: {', '.join(items[:10])}{more}")
        raise CheckpointError(
            f"{name}: checkpoint does not fit the {what} of the given config; " + "; ".join(parts)
        )
    with torch.no_grad():
        for key, target in expected.items():
            target.copy_(state[key].to(target.dtype))
