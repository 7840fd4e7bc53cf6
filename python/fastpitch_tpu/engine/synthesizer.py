"""The public façade: :class:`Synthesizer` (construction, the ``synthesize`` calls, warm-up)
and the one-call :func:`synthesize`; the work is done by the chunker, the scheduler and the
warm-up of this package."""

from __future__ import annotations

import dataclasses
import os
import sys
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, overload

import numpy as np
import platformdirs

from fastpitch_tpu.audio import Audio
from fastpitch_tpu.backends import Backend
from fastpitch_tpu.engine.background import BackgroundCompiler, CompileStatus
from fastpitch_tpu.engine.batched_requests import speak_requests
from fastpitch_tpu.engine.buckets import Buckets
from fastpitch_tpu.engine.chunking import TextChunker, resolve_frontend
from fastpitch_tpu.engine.denoising import LazyDenoiser
from fastpitch_tpu.engine.options import SynthesisOptions, SynthesisOverrides, apply_overrides
from fastpitch_tpu.engine.piece_stream import AudioPiece, PieceStream
from fastpitch_tpu.engine.replicas import start_replicas
from fastpitch_tpu.engine.scheduler import BatchScheduler
from fastpitch_tpu.engine.warmup import compile_buckets
from fastpitch_tpu.frontend import TextFrontend
from fastpitch_tpu.model_source import ModelSource, VoiceInfo
from fastpitch_tpu.voices import BUILTIN_VOICES, builtin_voice

if TYPE_CHECKING:
    if sys.version_info >= (3, 11):
        from typing import Unpack
    else:
        from typing_extensions import Unpack

    from fastpitch_tpu.models.fastpitch import FastPitch
    from fastpitch_tpu.models.hifigan import HiFiGAN

__all__ = ["Synthesizer", "default_cache_dir", "synthesize"]


def default_cache_dir() -> str:
    """Compilation cache: ``$FASTPITCH_TPU_COMPILE_CACHE`` or the user cache folder."""
    env = os.environ.get("FASTPITCH_TPU_COMPILE_CACHE")
    if env:
        return env
    return str(Path(platformdirs.user_cache_dir("fastpitch_tpu")) / "compiled")


