"""A synthesizer's two models, loaded only when something needs them.

The engine needs a few facts about its models (:class:`VoiceInfo`: text frontend, symbols,
sample rate ...); the backends need the models themselves to run or compile them. When both
checkpoints are local files (paths or built-in names), their identity — path, size and
modification time of every file the loaders read, plus this package's version and loader and
model code — names a folder in the cache (:attr:`ModelSource.folder`) that keeps those facts,
and where a backend may keep a ready-to-run copy of the weights (the jax backend does: with its
saved graphs, a process whose cache is warm runs without importing PyTorch or reading the
checkpoints). Models passed as objects, hub names and URLs have no folder: they are loaded as
usual.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastpitch_tpu.atomic_files import write_atomic
from fastpitch_tpu.checkpoints.builtin import local_checkpoint
from fastpitch_tpu.source_digest import source_digest
from fastpitch_tpu.version import __version__
from fastpitch_tpu.voices import vocoder_for

if TYPE_CHECKING:
    from fastpitch_tpu.models.fastpitch import FastPitch
    from fastpitch_tpu.models.hifigan import HiFiGAN
    from fastpitch_tpu.models.stages import DecodeStage, EncodeStage

__all__ = ["ModelSource", "VoiceInfo"]

log = logging.getLogger("fastpitch_tpu")

_INFO_FILE = "voice.json"


@dataclass(frozen=True)
class VoiceInfo:
    """What the engine needs to know about a FastPitch + vocoder pair (from their configs)."""

    frontend: str | None
    """The text frontend flavor the checkpoint names (None: not recorded in it)."""
    n_symbols: int
    padding_idx: int
    n_speakers: int
    sample_rate: int
    hop_length: int

    @classmethod
    def of(cls, fastpitch: FastPitch, hifigan: HiFiGAN) -> VoiceInfo:
        cfg = fastpitch.config
        if cfg.n_mel_channels != hifigan.config.num_mels:
            raise ValueError(
                f"FastPitch makes {cfg.n_mel_channels} mel bands but the vocoder takes "
                f"{hifigan.config.num_mels}"
            )
        if cfg.hop_length != hifigan.config.hop_length:
            log.warning("FastPitch was trained with hop %d, the vocoder upsamples by %d",
                        cfg.hop_length, hifigan.config.hop_length)
        return cls(frontend=cfg.frontend, n_symbols=int(cfg.n_symbols),
                   padding_idx=int(cfg.padding_idx), n_speakers=int(cfg.n_speakers),
                   sample_rate=int(hifigan.config.sampling_rate),
                   hop_length=int(hifigan.config.hop_length))


def _identity(path: Path) -> list[Any]:
    stat = path.stat()
    return [str(path.resolve()), stat.st_size, stat.st_mtime_ns]


class ModelSource:
    """``fastpitch`` / ``hifigan``: model objects or anything ``load_fastpitch`` /
    ``load_hifigan`` take (``hifigan=None``: the voice's own vocoder). ``pad_to`` is the
    largest token bucket (the encoder stage pads its states to it)."""

    def __init__(self, fastpitch: FastPitch | str | os.PathLike[str],
                 hifigan: HiFiGAN | str | os.PathLike[str] | None, *, pad_to: int,
                 cache_dir: str | None) -> None:
        if hifigan is None:
            hifigan = vocoder_for(fastpitch)
        self._sources: dict[str, Any] = {"fastpitch": fastpitch, "hifigan": hifigan}
        self._models: dict[str, Any] = {}
        for kind, source in self._sources.items():
            if not isinstance(source, (str, os.PathLike)):
                self._models[kind] = source.eval()
        self.pad_to = pad_to
        self._lock = threading.RLock()
        self._stages: tuple[EncodeStage, DecodeStage] | None = None
        self.folder = self._folder(cache_dir) if cache_dir else None
        """This pair's folder in the cache, or None (models given as objects, hub names)."""

    def _folder(self, cache_dir: str) -> Path | None:
        files = {kind: local_checkpoint(source, kind) for kind, source in self._sources.items()}
        if any(path is None for path in files.values()):
            return None
        facts: dict[str, Any] = {}
        for kind, path in files.items():
            assert path is not None
            facts[kind] = _identity(path)
            # jik876 generators take their config from the folder they are in.
            beside = path.parent / "config.json"
            if kind == "hifigan" and beside.is_file():
                facts["hifigan_config"] = _identity(beside)
        facts["package"] = __version__
        # the loaders and the models: a change to either may change what a checkpoint becomes
        facts["code"] = source_digest("checkpoints", "models")
        key = hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:20]
        return Path(cache_dir) / "voices" / key

    @property
    def loaded(self) -> bool:
        """Whether both models are in memory."""
        return len(self._models) == 2

    def _model(self, kind: str) -> Any:
        with self._lock:
            model = self._models.get(kind)
            if model is None:
                from fastpitch_tpu.checkpoints import load_fastpitch, load_hifigan

                loader = load_fastpitch if kind == "fastpitch" else load_hifigan
                model = self._models[kind] = loader(self._sources[kind]).eval()
            return model

    @property
    def fastpitch(self) -> FastPitch:
        model: FastPitch = self._model("fastpitch")
        return model

    @property
    def hifigan(self) -> HiFiGAN:
        model: HiFiGAN = self._model("hifigan")
        return model

    def stages(self) -> tuple[EncodeStage, DecodeStage]:
        """The two graphs' modules (built once; loads the models)."""
        with self._lock:
            if self._stages is None:
                from fastpitch_tpu.models.stages import DecodeStage, EncodeStage

                self._stages = (EncodeStage(self.fastpitch, pad_to=self.pad_to),
                                DecodeStage(self.fastpitch, self.hifigan))
            return self._stages

    def info(self) -> VoiceInfo:
        """The pair's facts: from the cache folder where it has them, else from the models
        (then kept in the folder)."""
        path = self.folder / _INFO_FILE if self.folder is not None else None
        if path is not None and not self.loaded and path.is_file():
            try:
                return VoiceInfo(**json.loads(path.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError) as e:
                log.warning("ignoring %s (%s)", path, e)
        info = VoiceInfo.of(self.fastpitch, self.hifigan)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, json.dumps(asdict(info), indent=1).encode())
            except OSError as e:
                log.warning("could not save %s (%s)", path, e)
        return info
