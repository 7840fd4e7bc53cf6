"""FastPitch checkpoints: DeepLearningExamples, NeMo and our format.

:func:`load_fastpitch` returns a ready :class:`~fastpitch_tpu.models.FastPitch` (CPU, float32,
eval mode) from any of:

- a built-in voice name (``"default"``: the voice shipped in the package, see
  :mod:`fastpitch_tpu.voices`);
- a hub name (:data:`~fastpitch_tpu.checkpoints.HUB`: ``"nvidia/tts_en_fastpitch"``,
  ``"nvidia/fastpitch_pyt_fp32_ckpt_v1_1"`` ...) or an ``https://`` / ``file://`` URL;
- a DeepLearningExamples FastPitch 1.x checkpoint (``nvidia_fastpitch_210824.pt`` or one written
  by its ``train.py``: ``{"state_dict": ..., "config": ...}``, keys possibly prefixed ``module.``).
  Without a stored config the architecture is read off the tensor shapes, with DeepLearningExamples'
  defaults for what shapes cannot tell (one attention head per layer);
- a NeMo ``.nemo`` archive of a ``FastPitchModel`` (``model_config.yaml`` + ``model_weights.ckpt``
  with ``fastpitch.*`` keys), or its Lightning ``.ckpt`` (``state_dict`` + ``hyper_parameters``);
- our format written by :func:`export_fastpitch` (safetensors with the config as JSON metadata).

Training-only tensors (the alignment module, NeMo's audio preprocessor, optimizer state) are
skipped with a log line. ``config=`` (a :class:`FastPitchConfig` or a mapping of fields to
override, e.g. ``{"padding_idx": 0}``) takes precedence over what the file says.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
from torch import Tensor

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
from fastpitch_tpu.models.fastpitch import FastPitch, FastPitchConfig, FFTConfig, PredictorConfig
from fastpitch_tpu.voices import BUILTIN_VOICES, builtin_voice

__all__ = ["FORMAT", "export_fastpitch", "load_fastpitch"]

FORMAT = "fastpitch_tpu.fastpitch/1"
"""Value of the ``format`` metadata entry in files written by :func:`export_fastpitch`."""

log = logging.getLogger("fastpitch_tpu")

ConfigLike = FastPitchConfig | Mapping[str, Any]

# Tensors that belong to training (or that the model recomputes) rather than to inference.
_SKIPPED = re.compile(
    r"^(attention\.|aligner\.|preprocessor\.|mel_loss|pitch_loss|duration_loss|energy_loss"
    r"|bin_loss|forward_sum_loss)"
)
# Buffers the model recomputes instead of loading.
_RECOMPUTED = re.compile(r"^(encoder|decoder)\.pos_emb\.inv_freq$")

# NeMo text tokenizer class -> our frontend flavor.
_NEMO_TOKENIZERS = {
    "EnglishPhonemesTokenizer": "nemo_arpabet",
    "IPATokenizer": "nemo_ipa",
}


# --------------------------------------------------------------------------------------------
# State dicts


def _model_state(raw: Mapping[str, Tensor], name: str) -> dict[str, Tensor]:
    """Strip ``module.`` / ``fastpitch.`` prefixes and drop training-only tensors."""
    state = dict(raw)
    outside: list[str] = []
    if any(k.startswith("fastpitch.") for k in state):  # NeMo FastPitchModel
        outside = [k for k in state if not k.startswith("fastpitch.")]
        state = {k[len("fastpitch."):]: v for k, v in state.items() if k.startswith("fastpitch.")}
    if state and all(k.startswith("module.") for k in state):  # DistributedDataParallel
        state = {k[len("module."):]: v for k, v in state.items()}
    if any(k.startswith("speaker_encoder.") for k in state):
        raise CheckpointError(
            f"{name}: the model has a reference-audio speaker encoder (speaker_encoder.*), which "
            "is not supported; speakers by id (speaker_emb) are"
        )
    skipped = sorted(k for k in state if _SKIPPED.match(k))
    if skipped or outside:
        groups = sorted({k.split(".")[0] for k in skipped + outside})
        log.info("%s: skipped %d training-only tensors (%s)", name, len(skipped) + len(outside),
                 ", ".join(groups))
    drop = set(skipped)
    return {k: v for k, v in state.items() if k not in drop and not _RECOMPUTED.match(k)}


# --------------------------------------------------------------------------------------------
# Configs


def _count(state: Mapping[str, Tensor], pattern: str) -> int:
    """How many layers the keys matching ``pattern`` number (0, 1, ... n-1, none skipped)."""
    rx = re.compile(pattern)
    found = {int(m.group(1)) for k in state if (m := rx.match(k))}
    if found != set(range(len(found))):
        missing = sorted(set(range(max(found))) - found)[:5]
        raise CheckpointError(f"layers numbered up to {max(found)} but layer(s) "
                              f"{', '.join(map(str, missing))} missing ({pattern})")
    return len(found)


def _predictor_from_state(state: Mapping[str, Tensor], prefix: str, dropout: float,
                          condition_types: tuple[str, ...] = ()) -> PredictorConfig | None:
    conv = state.get(f"{prefix}.layers.0.conv.weight")
    if conv is None:
        return None
    return PredictorConfig(
        filter_size=int(conv.shape[0]),
        kernel_size=int(conv.shape[2]),
        n_layers=_count(state, rf"^{re.escape(prefix)}\.layers\.(\d+)\.conv\.weight$"),
        dropout=dropout,
        condition_types=condition_types,
    )


def _fft_from_state(state: Mapping[str, Tensor], prefix: str, n_head: int, dropout: float,
                    dropatt: float, condition_types: tuple[str, ...] = ()) -> FFTConfig:
    qkv = state.get(f"{prefix}.layers.0.dec_attn.qkv_net.weight")
    ff1 = state.get(f"{prefix}.layers.0.pos_ff.CoreNet.0.weight")
    ff2 = state.get(f"{prefix}.layers.0.pos_ff.CoreNet.2.weight")
    if qkv is None or ff1 is None or ff2 is None:
        raise CheckpointError(f"no {prefix} transformer layers in the checkpoint")
    width = int(qkv.shape[0]) // 3
    if width % n_head:
        raise CheckpointError(f"{prefix}: attention width {width} is not a multiple of "
                              f"{n_head} heads")
    return FFTConfig(
        n_layer=_count(state, rf"^{re.escape(prefix)}\.layers\.(\d+)\.dec_attn\.qkv_net\.weight$"),
        n_head=n_head,
        d_head=width // n_head,
        d_inner=int(ff1.shape[0]),
        kernel_size=(int(ff1.shape[2]), int(ff2.shape[2])),
        dropout=dropout,
        dropatt=dropatt,
        condition_types=condition_types,
    )


def _dle_config(state: Mapping[str, Tensor], stored: Mapping[str, Any] | None) -> FastPitchConfig:
    """A DeepLearningExamples model's config: the stored one (``get_model_config`` keys) where
    present, the tensor shapes and the training script's defaults otherwise."""
    cfg: Mapping[str, Any] = stored or {}
    word = state.get("encoder.word_emb.weight")
    if word is None:
        raise CheckpointError("not a FastPitch checkpoint: no encoder.word_emb.weight")
    speakers = state.get("speaker_emb.weight")
    n_speakers = int(speakers.shape[0]) if speakers is not None else 1
    cond = ("add",) if n_speakers > 1 else ()

    def get(key: str, default: Any) -> Any:
        value = cfg.get(key)
        return default if value is None else value

    pitch = _predictor_from_state(state, "pitch_predictor",
                                  float(get("p_pitch_predictor_dropout", 0.1)))
    pitch_emb = state.get("pitch_emb.weight")
    if pitch_emb is not None and int(pitch_emb.shape[1]) != 1:
        raise CheckpointError("models conditioned on several pitch formants are not supported")
    duration = _predictor_from_state(state, "duration_predictor",
                                     float(get("p_dur_predictor_dropout", 0.1)))
    if pitch is None or duration is None:
        raise CheckpointError("not a FastPitch checkpoint: no duration or pitch predictor")
    energy = _predictor_from_state(state, "energy_predictor",
                                   float(get("p_energy_predictor_dropout", 0.1)))
    emb_k = state.get("energy_emb.weight")
    return FastPitchConfig(
        n_symbols=int(word.shape[0]),
        padding_idx=int(get("padding_idx", 0)),
        d_model=int(word.shape[1]),
        n_mel_channels=int(state["proj.weight"].shape[0]) if "proj.weight" in state else 80,
        encoder=_fft_from_state(state, "encoder", int(get("in_fft_n_heads", 1)),
                                float(get("p_in_fft_dropout", 0.1)),
                                float(get("p_in_fft_dropatt", 0.1)), cond),
        decoder=_fft_from_state(state, "decoder", int(get("out_fft_n_heads", 1)),
                                float(get("p_out_fft_dropout", 0.1)),
                                float(get("p_out_fft_dropatt", 0.1))),
        duration_predictor=duration,
        pitch_predictor=pitch,
        energy_predictor=energy,
        pitch_embedding_kernel_size=int(state["pitch_emb.weight"].shape[2])
        if "pitch_emb.weight" in state else 3,
        energy_embedding_kernel_size=int(emb_k.shape[2]) if emb_k is not None else 3,
        n_speakers=n_speakers,
        speaker_emb_weight=float(get("speaker_emb_weight", 1.0)),
        frontend="dle_arpabet" if int(word.shape[0]) == 148 else None,
    )


