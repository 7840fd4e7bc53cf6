"""Training FastPitch voices (``fastpitch-tpu train``): dataset building from (audio, text)
pairs, learned alignment, the training loop. Needs the ``train`` extra for pitch from audio
(librosa) and resampling (scipy).

- :func:`build_dataset` / :func:`load_dataset` (:mod:`.dataset`);
- :func:`train` (:mod:`.trainer`: the loop), :class:`TrainConfig`, :data:`PRESETS`
  (:mod:`.config`), the run folder and its resumable state (:mod:`.run_state`), length-bucketed
  batches (:mod:`.batches`), validation and samples (:mod:`.validation`);
- :mod:`.alignment`: the alignment module, its losses and monotonic alignment search;
- :mod:`.step`: one training forward pass and its losses.
"""

from fastpitch_tpu.train.dataset import DatasetInfo, build_dataset, load_dataset
from fastpitch_tpu.train.trainer import PRESETS, TrainConfig, train

__all__ = ["PRESETS", "DatasetInfo", "TrainConfig", "build_dataset", "load_dataset", "train"]
