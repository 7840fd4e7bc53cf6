"""The static-shape synthesis engine: text → token ids (Rust frontend) → FastPitch → HiFi-GAN.

Shapes are bucketed so that every compiled graph is reused:

- a text longer than the largest token bucket is split at sentence boundaries into chunks that
  fit (never truncated; joined back with a short pause); each chunk is padded to the smallest
  token bucket that holds it;
- chunks of the same token bucket are batched (sorted by length) and the batch padded to a
  batch bucket;
- stage 1 (encoder + predictors, :class:`~fastpitch_tpu.models.stages.EncodeStage`) runs on the
  (batch, token) bucket; only the durations come back to the host, which applies the pace, rounds
  them and picks the smallest frame bucket that holds the longest row;
- stage 2 (length regulation + decoder + HiFi-GAN, :class:`~fastpitch_tpu.models.stages.DecodeStage`)
  runs on the (batch, frame) bucket; each row's audio is cut to exactly ``frames × hop`` samples.

After :meth:`Synthesizer.warmup` no input inside the buckets compiles anything again;
:meth:`Synthesizer.compile_in_background` compiles them while requests run on a compile-free path
meanwhile.

Layout: :mod:`~.buckets` (the static shapes), :mod:`~.options` (per-utterance controls),
:mod:`~.chunking` (text → chunks that fit), :mod:`~.scheduler` (batches over the device
replicas, with row retry), :mod:`~.durations` (the host's duration arithmetic),
:mod:`~.replicas` (one backend per device), :mod:`~.batched_requests` and
:mod:`~.piece_stream` (the batch and bounded-memory ways of speaking many texts),
:mod:`~.warmup`, :mod:`~.background` and :mod:`~.routing` (compiling while serving),
:mod:`~.denoising`, :mod:`~.voices` (several voices sharing a vocoder) and the
façade, :mod:`~.synthesizer`.
"""

from __future__ import annotations

from fastpitch_tpu.engine.background import CompileStatus
from fastpitch_tpu.engine.buckets import Buckets
from fastpitch_tpu.engine.options import SynthesisOptions, SynthesisOverrides
from fastpitch_tpu.engine.piece_stream import AudioPiece
from fastpitch_tpu.engine.synthesizer import Synthesizer, default_cache_dir, synthesize
from fastpitch_tpu.engine.voices import load_voices

__all__ = ["AudioPiece", "Buckets", "CompileStatus", "SynthesisOptions", "SynthesisOverrides", "Synthesizer",
           "default_cache_dir", "load_voices", "synthesize"]

# The public names say they come from here (their documented home: reprs, documentation and
# pickles name ``fastpitch_tpu.engine.X``), not from the submodule that defines them.
for _public in (AudioPiece, Buckets, CompileStatus, SynthesisOptions, SynthesisOverrides, Synthesizer,
                default_cache_dir, load_voices, synthesize):
    _public.__module__ = __name__
del _public