def _nemo_signal_settings(model: Mapping[str, Any],
                          pre: Mapping[str, Any]) -> dict[str, Any]:
    """The token-duration, pitch-normalisation and audio settings of a NeMo config (the
    model's section, else its preprocessor's, else NeMo's defaults) as FastPitchConfig
    fields."""

    def num(key: str, *aliases: str) -> Any:
        for k in (key, *aliases):
            for src in (model, pre):
                if src.get(k) is not None:
                    return src[k]
        return None

    def pick(value: Any, default: Any) -> Any:
        return default if value is None else value

    return {
        "min_token_duration": float(pick(model.get("min_token_duration"), 0.0)),
        "max_token_duration": float(pick(model.get("max_token_duration"), 75.0)),
        "pitch_mean": None if model.get("pitch_mean") is None else float(model["pitch_mean"]),
        "pitch_std": None if model.get("pitch_std") is None else float(model["pitch_std"]),
        "sample_rate": int(pick(num("sample_rate"), 22050)),
        "hop_length": int(pick(num("n_window_stride", "hop_length"), 256)),
        "win_length": int(pick(num("n_window_size", "win_length"), 1024)),
        "n_fft": int(pick(num("n_fft"), 1024)),
        "mel_fmin": float(pick(num("lowfreq", "mel_fmin"), 0.0)),
        "mel_fmax": None if num("highfreq", "mel_fmax") is None
        else float(num("highfreq", "mel_fmax")),
    }