class Synthesizer:
    """Text-to-speech with one FastPitch and one HiFi-GAN on one backend.

    ``fastpitch`` and ``hifigan`` are models or anything :func:`~fastpitch_tpu.checkpoints.
    load_fastpitch` / :func:`~fastpitch_tpu.checkpoints.load_hifigan` accept (paths, hub names).
    ``fastpitch`` defaults to the voice shipped in the package (``"default"``); ``hifigan`` to
    that voice's own vocoder for a built-in voice, else the built-in LJSpeech V1 generator.
    ``frontend`` is a :class:`~fastpitch_tpu.TextFrontend` flavor, by default the one the
    checkpoint names. ``backend``: ``"auto"``, ``"torch"``, ``"torch_compile"``, ``"jax"`` or
    ``"torch_xla"``; ``dtype``: ``"auto"`` (default: ``"bfloat16"`` on a GPU or TPU,
    ``"float32"`` on a CPU), ``"bfloat16"``, ``"float16"`` or ``"float32"``.
    ``device`` picks one device; ``devices="all"`` (or a list of devices) puts one replica of
    the compiled graphs on each and spreads the batches of a call over them (one thread per
    device), with the same output as one device.

    Checkpoints given as files or built-in names are loaded only when something needs them: the
    jax backend, finding its converted weights and the graphs of a shape in the cache folder
    (``cache_dir``), runs without loading them or importing PyTorch. ``info`` holds the facts the
    engine uses (frontend, symbols, sample rate, hop); ``fastpitch`` and ``hifigan`` load the
    models on first access.
    """

    def __init__(
        self,
        fastpitch: FastPitch | str | os.PathLike[str] = "default",
        hifigan: HiFiGAN | str | os.PathLike[str] | None = None,
        *,
        frontend: str | TextFrontend | None = None,
        backend: str = "auto",
        device: str | None = None,
        dtype: str = "auto",
        buckets: Buckets | None = None,
        cache_dir: str | None = None,
        defaults: SynthesisOptions | None = None,
        devices: str | Sequence[str] | None = None,
    ) -> None:
        self.buckets = buckets or Buckets()
        cache = cache_dir if cache_dir is not None else default_cache_dir()
        # The models are loaded when something needs them: a backend that finds what it needs
        # in the cache (the jax backend's converted weights and saved graphs) does not.
        self._source = ModelSource(fastpitch, hifigan, pad_to=self.buckets.max_tokens,
                                   cache_dir=cache)
        self.info: VoiceInfo = self._source.info()
        """The models' facts the engine uses (frontend, symbols, sample rate, hop)."""
        # The text frontend (its pronunciation dictionary is read outside the GIL) is made on
        # a thread while the backends start (importing their runtime, opening the devices,
        # loading weights): a shorter start-up.
        with ThreadPoolExecutor(1, thread_name_prefix="frontend") as pool:
            made = pool.submit(resolve_frontend, frontend, self.info)
            try:
                self.replicas: list[Backend] = start_replicas(
                    backend, self._source, device=device, devices=devices, dtype=dtype,
                    cache_dir=cache)
                """One backend per device; batches are spread over them (the first also
                streams)."""
            except BaseException:
                made.result()  # a bad frontend argument is the error to report first
                raise
            self.frontend: TextFrontend = made.result()
        self.backend: Backend = self.replicas[0]
        self.defaults = _voice_defaults(defaults or SynthesisOptions(), fastpitch)
        """The options every call starts from (``trim_silence`` resolved for this voice)."""
        self.sample_rate = self.info.sample_rate
        self.hop_length = self.info.hop_length
        self.dtype = self.backend.dtype
        """The dtype the graphs run in (``"auto"`` resolved)."""
        self._chunker = TextChunker(self.frontend, self.buckets.max_tokens,
                                    self.info.n_speakers)
        self._scheduler = BatchScheduler(self.replicas, self.buckets, self.info.padding_idx,
                                         self.hop_length, LazyDenoiser(lambda: self.hifigan),
                                         self.sample_rate)
        self._compiler = BackgroundCompiler(self.replicas, self._source, self.buckets,
                                            self.info.padding_idx, self.info.n_symbols)

    @property
    def fastpitch(self) -> FastPitch:
        """The FastPitch model (loaded on first use where the backend did not need it)."""
        return self._source.fastpitch

    @property
    def hifigan(self) -> HiFiGAN:
        """The HiFi-GAN generator (loaded on first use where the backend did not need it)."""
        return self._source.hifigan

    # A str is also a Sequence[str]: the first overload is the one that applies to it.
    @overload
    def synthesize(  # type: ignore[overload-overlap]
            self, text: str, *, progress: bool | None = None,
            **options: Unpack[SynthesisOverrides]) -> Audio: ...

    @overload
    def synthesize(self, text: Sequence[str], *, progress: bool | None = None,
                   **options: Unpack[SynthesisOverrides]) -> list[Audio]: ...

    def synthesize(self, text: str | Sequence[str], *, progress: bool | None = None,
                   **options: Unpack[SynthesisOverrides]) -> Audio | list[Audio]:
        """Speak ``text`` (one :class:`Audio`) or a list of texts (a list, batched on the
        device). ``options`` are :class:`SynthesisOptions` fields."""
        opts = apply_overrides(self.defaults, options)
        if isinstance(text, str):
            return self._synthesize([text], opts, progress=False)[0]
        texts = list(text)
        if not all(isinstance(t, str) for t in texts):
            raise TypeError("text must be a string or a sequence of strings")
        return self._synthesize(texts, opts, progress=progress)

    def _synthesize(self, texts: list[str], opts: SynthesisOptions,
                    progress: bool | None) -> list[Audio]:
        results = speak_requests(self._chunker, self._scheduler, [(t, opts) for t in texts],
                                 progress, self.sample_rate)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return [r for r in results if isinstance(r, Audio)]

    def synthesize_stream(self, text: str,
                          **options: Unpack[SynthesisOverrides]) -> Iterator[Audio]:
        """Yield ``text``'s audio sentence by sentence (batch 1 each, for the shortest time to
        first audio). Chunks after the first begin with the sentence pause."""
        opts = apply_overrides(self.defaults, options)
        chunks = self._chunker.chunks(0, text, opts, per_sentence=True)
        for i, chunk in enumerate(chunks):
            self._scheduler.run_batch([chunk])
            assert chunk.audio is not None
            samples = chunk.audio
            if i and opts.sentence_pause > 0:
                gap = np.zeros(int(round(opts.sentence_pause * self.sample_rate)), np.float32)
                samples = np.concatenate([gap, samples])
            yield Audio(samples, self.sample_rate)

    def synthesize_requests(
        self, requests: Sequence[tuple[str, SynthesisOptions]]
    ) -> list[Audio | Exception]:
        """Speak many texts, each with its own options, batched together on the device.

        A request that fails (bad text or options, or a failure of its own on the device) gets
        its exception in its place; the others are unaffected. Used by the server's batcher.
        """
        return speak_requests(self._chunker, self._scheduler, list(requests), False,
                              self.sample_rate)

    def split_for_streaming(self, text: str) -> list[str]:
        """The sentence pieces :meth:`synthesize_stream` speaks one by one (each fits a bucket)."""
        return [piece for piece, _ in self._chunker.pieces(0, text)]

    def synthesize_pieces(self, texts: Iterable[str], *, window: int | None = None,
                          **options: Unpack[SynthesisOverrides]) -> Iterator[AudioPiece]:
        """Speak texts of any number and length in bounded memory, yielding the audio in input
        order as it is made: one :class:`AudioPiece` per piece of text.

        A text that fits the largest token bucket is one piece, with the samples of
        ``synthesize(text)``; a longer one is spoken sentence by sentence, its pieces those of
        :meth:`synthesize_stream` (:meth:`split_for_streaming`). One text's pieces joined with
        ``sentence_pause`` seconds of silence between them are that text's audio.

        Pieces are taken a window at a time and batched on the device as :meth:`synthesize`
        batches them: first windows of the batch bucket sizes (with the default buckets the first
        audio comes after one batch-1 run), then ``window`` pieces at a time (default: four of
        the largest batch).
        On a CPU the batches hold one piece each: there a batch saves no time (one row already
        keeps the cores busy) while its memory grows with every row. ``texts`` is read only as
        far as needed (it may be a generator).

        An error (a text with nothing to speak, bad options, a failure on the device) is raised
        when its text is reached, after the pieces of every text before it. ``options`` are
        :class:`SynthesisOptions` fields.
        """
        opts = apply_overrides(self.defaults, options)
        rows = 1 if self.backend.device.lower().startswith("cpu") else self.buckets.max_batch
        size = 4 * rows if window is None else window
        stream = PieceStream(self._chunker, self._scheduler, self.sample_rate, rows, size)
        yield from stream.speak(texts, opts)

    def warmup(self, progress: bool = True, workers: int | None = None) -> int:
        """Compile every bucket shape now; returns the number of graphs compiled (eager
        backends have nothing to compile: 0 at once).

        Backends whose compiler runs outside the GIL (jax) compile ``workers`` shapes at once
        per device (default: the backend's choice, ``Backend.compile_threads()``: the CPU count,
        at most 8, or 2 on a GPU, whose autotuning compiles share), from abstract shapes without
        running them; the others one after another, running each graph once on dummy inputs.
        Shapes compiled already are skipped; a background compilation
        (:meth:`compile_in_background`) is waited for first, and a shape it failed to compile
        is tried again here (its error raised)."""
        if not self.backend.compiles:
            return 0
        before = self.compile_count()
        self._compiler.wait()  # a background compilation first, then what it left
        compile_buckets(self.replicas, self.buckets, self.info.padding_idx,
                        self.info.n_symbols, progress, workers)
        return self.compile_count() - before

    def compile_count(self) -> int:
        """Graphs compiled so far, over every device."""
        return sum(r.compile_count() for r in self.replicas)

    def compile_in_background(self) -> CompileStatus:
        """Compile every bucket shape in the background (one daemon thread per device), and
        from now on never make a request wait for a compile: a stage whose shape is compiled
        runs on its graph, any other at once on a compile-free path (the backend's eager path
        with ``torch_compile``; with jax an eager ``torch`` backend on the same device, loaded
        here), and each graph is used from the moment it is ready. The shapes requests have
        needed compile first, then the rest, small before large. A shape that fails to compile
        keeps running uncompiled (:meth:`compile_status` tells). Where the backend has no
        compile-free path (torch_xla; jax on a TPU) a request whose shape is not compiled yet
        compiles it first, as without this. Calling it again does nothing;
        :meth:`warmup` waits for it. Returns :meth:`compile_status`."""
        routed = self._compiler.start()
        if routed is not None:
            self._scheduler.replicas = routed
        return self.compile_status()

    def compile_status(self) -> CompileStatus:
        """How many bucket shapes are compiled (over every device), whether a background
        compilation is at work or failed, and how long requests ran uncompiled."""
        return self._compiler.status()

    def stop_compiling(self, timeout: float | None = 0.0) -> bool:
        """Start no new shape in the background; wait up to ``timeout`` seconds (None: as long
        as it takes) for the shapes being compiled. Whether the compile threads have ended."""
        self._compiler.stop()
        return self._compiler.wait(timeout)


def _voice_defaults(defaults: SynthesisOptions,
                    fastpitch: object) -> SynthesisOptions:
    """``defaults`` with ``trim_silence`` decided where it is left to the voice: on for a
    built-in voice whose manifest asks for it, off for any other checkpoint."""
    if defaults.trim_silence is not None:
        return defaults
    trims = False
    if isinstance(fastpitch, str) and fastpitch in BUILTIN_VOICES:
        trims = bool(builtin_voice(fastpitch).manifest.get("trim_silence", False))
    return dataclasses.replace(defaults, trim_silence=trims)


def synthesize(
    text: str | Sequence[str],
    *,
    fastpitch: FastPitch | str | os.PathLike[str] = "default",
    hifigan: HiFiGAN | str | os.PathLike[str] | None = None,
    backend: str = "auto",
    dtype: str = "auto",
    **options: Unpack[SynthesisOverrides],
) -> Audio | list[Audio]:
    """One-call synthesis (builds a :class:`Synthesizer`; keep one for repeated use)."""
    synth = Synthesizer(fastpitch, hifigan, backend=backend, dtype=dtype)
    return synth.synthesize(text, **options)
