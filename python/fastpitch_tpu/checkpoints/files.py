"""Reading checkpoint files without running code: PyTorch pickles, safetensors, ``.nemo`` tars.

Pickles are read with ``torch.load(..., weights_only=True)`` only (tensors and plain containers;
anything else is refused), ``.nemo`` archives are read in memory after every member is checked (no
absolute paths, no ``..``, no links or devices, size limits) and their YAML with
``yaml.safe_load``. Every failure is a :class:`~fastpitch_tpu.errors.CheckpointError` naming the
file, on one line: whatever a damaged file makes the underlying readers raise is turned into one by
:func:`checkpoint_errors`, with the original exception's type and first words as the reason.
Models are first built on PyTorch's ``meta`` device and checked against the checkpoint's keys and
shapes (:func:`build_model`), so a config that does not fit the stored tensors never allocates.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import re
import tarfile
import zipfile
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import IO, Any, TypeVar

import safetensors
import safetensors.torch
import torch
import yaml
from torch import Tensor, nn
from torch.overrides import TorchFunctionMode

from fastpitch_tpu.errors import CheckpointError

__all__ = [
    "MAX_ARCHIVE_MEMBER_BYTES",
    "build_model",
    "checkpoint_errors",
    "is_nemo_archive",
    "load_checkpoint_file",
    "load_state_strict",
    "one_line",
    "read_nemo_archive",
    "safetensors_metadata",
    "tensor_state",
]

MAX_ARCHIVE_MEMBER_BYTES = 4 << 30
"""Largest member read from a ``.nemo`` archive (and largest download), in bytes."""

_MAX_ARCHIVE_MEMBERS = 10_000

M = TypeVar("M", bound=nn.Module)


# --------------------------------------------------------------------------------------------
# Errors


def one_line(text: str) -> str:
    """``text`` with its line breaks (any of ``str.splitlines``') and indentation made single
    spaces."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _reason(error: BaseException, limit: int = 200) -> str:
    """``Type: message`` of an exception raised by a reader, on one line, cut at ``limit``."""
    message = one_line(str(error))
    if len(message) > limit:
        message = message[: limit - 3].rstrip() + "..."
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


@contextlib.contextmanager
def checkpoint_errors(name: str, what: str) -> Iterator[None]:
    """Every failure inside becomes a :class:`CheckpointError` whose one-line message starts
    with ``name``.

    A ``CheckpointError`` keeps its message (put on one line, ``name`` added if missing); any
    other exception -- the parsers of pickles, tar, YAML and safetensors raise all kinds on damaged
    input, and so does interpreting a damaged but parseable file -- gives
    ``"{name}: {what} (Type: message)"``, the original chained as its cause.
    """
    try:
        yield
    except CheckpointError as e:
        message = one_line(str(e))
        if name not in message:
            message = f"{name}: {message}"
        if message == str(e):
            raise
        raise CheckpointError(message) from e
    except Exception as e:
        raise CheckpointError(f"{name}: {what} ({_reason(e)})") from e


# --------------------------------------------------------------------------------------------
# Files


def load_checkpoint_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a PyTorch pickle (``torch.load(weights_only=True)``) or a ``.safetensors`` file.

    Returns the top-level dict. Raises :class:`CheckpointError` for anything unreadable, truncated,
    not a dict, or containing objects other than tensors and plain containers.
    """
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"checkpoint not found: {p}")
    if p.suffix == ".safetensors":
        with checkpoint_errors(str(p), "not a valid safetensors file"):
            return dict(safetensors.torch.load_file(str(p), device="cpu"))
    with checkpoint_errors(str(p), "not a readable PyTorch checkpoint"), open(p, "rb") as f:
        return _torch_load(f, str(p))


def _torch_load(f: IO[bytes], name: str) -> dict[str, Any]:
    try:
        obj = torch.load(f, map_location="cpu", weights_only=True)
    except Exception as e:  # a damaged pickle or zip fails anywhere in torch's reader
        if isinstance(e, pickle.UnpicklingError) and "weights only" in str(e).lower():
            found = re.search(r"GLOBAL ([\w.]+)", str(e))
            what = f" (it references {found.group(1)})" if found else ""
            raise CheckpointError(
                f"{name}: refused to load: the pickle holds objects other than tensors and plain "
                f"containers{what}; checkpoints are only read with torch.load(weights_only=True)"
            ) from e
        raise CheckpointError(f"{name}: not a readable PyTorch checkpoint ({_reason(e)})") from e
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
    with checkpoint_errors(str(p), "not a readable .nemo (tar) archive"):
        blobs = _nemo_members(p, max_member_bytes)
    with checkpoint_errors(f"{p}:model_config.yaml", "not valid YAML"):
        config = yaml.safe_load(blobs["model_config.yaml"].decode("utf-8"))
    if not isinstance(config, dict):
        raise CheckpointError(f"{p}: model_config.yaml is not a mapping")
    state = _torch_load(io.BytesIO(blobs["model_weights.ckpt"]), f"{p}:model_weights.ckpt")
    return config, state


def _nemo_members(p: Path, max_member_bytes: int) -> dict[str, bytes]:
    """The config and weights members of a ``.nemo`` archive, every member checked first."""
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
            blob = f.read(found.size)
            if len(blob) != found.size:
                raise CheckpointError(f"{p}: archive member {wanted} is truncated")
            blobs[wanted] = blob
    return blobs


def is_nemo_archive(path: Path) -> bool:
    """True for a ``.nemo`` file or any tar archive (zip-based PyTorch files excluded)."""
    return path.suffix == ".nemo" or (tarfile.is_tarfile(path) and not zipfile.is_zipfile(path))


def safetensors_metadata(path: Path) -> dict[str, str]:
    """The string metadata of a safetensors file (empty if none)."""
    with checkpoint_errors(str(path), "not a valid safetensors file"):
        with safetensors.safe_open(str(path), framework="pt") as f:
            return {str(k): str(v) for k, v in (f.metadata() or {}).items()}


# --------------------------------------------------------------------------------------------
# State dicts and models


def tensor_state(raw: object, name: str) -> dict[str, Tensor]:
    """``raw`` as a state dict: a mapping of string keys to tensors that hold their own data.

    Raises :class:`CheckpointError` for anything else, including a tensor with more elements
    than its stored data (an expanded view: it would let a tiny file ask for a huge model).
    """
    if not isinstance(raw, Mapping):
        raise CheckpointError(f"{name}: expected a state dict, found a {type(raw).__name__}")
    odd_keys = [repr(k) for k in raw if not isinstance(k, str)]
    if odd_keys:
        raise CheckpointError(
            f"{name}: state dict keys must be strings; found {', '.join(odd_keys[:8])}"
        )
    bad = [k for k, v in raw.items() if not isinstance(v, Tensor)]
    if bad:
        raise CheckpointError(
            f"{name}: expected a state dict of tensors; non-tensor entries: {', '.join(bad[:8])}"
        )
    state: dict[str, Tensor] = dict(raw)
    for key, value in state.items():
        if value.numel() * value.element_size() > value.untyped_storage().nbytes():
            raise CheckpointError(f"{name}: tensor {key} of shape {tuple(value.shape)} has more "
                                  "elements than its stored data")
    return state


class _ShapesOnly(TorchFunctionMode):
    """Skips the in-place operations (weight initialization) on meta tensors: only the shapes
    of a skeleton are needed, and running those operations on the meta device would load
    PyTorch's Python meta kernels (sympy and more), which stay in the process's memory."""

    def __torch_function__(self, func: Any, types: Any, args: Any = (),
                           kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        name = getattr(func, "__name__", "")
        target = args[0] if args else kwargs.get("tensor")  # torch.nn.init passes tensor=
        inplace = name.endswith("_") and not name.endswith("__")
        if inplace and isinstance(target, Tensor) and target.is_meta:
            return target
        return func(*args, **kwargs)


def build_model(factory: Callable[[], M], state: Mapping[str, Tensor], name: str,
                what: str) -> M:
    """``factory()`` with ``state`` copied in (see :func:`load_state_strict`).

    The model is first built on the ``meta`` device and checked against ``state``: only a config
    whose every tensor fits the checkpoint's is built for real (so a damaged config asking for a
    model far larger than the file fails before allocating anything).
    """
    with torch.device("meta"), _ShapesOnly():
        skeleton = factory()
    _check_state(skeleton.state_dict(), state, name, what)
    model = factory()
    load_state_strict(model, state, name, what)
    return model


def load_state_strict(model: nn.Module, state: Mapping[str, Tensor], name: str, what: str) -> None:
    """Copy ``state`` into ``model``: every key must exist on both sides with the same shape.

    Otherwise raises :class:`CheckpointError` listing the missing keys, the unexpected keys and
    the shape mismatches (``what`` names the model in the message).
    """
    expected = model.state_dict()
    _check_state(expected, state, name, what)
    with torch.no_grad():
        for key, target in expected.items():
            target.copy_(state[key].to(target.dtype))


def _check_state(expected: Mapping[str, Tensor], state: Mapping[str, Tensor], name: str,
                 what: str) -> None:
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