def _nemo_config(cfg: Mapping[str, Any], state: Mapping[str, Tensor],
                 name: str) -> FastPitchConfig:
    """A NeMo ``FastPitchModel`` config (``model_config.yaml``) as ours."""
    model = cfg.get("model") if "input_fft" not in cfg else cfg
    if not isinstance(model, Mapping) or not isinstance(model.get("input_fft"), Mapping):
        raise CheckpointError(f"{name}: model_config.yaml has no FastPitch input_fft section")
    word = state.get("encoder.word_emb.weight")
    if word is None:
        raise CheckpointError(f"{name}: not a FastPitch checkpoint: no encoder.word_emb.weight")
    n_speakers = int(model.get("n_speakers") or 1)

    def section(key: str) -> Mapping[str, Any]:
        value = model.get(key)
        return value if isinstance(value, Mapping) else {}

    def types(sec: Mapping[str, Any], add: bool) -> tuple[str, ...]:
        found = list(sec.get("condition_types") or [])
        if add and "add" not in found:
            found.append("add")
        return tuple(found)

    enc, dec = section("input_fft"), section("output_fft")
    prosody = bool(model.get("speaker_emb_condition_prosody", False)) and n_speakers > 1
    decoder_cond = bool(model.get("speaker_emb_condition_decoder", False)) and n_speakers > 1

    def fft(sec: Mapping[str, Any], prefix: str, add: bool) -> FFTConfig:
        base = _fft_from_state(state, prefix, int(sec.get("n_head", 1)),
                               float(sec.get("dropout", 0.1)), float(sec.get("dropatt", 0.1)),
                               types(sec, add))
        return base if not sec.get("pre_lnorm") else FFTConfig(**{
            **{f: getattr(base, f) for f in base.__dataclass_fields__}, "pre_lnorm": True})

    def predictor(key: str) -> PredictorConfig | None:
        # FastPitchModel adds the speaker to the duration and pitch predictors' inputs when
        # speaker_emb_condition_prosody is set; the energy predictor keeps its own settings.
        sec = section(key)
        add = prosody and key != "energy_predictor"
        return _predictor_from_state(state, key, float(sec.get("dropout", 0.1)), types(sec, add))

    duration, pitch = predictor("duration_predictor"), predictor("pitch_predictor")
    if duration is None or pitch is None:
        raise CheckpointError(f"{name}: no duration or pitch predictor weights")
    pre = section("preprocessor")
    tokenizer = str(section("text_tokenizer").get("_target_", "")).rsplit(".", 1)[-1]
    frontend = _NEMO_TOKENIZERS.get(tokenizer)
    padding_idx = _nemo_padding_idx(model, word, frontend, name)

    return FastPitchConfig(
        n_symbols=int(word.shape[0]),
        padding_idx=padding_idx,
        d_model=int(word.shape[1]),
        n_mel_channels=int(state["proj.weight"].shape[0]),
        encoder=fft(enc, "encoder", n_speakers > 1),
        decoder=fft(dec, "decoder", decoder_cond),
        duration_predictor=duration,
        pitch_predictor=pitch,
        energy_predictor=predictor("energy_predictor"),
        pitch_embedding_kernel_size=int(state["pitch_emb.weight"].shape[2]),
        energy_embedding_kernel_size=int(state["energy_emb.weight"].shape[2])
        if "energy_emb.weight" in state else 3,
        n_speakers=n_speakers,
        **_nemo_signal_settings(model, pre),
        frontend=frontend if frontend and _vocab_size(frontend) == int(word.shape[0]) else None,
    )


