"""What makes a compile cache valid on a machine, and which files of a cache folder were imported
for another one.

A compile cache folder holds what the backends derived on one machine (saved and compiled graphs,
converted weights), good only with the same software and, for compiled code, the same
accelerator. :func:`machine_facts` names those: this package's version and code, Python, the
versions of the compilers' packages, the OS and processor, and the accelerator. An archive of a
cache (:mod:`fastpitch_tpu.compile_cache`) carries the facts of the machine that made it; an
import into a folder records in it (:data:`IMPORTS_FILE`) the facts of the machine that accepted
it, the files it put there and the modification time it gave them.

:func:`foreign_entry` lets a reader of the cache (the jax backend's saved graphs and converted
weights) skip a file that an import put there for facts this machine no longer has (versions
changed since, or the folder was copied to another machine): the reader makes it again, which
replaces it with this machine's own (a new modification time). The check costs one ``stat`` of the
records file per lookup, and reads the records once per change of that file.

This module imports nothing above it, so every layer may use it.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import logging
import os
import platform
import sys
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastpitch_tpu.atomic_files import write_atomic
from fastpitch_tpu.source_digest import source_digest
from fastpitch_tpu.version import __version__

__all__ = ["ACCELERATORS", "IMPORTS_FILE", "STAGING_PREFIX", "accelerator_facts", "differences",
           "foreign_entry", "foreign_files", "machine_facts", "read_imports", "record_import",
           "software_facts"]

log = logging.getLogger("fastpitch_tpu")

IMPORTS_FILE = "fastpitch-imports.json"
"""The records of the imports into a cache folder, at its top."""
STAGING_PREFIX = ".fastpitch-import-"
"""Names the folder inside the cache where an import writes its files before moving them in."""

PACKAGES = ("torch", "triton", "torchax", "jax", "jaxlib", "jax-cuda12-plugin",
            "jax-cuda12-pjrt", "jax-cuda13-plugin", "jax-cuda13-pjrt", "libtpu", "torch_xla")
"""The packages whose versions a cache entry may depend on (those installed are recorded)."""
ACCELERATORS = ("cuda", "jax")
"""The accelerator queries: PyTorch's first CUDA device, jax's default backend and device."""


@functools.cache
def software_facts() -> dict[str, Any]:
    """This machine's software: reading package metadata and this package's code, importing
    nothing."""
    packages: dict[str, str] = {}
    for name in PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return {
        "fastpitch_tpu": __version__,
        # the code the cache's keys depend on (the models, their loaders), for builds that
        # share a version number
        "code": source_digest("models", "checkpoints")[:16],
        "python": f"{sys.implementation.name}-{sys.version_info[0]}.{sys.version_info[1]}",
        "os": platform.system(),
        "machine": platform.machine(),
        "packages": packages,
    }


def _cuda() -> dict[str, str] | None:
    import torch

    if not torch.cuda.is_available():
        return None
    props = torch.cuda.get_device_properties(0)
    return {"device": str(props.name), "capability": f"{props.major}.{props.minor}"}


def _cuda_running() -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and bool(torch.cuda.is_initialized())


def _jax() -> dict[str, str]:
    # As the jax backend does: a query must not reserve most of the GPU's memory.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    import jax

    return {"backend": str(jax.default_backend()), "device": str(jax.devices()[0].device_kind)}


def _jax_running() -> bool:
    if "jax" not in sys.modules:
        return False
    try:
        from jax._src import xla_bridge

        return bool(xla_bridge.backends_are_initialized())
    except Exception:  # a jax without this (internal) query: treat it as not running
        return False


_QUERIES = {"cuda": (_cuda, _cuda_running), "jax": (_jax, _jax_running)}


def accelerator_facts(probe: Collection[str] = ()) -> dict[str, Any]:
    """The accelerators' identities: those named in ``probe`` (of :data:`ACCELERATORS`) queried,
    which starts their runtime (and imports PyTorch or jax) if it is not running yet; the others
    only where their runtime already runs. A runtime that is not installed is left out; ``None``
    means installed without a device (no CUDA GPU)."""
    facts: dict[str, Any] = {}
    for name, (query, running) in _QUERIES.items():
        if name not in probe and not running():
            continue
        try:
            facts[name] = query()
        except ImportError:
            pass
        except Exception as e:  # a runtime that fails to start: its identity stays unknown
            log.warning("could not query the %s device (%s)", name, " ".join(str(e).split()))
    return facts


def machine_facts(probe: Collection[str] = ()) -> dict[str, Any]:
    """This machine's facts: :func:`software_facts` with ``accelerators``
    (:func:`accelerator_facts` of ``probe``)."""
    return {**software_facts(), "accelerators": accelerator_facts(probe)}


def _describe(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, Mapping):
        return " ".join(str(v) for v in value.values())
    return str(value)


_LABELS = {"fastpitch_tpu": "fastpitch-tpu", "code": "fastpitch-tpu code", "python": "Python",
           "os": "OS", "machine": "processor"}
_ACCELERATOR_LABELS = {"cuda": "CUDA device", "jax": "jax device"}


def differences(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """What differs between facts recorded elsewhere and ``current`` ones, each as ``"what
    recorded vs current here"``; empty where they match. Accelerators are compared where both
    name them (an accelerator that was not queried is not known to differ)."""
    found = []
    for key, label in _LABELS.items():
        if recorded.get(key) != current.get(key):
            found.append(f"{label} {_describe(recorded.get(key))} vs "
                         f"{_describe(current.get(key))} here")
    ours, theirs = dict(current.get("packages") or {}), dict(recorded.get("packages") or {})
    for name in sorted(set(ours) | set(theirs)):
        if ours.get(name) != theirs.get(name):
            found.append(f"{name} {theirs.get(name, 'absent')} vs {ours.get(name, 'absent')} "
                         "here")
    devices, recorded_devices = (dict(current.get("accelerators") or {}),
                                 dict(recorded.get("accelerators") or {}))
    for name in sorted(set(devices) & set(recorded_devices)):
        if devices[name] != recorded_devices[name]:
            label = _ACCELERATOR_LABELS.get(name, name)
            found.append(f"{label} {_describe(recorded_devices[name])} vs "
                         f"{_describe(devices[name])} here")
    return found


# -------------------------------------------------------------------------------------------
# The records of the imports into a folder


def read_imports(root: Path) -> list[dict[str, Any]]:
    """The import records of the cache folder ``root`` (none: empty); a damaged records file
    counts as none (its files are then this machine's own)."""
    try:
        records = json.loads((root / IMPORTS_FILE).read_text(encoding="utf-8"))["imports"]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as e:
        log.warning("ignoring %s (%s)", root / IMPORTS_FILE, e)
        return []
    if not isinstance(records, list):
        return []
    return [r for r in records if isinstance(r, dict) and isinstance(r.get("files"), dict)
            and _facts_shape(r.get("accepted"))]


def _facts_shape(facts: Any) -> bool:
    """Whether recorded facts have the shape :func:`differences` compares."""
    return (isinstance(facts, dict) and isinstance(facts.get("packages"), dict)
            and isinstance(facts.get("accelerators"), dict))


def _stamped(root: Path, record: Mapping[str, Any]) -> dict[str, int]:
    """The files of ``record`` that still carry the import's modification time (size by path):
    the others were replaced here, or removed."""
    stamp, kept = record.get("stamp_ns"), {}
    for rel, size in record["files"].items():
        try:
            st = (root / rel).stat()
        except (OSError, ValueError):
            continue
        if st.st_mtime_ns == stamp and st.st_size == size:
            kept[rel] = size
    return kept


def record_import(root: Path, record: dict[str, Any]) -> None:
    """Adds ``record`` (``archive``, ``origin`` and ``accepted`` facts, ``stamp_ns``,
    ``files``: size by path) to the folder's records, dropping the records none of whose files
    are left as imported."""
    records = [r for r in read_imports(root) if _stamped(root, r)]
    records.append(record)
    write_atomic(root / IMPORTS_FILE, json.dumps({"imports": records}, indent=1))


def foreign_files(root: Path, current: Mapping[str, Any] | None = None) -> dict[str, list[str]]:
    """The files of the cache folder ``root`` that an import put there for other facts than
    ``current`` ones (default: :func:`machine_facts` without starting any accelerator), each
    with the differences, by path."""
    facts = machine_facts() if current is None else current
    found: dict[str, list[str]] = {}
    for record in read_imports(root):
        differ = differences(record.get("accepted") or {}, facts)
        if differ:
            found.update(dict.fromkeys(_stamped(root, record), differ))
    return found


@dataclass
class _Foreign:
    """A folder's foreign files (size and modification time by path), as of one state of its
    records file."""

    state: tuple[int, int] | None
    files: dict[str, tuple[int, int]] = field(default_factory=dict)
    reasons: list[str] = field(default_factory=list)
    warned: bool = False


_views: dict[Path, _Foreign] = {}
_lock = threading.Lock()


def _view(root: Path) -> _Foreign:
    try:
        st = (root / IMPORTS_FILE).stat()
        state: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
    except OSError:
        state = None
    with _lock:
        view = _views.get(root)
        if view is not None and view.state == state:
            return view
        view = _views[root] = _Foreign(state)
        if state is None:
            return view
        facts = machine_facts()
        for record in read_imports(root):
            differ = differences(record.get("accepted") or {}, facts)
            if differ:
                stamp = int(record.get("stamp_ns") or 0)
                view.files.update({rel: (size, stamp) for rel, size in record["files"].items()})
                view.reasons = differ
        return view


def foreign_entry(path: Path, levels: int) -> bool:
    """Whether ``path``, a file ``levels`` folders below the top of a cache folder (e.g. 2 for
    ``graphs/<digest>/<file>``), is one an import put there for other facts than this
    machine's (one warning per folder). Not using it is the caller's part."""
    if len(path.parents) <= levels:
        return False
    root = path.parents[levels]
    view = _view(root)
    if not view.files:
        return False
    try:
        expected = view.files.get(path.relative_to(root).as_posix())
        st = path.stat() if expected is not None else None
    except (OSError, ValueError):
        return False
    if st is None or expected != (st.st_size, st.st_mtime_ns):
        return False
    with _lock:
        warn, view.warned = not view.warned, True
    if warn:
        log.warning("the compile cache %s holds files imported for another machine or other "
                    "versions (%s); they are not used here, each is made again when needed",
                    root, "; ".join(view.reasons))
    return True
