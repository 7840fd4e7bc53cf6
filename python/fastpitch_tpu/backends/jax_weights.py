"""The jax backend's weights: the stages' weights converted to JAX arrays by torchax (with
torchax's functions of the stages, which trace them), the digest that names the stages' traced
graphs, and the converted weights kept in the voice's cache folder (``StageSource.folder``,
``jax-<dtype>-<platform>-<tokens>.safetensors`` with the graphs' digest in a ``.json``) so that a
later process starts without loading the checkpoints or importing PyTorch and torchax."""

from __future__ import annotations

import copy
import hashlib
import importlib.metadata
import json
import logging
import typing
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from fastpitch_tpu.atomic_files import write_atomic
from fastpitch_tpu.backends.base import StageSource, torch_dtype
from fastpitch_tpu.backends.jax_imports import import_jax, import_jax_and_torchax
from fastpitch_tpu.compile_cache.manifest import foreign_entry
from fastpitch_tpu.source_digest import source_digest
from fastpitch_tpu.version import __version__

if typing.TYPE_CHECKING:
    from fastpitch_tpu.models.stages import DecodeStage, EncodeStage

__all__ = ["ConvertedStages", "TorchaxStages", "WeightFiles", "convert_stages"]

log = logging.getLogger("fastpitch_tpu")


@dataclass(frozen=True)
class TorchaxStages:
    """torchax's functions of the encode and decode stages (each called as
    ``fn(weights, inputs)``), and what a thread needs of torchax's tracing state."""

    encode: Any
    decode: Any
    thread_state: Any
    """torchax's thread-local tracing state."""
    content: list[Any] | None
    """A copy of its list, for releases that give the list only to the creating thread."""

    def enter_thread(self) -> None:
        """Puts torchax's tracing state in place for this thread (before it traces)."""
        if self.content is not None and not hasattr(self.thread_state, "content"):
            self.thread_state.content = list(self.content)


@dataclass(frozen=True)
class ConvertedStages:
    states: tuple[Any, Any]
    """The encode and decode stages' weights: name → array."""
    digest: str
    """Names the stages' traced graphs (everything they depend on besides the weights' values)."""


def convert_stages(encode: EncodeStage, decode: DecodeStage, *, dtype: str,
                   platform: str) -> tuple[ConvertedStages, TorchaxStages]:
    """The stages' weights as JAX arrays in ``dtype`` (with the graphs' digest), and torchax's
    functions of the stages for tracing."""
    _, torchax = import_jax_and_torchax()
    torch_type = torch_dtype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        enc_states, enc_fn = torchax.extract_jax(copy.deepcopy(encode).to(torch_type).eval())
        dec_states, dec_fn = torchax.extract_jax(copy.deepcopy(decode).to(torch_type).eval())
    # torchax keeps its tracing state in a thread-local. Releases that hold a list there
    # give it only to the thread which created the environment: a device or compile thread
    # that traces gets a copy of that thread's list first. (Releases with a per-thread
    # factory need nothing.)
    env = torchax.default_env()
    content = getattr(env._property, "content", None)
    stages = TorchaxStages(enc_fn, dec_fn, env._property,
                           list(content) if isinstance(content, list) else None)
    digest = graph_digest(encode, decode, dtype=dtype, platform=platform)
    return ConvertedStages((enc_states, dec_states), digest), stages


def graph_digest(encode: EncodeStage, decode: DecodeStage, *, dtype: str, platform: str) -> str:
    """A digest of everything the stages' traced graphs depend on besides the weights' values:
    this package's version and model code, jax and torchax versions, the models'
    configurations, dtype, platform and parameter shapes."""
    shapes = {name: [list(t.shape), str(t.dtype)] for module in (encode, decode)
              for name, t in module.state_dict().items()}
    facts = {
        "package": __version__, "code": source_digest("models"),
        "jax": import_jax().__version__, "torchax": importlib.metadata.version("torchax"),
        "dtype": str(torch_dtype(dtype)), "platform": platform,
        "fastpitch": repr(encode.fastpitch.config), "hifigan": repr(decode.hifigan.config),
        "pitch_stats": repr(encode.pitch_stats), "pad_to": encode.pad_to, "shapes": shapes,
    }
    return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:20]


@dataclass(frozen=True)
class WeightFiles:
    """Where the converted weights (safetensors) and their facts (JSON) are kept."""

    weights: Path
    facts: Path

    @classmethod
    def of(cls, source: StageSource, *, dtype: str, platform: str) -> WeightFiles | None:
        """The files of ``source``'s converted weights, or None where it has no cache folder."""
        if source.folder is None:
            return None
        stem = f"jax-{dtype}-{platform}-{source.pad_to}"
        return cls(source.folder / f"{stem}.safetensors", source.folder / f"{stem}.json")

    def save(self, converted: ConvertedStages) -> None:
        from safetensors.numpy import save

        states = converted.states
        flat = {f"{stage}.{name}": np.asarray(array)
                for stage, tree in zip(("encode", "decode"), states)
                for name, array in tree.items()}
        try:
            self.weights.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(self.weights, save(flat))
            write_atomic(self.facts, json.dumps({"graphs": converted.digest,
                                                 "encode": sorted(states[0]),
                                                 "decode": sorted(states[1])}))
        except OSError as e:
            log.warning("could not save the converted weights in %s (%s)", self.weights.parent,
                        e)

    def load(self) -> ConvertedStages | None:
        """The converted weights and graphs' digest kept by an earlier process, or None."""
        # (cache_dir/voices/<key>/<file>: not one an import put there for another machine)
        if not (self.weights.is_file() and self.facts.is_file()) or foreign_entry(
                self.weights, levels=2):
            return None
        try:
            from safetensors.numpy import load_file

            meta = json.loads(self.facts.read_text(encoding="utf-8"))
            flat = load_file(str(self.weights))  # host arrays: moved to the device in one go
            enc, dec = ({name: flat[f"{stage}.{name}"] for name in meta[stage]}
                        for stage in ("encode", "decode"))
            return ConvertedStages((enc, dec), str(meta["graphs"]))
        except Exception as e:  # damaged or foreign: convert again
            log.warning("ignoring the converted weights %s (%s)", self.weights, e)
            return None