@functools.lru_cache(maxsize=None)
def _frontend_shape(flavor: str) -> tuple[int, int] | None:
    """(vocabulary size, pad id) of our frontend ``flavor`` (built once per process)."""
    try:
        from fastpitch_tpu.frontend import TextFrontend

        fe = TextFrontend(flavor)
        return len(fe.vocab), int(fe.pad_id)
    except Exception:  # the frontend is optional here; a missing one only loses the hint
        return None


def _vocab_size(flavor: str) -> int | None:
    shape = _frontend_shape(flavor)
    return None if shape is None else shape[0]


def _nemo_padding_idx(model: Mapping[str, Any], word: Tensor, frontend: str | None,
                      name: str) -> int:
    """NeMo builds the embedding with the tokenizer's pad id, which the config does not store.

    Its text tokenizers append ``<pad>``, then ``<blank>`` if ``add_blank_at`` is set, then
    ``<oov>`` to their symbols, so the pad id follows from the vocabulary size; our matching
    frontend (when there is one) must agree.
    """
    explicit = model.get("input_fft", {}).get("padding_idx")
    if isinstance(explicit, int):
        return explicit
    n = int(word.shape[0])
    tokenizer = model.get("text_tokenizer")
    if isinstance(tokenizer, Mapping) and "tts_tokenizers" in str(tokenizer.get("_target_", "")):
        pad = n - 3 if tokenizer.get("add_blank_at") is not None else n - 2
        shape = _frontend_shape(frontend) if frontend is not None else None
        if shape is not None and shape[0] == n:
            ours = shape[1]
            if ours != pad:
                raise CheckpointError(f"{name}: padding id {pad} of the checkpoint's tokenizer "
                                      f"differs from {frontend}'s {ours}")
        return pad
    zero_rows = (word.abs().sum(dim=1) == 0).nonzero().flatten().tolist()
    if len(zero_rows) == 1:
        return int(zero_rows[0])
    raise CheckpointError(
        f"{name}: cannot tell the padding symbol id of this tokenizer; pass "
        "config={'padding_idx': N}"
    )


def _apply(base: FastPitchConfig | None, config: ConfigLike | None, name: str) -> FastPitchConfig:
    if isinstance(config, FastPitchConfig):
        return config
    try:
        if base is None:
            if config is None:
                raise ValueError("no config")
            return FastPitchConfig.from_dict(config)
        if config is None:
            return base
        merged = base.to_dict()
        for key, value in config.items():
            if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
                sub = {**merged[key], **value}
                if "n_head" in value and "d_head" not in value and "d_head" in merged[key]:
                    # Same attention width, split into a different number of heads.
                    width = merged[key]["n_head"] * merged[key]["d_head"]
                    sub["d_head"] = width // int(value["n_head"])
                merged[key] = sub
            else:
                merged[key] = value
        return FastPitchConfig.from_dict(merged)
    except (TypeError, ValueError) as e:
        raise CheckpointError(f"{name}: invalid FastPitch config: {e}") from e


# --------------------------------------------------------------------------------------------
# Public entry points


def load_fastpitch(
    source: str | os.PathLike[str],
    *,
    config: ConfigLike | None = None,
    sha256: str | None = None,
) -> FastPitch:
    """Load FastPitch from a file, a hub name or a URL (see the module documentation)."""
    if isinstance(source, str):
        if source in BUILTIN_VOICES:
            return _load_path(builtin_voice(source).path, config)
        if source in HUB:
            return _load_path(fetch_hub(source, "fastpitch", sha256), config)
        if re.match(r"^[a-z][a-z0-9+.-]*://", source):
            return _load_path(download(source, sha256=sha256), config)
    path = Path(source)
    if not path.exists():
        names = sorted(k for k, e in HUB.items() if e.kind == "fastpitch")
        raise FileNotFoundError(
            f"no checkpoint file {str(source)!r}; pass a local file path, a URL, a built-in "
            f"voice ({', '.join(BUILTIN_VOICES)}) or one of: " + ", ".join(names)
        )
    return _load_path(path, config)


def _load_path(path: Path, config: ConfigLike | None) -> FastPitch:
    """The model in the file at ``path``; every failure a one-line :class:`CheckpointError`."""
    name = str(path)
    if path.is_dir():
        raise CheckpointError(f"{name}: is a folder; pass the checkpoint file in it")
    with checkpoint_errors(name, "not a valid FastPitch checkpoint"):
        return _read(path, config, name)


def _read(path: Path, config: ConfigLike | None, name: str) -> FastPitch:
    base: FastPitchConfig | None
    if is_nemo_archive(path):
        yaml_cfg, obj = read_nemo_archive(path)
        raw = obj.get("state_dict", obj)
        state = _model_state(tensor_state(raw, name), name)
        base = _nemo_config(yaml_cfg, state, name)
    elif path.suffix == ".safetensors":
        state = _model_state(load_checkpoint_file(path), name)
        meta = safetensors_metadata(path)
        base = None
        if meta.get("format") == FORMAT:
            try:
                base = FastPitchConfig.from_dict(json.loads(meta["config"]))
            except (KeyError, TypeError, ValueError) as e:
                raise CheckpointError(f"{name}: damaged config metadata ({e})") from e
        elif config is None:
            raise CheckpointError(f"{name}: a safetensors file without our config; pass config=")
    else:
        obj = load_checkpoint_file(path)
        hyper = obj.get("hyper_parameters")
        if isinstance(hyper, Mapping) and isinstance(obj.get("state_dict"), Mapping):
            # A NeMo Lightning checkpoint: same keys and config as the .nemo archive.
            state = _model_state(tensor_state(obj["state_dict"], name), name)
            base = _nemo_config(dict(hyper), state, name)
        else:
            raw = obj.get("state_dict")
            if not isinstance(raw, Mapping):
                raw = obj.get("ema_state_dict")
            if not isinstance(raw, Mapping):
                if not all(isinstance(v, Tensor) for v in obj.values()):
                    keys = ", ".join(sorted(map(str, obj))[:8])
                    raise CheckpointError(f"{name}: not a FastPitch checkpoint: no state_dict "
                                          f"(top-level keys: {keys})")
                raw = obj
            state = _model_state(tensor_state(raw, name), name)
            stored = obj.get("config")
            base = _dle_config(state, stored if isinstance(stored, Mapping) else None)
            if not isinstance(stored, Mapping):
                log.info("%s: no config stored; architecture read from the tensor shapes", name)
    cfg = _apply(base, config, name)
    state.setdefault("pitch_mean", torch.zeros(1))
    state.setdefault("pitch_std", torch.zeros(1))
    return build_model(lambda: FastPitch(cfg), state, name, "FastPitch model").eval()


def export_fastpitch(model: FastPitch, path: str | os.PathLike[str],
                     dtype: torch.dtype = torch.float32) -> Path:
    """Write ``model`` in our format: safetensors (``dtype``, float32 or float16) with its
    config as JSON metadata; :func:`load_fastpitch` reads it back (as float32)."""
    if dtype not in (torch.float32, torch.float16, torch.bfloat16):
        raise ValueError(f"dtype must be float32, float16 or bfloat16, got {dtype}")
    p = Path(path)
    tensors = {k: v.detach().to(dtype).contiguous().cpu() for k, v in model.state_dict().items()}
    metadata = {"format": FORMAT, "config": json.dumps(model.config.to_dict())}
    safetensors.torch.save_file(tensors, str(p), metadata=metadata)
    return p
