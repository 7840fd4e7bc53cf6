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

After :meth:`Synthesizer.warmup` no input inside the buckets compiles anything again.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import queue
import threading
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import platformdirs
from numpy.typing import NDArray

from fastpitch_tpu.audio import Audio
from fastpitch_tpu.backends import Backend, create_backend, local_devices
from fastpitch_tpu.errors import DroppedCharactersWarning, InvalidTextError
from fastpitch_tpu.frontend import TextFrontend
from fastpitch_tpu.model_source import ModelSource, VoiceInfo

if TYPE_CHECKING:
    from fastpitch_tpu.models.denoiser import Denoiser
    from fastpitch_tpu.models.fastpitch import FastPitch
    from fastpitch_tpu.models.hifigan import HiFiGAN

__all__ = ["AudioPiece", "Buckets", "SynthesisOptions", "Synthesizer", "synthesize"]

log = logging.getLogger("fastpitch_tpu")


@dataclass(frozen=True)
class Buckets:
    """Static shapes: token counts, batch sizes and mel frame counts (each sorted ascending).

    A row longer than the largest frame bucket gets a frame count rounded up to a multiple of
    ``frame_step`` (a new compilation, logged), never a cut.
    """

    tokens: tuple[int, ...] = (32, 64, 128, 256)
    batch: tuple[int, ...] = (1, 4, 16)
    frames: tuple[int, ...] = (
        64, 96, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768, 896, 1024,
        1280, 1536, 1792, 2048, 2560, 3072,
    )
    """Steps of at most 25 % (at most a fifth of the vocoder's work is padding)."""
    frame_step: int = 512

    def __post_init__(self) -> None:
        for name in ("tokens", "batch", "frames"):
            values = getattr(self, name)
            if not values or any(v < 1 for v in values) or list(values) != sorted(set(values)):
                raise ValueError(f"buckets.{name} must be distinct positive sizes in ascending "
                                 f"order, got {values}")

    @staticmethod
    def batch_sizes(max_batch: int) -> tuple[int, ...]:
        """Batch buckets up to ``max_batch``: powers of 4, then ``max_batch`` itself."""
        sizes = [1]
        while sizes[-1] * 4 < max_batch:
            sizes.append(sizes[-1] * 4)
        if sizes[-1] != max_batch:
            sizes.append(max_batch)
        return tuple(sizes)

    @property
    def max_tokens(self) -> int:
        return self.tokens[-1]

    @property
    def max_batch(self) -> int:
        return self.batch[-1]

    def token_bucket(self, n: int) -> int:
        return next(b for b in self.tokens if b >= n)

    def batch_bucket(self, n: int) -> int:
        return next(b for b in self.batch if b >= n)

    def frame_bucket(self, n: int) -> int:
        for b in self.frames:
            if b >= n:
                return b
        size = self.frame_step * math.ceil(n / self.frame_step)
        log.warning("%d frames exceed the largest frame bucket (%d): using %d (compiles a new "
                    "graph)", n, self.frames[-1], size)
        return size


@dataclass(frozen=True)
class SynthesisOptions:
    """Per-utterance controls."""

    pace: float = 1.0
    """Speaking rate: 1.25 is 25 % faster (durations divided by the pace)."""
    pitch_shift: float = 0.0
    """Added to the predicted pitch, in Hz."""
    pitch_scale: float = 1.0
    """Multiplies the pitch's deviation from the speaker's mean (0 = monotone)."""
    speaker: int = 0
    """Speaker id for multi-speaker models."""
    denoise: float = 0.0
    """Strength of the vocoder-bias removal (DeepLearningExamples' denoiser; 0 = off)."""
    sentence_pause: float = 0.2
    """Silence (s) between the sentence chunks of one text."""

    def __post_init__(self) -> None:
        if not (math.isfinite(self.pace) and 0.1 <= self.pace <= 10.0):
            raise ValueError(f"pace must be in [0.1, 10], got {self.pace}")
        if not math.isfinite(self.pitch_shift) or abs(self.pitch_shift) > 1000:
            raise ValueError(f"pitch_shift must be within ±1000 Hz, got {self.pitch_shift}")
        if not (math.isfinite(self.pitch_scale) and -10 <= self.pitch_scale <= 10):
            raise ValueError(f"pitch_scale must be in [-10, 10], got {self.pitch_scale}")
        if not (math.isfinite(self.denoise) and 0 <= self.denoise <= 1):
            raise ValueError(f"denoise must be in [0, 1], got {self.denoise}")
        if not (math.isfinite(self.sentence_pause) and 0 <= self.sentence_pause <= 10):
            raise ValueError(f"sentence_pause must be in [0, 10] s, got {self.sentence_pause}")


@dataclass
class _Chunk:
    text_index: int
    ids: NDArray[np.int64]
    options: SynthesisOptions
    audio: NDArray[np.float32] | None = field(default=None, repr=False)


@dataclass
class _Started:
    """A batch whose decoding is under way: its rows' frame counts and the backend's function
    that waits for the audio."""

    frames: NDArray[np.int64]
    audio: Callable[[], NDArray[np.float32]]


@dataclass(frozen=True)
class AudioPiece:
    """One piece of :meth:`Synthesizer.synthesize_pieces`' output: the audio of one chunk of
    one text."""

    text_index: int
    """The text it belongs to (its position in the input)."""
    index: int
    """Its position among that text's pieces (0 is the first)."""
    count: int
    """How many pieces that text has."""
    audio: Audio


def _nothing_to_speak(index: int, text: str) -> InvalidTextError:
    shown = text if len(text) <= 40 else text[:40] + "..."
    return InvalidTextError(f"text {index} has nothing to speak: {shown!r}")


def _device_error(chunk: _Chunk) -> RuntimeError:
    return RuntimeError(f"synthesis failed for text {chunk.text_index} (see the log)")


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
            made = pool.submit(self._frontend, frontend)
            try:
                self._start_backends(backend, device, devices, dtype, cache)
            except BaseException:
                made.result()  # a bad frontend argument is the error to report first
                raise
            self.frontend: TextFrontend = made.result()
        self.defaults = defaults or SynthesisOptions()
        self.sample_rate = self.info.sample_rate
        self.hop_length = self.info.hop_length
        self.dtype = self.backend.dtype
        """The dtype the graphs run in (``"auto"`` resolved)."""
        self._denoiser: Denoiser | None = None

    def _start_backends(self, backend: str, device: str | None,
                        devices: str | Sequence[str] | None, dtype: str, cache: str) -> None:
        if devices is not None and device is not None:
            raise ValueError("pass device= (one device) or devices= (several), not both")
        targets: list[str | None]
        if devices is None:
            targets = [device]
        elif devices == "all":
            targets = local_devices(backend)
        elif isinstance(devices, str):
            raise ValueError(f"devices must be 'all' or a list of devices, got {devices!r}")
        else:
            targets = list(devices)
            if not targets:
                raise ValueError("devices is empty")
        self.replicas: list[Backend] = [
            create_backend(backend, self._source, dtype=dtype, device=d, cache_dir=cache)
            for d in targets
        ]
        """One backend per device; batches are spread over them (the first also streams)."""
        self.backend: Backend = self.replicas[0]

    @property
    def fastpitch(self) -> FastPitch:
        """The FastPitch model (loaded on first use where the backend did not need it)."""
        return self._source.fastpitch

    @property
    def hifigan(self) -> HiFiGAN:
        """The HiFi-GAN generator (loaded on first use where the backend did not need it)."""
        return self._source.hifigan

    def _frontend(self, frontend: str | TextFrontend | None) -> TextFrontend:
        cfg = self.info
        if frontend is None:
            if cfg.frontend is None:
                raise ValueError(
                    "the checkpoint does not say which text frontend it was trained with; pass "
                    "frontend= (one of dle_chars, dle_arpabet, nemo_arpabet, nemo_ipa)"
                )
            frontend = cfg.frontend
        fe = frontend if isinstance(frontend, TextFrontend) else TextFrontend(frontend)
        if len(fe.vocab) != cfg.n_symbols:
            raise ValueError(
                f"frontend {fe.flavor!r} has {len(fe.vocab)} symbols but the model embeds "
                f"{cfg.n_symbols}"
            )
        return fe

    # ---------------------------------------------------------------------------------------
    # Public API

    @overload
    def synthesize(self, text: str, *, progress: bool | None = None, **options: Any) -> Audio: ...

    @overload
    def synthesize(self, text: Sequence[str], *, progress: bool | None = None,
                   **options: Any) -> list[Audio]: ...

    def synthesize(self, text: str | Sequence[str], *, progress: bool | None = None,
                   **options: Any) -> Audio | list[Audio]:
        """Speak ``text`` (one :class:`Audio`) or a list of texts (a list, batched on the
        device). ``options`` are :class:`SynthesisOptions` fields."""
        opts = replace(self.defaults, **options)
        if isinstance(text, str):
            return self._synthesize([text], opts, progress=False)[0]
        texts = list(text)
        if not all(isinstance(t, str) for t in texts):
            raise TypeError("text must be a string or a sequence of strings")
        return self._synthesize(texts, opts, progress=progress)

    def synthesize_stream(self, text: str, **options: Any) -> Iterator[Audio]:
        """Yield ``text``'s audio sentence by sentence (batch 1 each, for the shortest time to
        first audio). Chunks after the first begin with the sentence pause."""
        opts = replace(self.defaults, **options)
        chunks = self._chunks(0, text, opts, per_sentence=True)
        for i, chunk in enumerate(chunks):
            self._run_batch([chunk])
            assert chunk.audio is not None
            samples = chunk.audio
            if i and opts.sentence_pause > 0:
                gap = np.zeros(int(round(opts.sentence_pause * self.sample_rate)), np.float32)
                samples = np.concatenate([gap, samples])
            yield Audio(samples, self.sample_rate)

    def warmup(self, progress: bool = True, workers: int | None = None) -> int:
        """Compile every bucket shape now; returns the number of graphs compiled (eager
        backends have nothing to compile: 0 at once).

        Backends whose compiler runs outside the GIL (jax) compile ``workers`` shapes at once
        per device (default: the backend's choice, ``Backend.compile_threads()``: the CPU count,
        at most 8, or 2 on a GPU, whose autotuning compiles share), from abstract shapes without
        running them; the others one after another, running each graph once on dummy inputs."""
        from tqdm import tqdm

        if not self.backend.compiles:
            return 0
        b = self.buckets
        before = self.compile_count()
        encodes = [(n, t) for n in b.batch for t in b.tokens]
        decodes = [(n, f) for n in b.batch for f in b.frames]
        pad = self.info.padding_idx
        n_symbols = self.info.n_symbols
        if workers is None:
            workers = self.backend.compile_threads()
        threads = max(1, workers) if self.backend.parallel_compile else 1
        with tqdm(total=(len(encodes) + len(decodes)) * len(self.replicas), desc="compiling",
                  unit="graph", disable=not progress) as bar:
            lock = threading.Lock()

            def tick() -> None:
                with lock:
                    bar.update(1)

            def compile_all(backend: Backend) -> None:
                def encode(shape: tuple[int, int]) -> Any:
                    n, size = shape
                    h = None
                    if not backend.compile_only("encode", n, size, b.max_tokens):
                        ids = np.full((n, size), pad, dtype=np.int64)
                        ids[:, 0] = (pad + 1) % n_symbols
                        h, _ = backend.encode(ids, np.zeros(n, np.int64),
                                              np.zeros(n, np.float32), np.ones(n, np.float32))
                    tick()
                    return h

                def decode(shape: tuple[int, int]) -> None:
                    n, size = shape
                    if not backend.compile_only("decode", n, size, b.max_tokens):
                        reps = np.zeros((n, b.max_tokens), dtype=np.int64)
                        reps[:, 0] = 1
                        backend.decode(hidden[n], reps, np.zeros(n, np.int64), size)
                    tick()

                # Encoder graphs first (running a decoder graph takes their states).
                with ThreadPoolExecutor(threads, thread_name_prefix="compile") as pool:
                    states = list(pool.map(encode, encodes))
                    hidden = {n: h for (n, _), h in zip(encodes, states)}
                    list(pool.map(decode, decodes))

            self._on_replicas(compile_all)
        return self.compile_count() - before

    def compile_count(self) -> int:
        """Graphs compiled so far, over every device."""
        return sum(r.compile_count() for r in self.replicas)

    def _on_replicas(self, fn: Callable[[Backend], None]) -> None:
        """``fn(replica)`` on every replica at once (one thread each); errors are raised."""
        if len(self.replicas) == 1:
            fn(self.replicas[0])
            return
        with ThreadPoolExecutor(len(self.replicas), thread_name_prefix="device") as pool:
            for future in [pool.submit(fn, r) for r in self.replicas]:
                future.result()

    # ---------------------------------------------------------------------------------------
    # Internals

    def _chunks(self, index: int, text: str, opts: SynthesisOptions,
                per_sentence: bool = False) -> list[_Chunk]:
        """``text`` as token-id chunks that each fit the largest token bucket.

        A text that fits is one chunk (spoken as NVIDIA's code would). A longer one is split at
        sentence boundaries (then clauses, then words, for a sentence that alone is too long)
        and consecutive pieces are packed back together while they fit. ``per_sentence`` keeps
        one chunk per sentence (streaming).
        """
        if not isinstance(text, str):
            raise TypeError(f"text {index} is not a string")
        n_speakers = self.info.n_speakers
        if not 0 <= opts.speaker < n_speakers:
            raise ValueError(f"speaker must be in [0, {n_speakers}), got {opts.speaker}")
        limit = self.buckets.max_tokens
        self._warn_dropped(index, text)
        if not per_sentence:
            ids = self.frontend.encode(text)
            if len(ids) <= limit:
                if not self.frontend.speaks(ids):
                    raise _nothing_to_speak(index, text)
                return [_Chunk(index, ids.astype(np.int64), opts)]
        pieces = self._pieces(index, text, limit)
        if not pieces:
            raise _nothing_to_speak(index, text)
        if per_sentence:
            return [_Chunk(index, ids, opts) for _, ids in pieces]
        out: list[_Chunk] = []
        current, current_ids = pieces[0]
        for piece, ids in pieces[1:]:
            joined = f"{current} {piece}"
            joined_ids = self.frontend.encode(joined)
            if len(joined_ids) <= limit:
                current, current_ids = joined, joined_ids.astype(np.int64)
            else:
                out.append(_Chunk(index, current_ids, opts))
                current, current_ids = piece, ids
        out.append(_Chunk(index, current_ids, opts))
        return out

    def _warn_dropped(self, index: int, text: str) -> None:
        dropped = self.frontend.unspoken_chars(text)
        if dropped:
            shown = ", ".join(repr(c) if c.isprintable() else f"U+{ord(c):04X}"
                              for c in dropped[:10])
            more = f" and {len(dropped) - 10} more" if len(dropped) > 10 else ""
            warnings.warn(f"text {index}: skipped characters the voice cannot read: "
                          f"{shown}{more}", DroppedCharactersWarning, stacklevel=2)

    def _pieces(self, index: int, text: str, limit: int) -> list[tuple[str, NDArray[np.int64]]]:
        """Sentences (or smaller pieces of too-long sentences) with their ids, in order."""
        out: list[tuple[str, NDArray[np.int64]]] = []
        pending = list(self.frontend.split_sentences(text))
        while pending:
            piece = pending.pop(0)
            ids = self.frontend.encode(piece)
            if not self.frontend.speaks(ids):
                continue
            if len(ids) <= limit:
                out.append((piece, ids.astype(np.int64)))
                continue
            # Too long for the largest bucket: split at clause / word boundaries, smaller and
            # smaller until every piece fits.
            max_chars = max(1, int(len(piece) * limit / len(ids) * 0.9))
            parts = self.frontend.split_sentences(piece, max_chars=max_chars)
            while len(parts) == 1 and max_chars > 1:
                max_chars //= 2
                parts = self.frontend.split_sentences(piece, max_chars=max_chars)
            if len(parts) == 1:
                raise InvalidTextError(f"text {index}: cannot split {piece[:40]!r} to fit "
                                       f"{limit} tokens")
            pending[:0] = parts
        return out

    def _synthesize(self, texts: list[str], opts: SynthesisOptions,
                    progress: bool | None) -> list[Audio]:
        results = self._run([(t, opts) for t in texts], progress)
        for r in results:
            if isinstance(r, BaseException):
                raise r
        return [r for r in results if isinstance(r, Audio)]

    def synthesize_requests(
        self, requests: Sequence[tuple[str, SynthesisOptions]]
    ) -> list[Audio | Exception]:
        """Speak many texts, each with its own options, batched together on the device.

        A request that fails (bad text or options, or a failure of its own on the device) gets
        its exception in its place; the others are unaffected. Used by the server's batcher.
        """
        return self._run(list(requests), progress=False)

    def split_for_streaming(self, text: str) -> list[str]:
        """The sentence pieces :meth:`synthesize_stream` speaks one by one (each fits a bucket)."""
        return [piece for piece, _ in self._pieces(0, text, self.buckets.max_tokens)]

    def synthesize_pieces(self, texts: Iterable[str], *, window: int | None = None,
                          **options: Any) -> Iterator[AudioPiece]:
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
        opts = replace(self.defaults, **options)
        rows = 1 if self.backend.device.lower().startswith("cpu") else self.buckets.max_batch
        size = 4 * rows if window is None else window
        if size < 1:
            raise ValueError(f"window must be positive, got {size}")
        ramp = [b for b in self.buckets.batch if b < size]

        def chunked() -> Iterator[tuple[_Chunk, int, int]]:
            for i, text in enumerate(texts):
                if not isinstance(text, str):
                    raise TypeError(f"text {i} is not a string")
                fits = len(self.frontend.encode(text)) <= self.buckets.max_tokens
                parts = self._chunks(i, text, opts, per_sentence=not fits)
                for k, chunk in enumerate(parts):
                    yield chunk, k, len(parts)

        feed = chunked()
        error: Exception | None = None
        while error is None:
            limit = ramp.pop(0) if ramp else size
            window_chunks: list[tuple[_Chunk, int, int]] = []
            while len(window_chunks) < limit:
                try:
                    window_chunks.append(next(feed))
                except StopIteration:
                    break
                except Exception as e:  # raised once the texts before it are spoken
                    error = e
                    break
            if not window_chunks:
                break
            yield from self._speak_window(window_chunks, rows)
            if len(window_chunks) < limit and error is None:
                break  # the input is used up
        if error is not None:
            raise error

    def _speak_window(self, window: list[tuple[_Chunk, int, int]],
                      rows: int) -> Iterator[AudioPiece]:
        """Speak ``window``'s chunks (chunk, its index, its text's chunk count) batched as
        :meth:`_run` batches them; yield their pieces in order, raising a chunk's failure in its
        place."""
        chunks = [chunk for chunk, _, _ in window]
        # The batch runners record a failure under the chunk's text index: positions in the
        # window here, mapped back to the texts' own indices below.
        text_indices = [chunk.text_index for chunk in chunks]
        for position, chunk in enumerate(chunks):
            chunk.text_index = position
        results: list[Audio | Exception | None] = [None] * len(chunks)
        batches = self._batches(chunks, rows)

        def finished(batch: list[_Chunk]) -> None:
            pass

        try:
            if len(self.replicas) == 1 or len(batches) == 1:
                self._run_batches(batches, results, self.backend, finished)
            else:
                self._run_spread(batches, results, finished)
        finally:
            for chunk, index in zip(chunks, text_indices):
                chunk.text_index = index
        for position, (chunk, k, count) in enumerate(window):
            if results[position] is not None or chunk.audio is None:
                raise _device_error(chunk)
            audio, chunk.audio = chunk.audio, None  # held only until it is handed over
            yield AudioPiece(chunk.text_index, k, count, Audio(audio, self.sample_rate))

    def _batches(self, chunks: list[_Chunk], rows: int) -> list[list[_Chunk]]:
        """``chunks`` sorted by length into batches of one token bucket each, of at most
        ``rows`` chunks."""
        batches: list[list[_Chunk]] = []
        for chunk in sorted(chunks, key=lambda c: len(c.ids)):
            bucket = self.buckets.token_bucket(len(chunk.ids))
            if (batches and len(batches[-1]) < rows
                    and self.buckets.token_bucket(len(batches[-1][0].ids)) == bucket):
                batches[-1].append(chunk)
            else:
                batches.append([chunk])
        return batches

    def _run(self, requests: list[tuple[str, SynthesisOptions]],
             progress: bool | None) -> list[Audio | Exception]:
        from tqdm import tqdm

        results: list[Audio | Exception | None] = [None] * len(requests)
        chunks: list[_Chunk] = []
        for i, (text, opts) in enumerate(requests):
            try:
                chunks.extend(self._chunks(i, text, opts))
            except Exception as e:  # reported in this request's place
                results[i] = e
        order = sorted(chunks, key=lambda c: len(c.ids))
        batches: list[list[_Chunk]] = []
        for chunk in order:
            bucket = self.buckets.token_bucket(len(chunk.ids))
            if (batches and len(batches[-1]) < self.buckets.max_batch
                    and self.buckets.token_bucket(len(batches[-1][0].ids)) == bucket):
                batches[-1].append(chunk)
            else:
                batches.append([chunk])
        show = progress if progress is not None else len(requests) > 1 and len(batches) > 4
        remaining = [0] * len(requests)
        for c in chunks:
            remaining[c.text_index] += 1
        # No bar object unless it is shown: even a disabled one costs ~15 µs per call.
        bar = tqdm(total=len(requests), desc="synthesizing", unit="text") if show else None
        with bar if bar is not None else contextlib.nullcontext():

            def finished(batch: list[_Chunk]) -> None:
                for c in batch:
                    remaining[c.text_index] -= 1
                    if remaining[c.text_index] == 0 and bar is not None:
                        bar.update(1)

            if len(self.replicas) == 1 or len(batches) == 1:
                self._run_batches(batches, results, self.backend, finished)
            else:
                self._run_spread(batches, results, finished)
        parts: list[list[Audio]] = [[] for _ in requests]
        for c in chunks:
            if c.audio is not None:
                parts[c.text_index].append(Audio(c.audio, self.sample_rate))
        out: list[Audio | Exception] = []
        for i, (_, opts) in enumerate(requests):
            r = results[i]
            out.append(r if r is not None else Audio.concatenate(parts[i], opts.sentence_pause))
        return out

    def _run_spread(self, batches: list[list[_Chunk]], results: list[Audio | Exception | None],
                    finished: Callable[[list[_Chunk]], None]) -> None:
        """Run ``batches`` over every replica at once: each device thread takes the next batch
        as soon as it is free (the longest batches first, so the last ones are short)."""
        pending = queue.SimpleQueue[list[_Chunk]]()
        for batch in sorted(batches, key=lambda bt: -max(len(c.ids) for c in bt) * len(bt)):
            pending.put(batch)
        lock = threading.Lock()

        def taken() -> Iterator[list[_Chunk]]:
            while True:
                try:
                    yield pending.get_nowait()
                except queue.Empty:
                    return

        def done(batch: list[_Chunk]) -> None:
            with lock:
                finished(batch)

        self._on_replicas(lambda backend: self._run_batches(taken(), results, backend, done))

    def _run_batches(self, batches: Iterable[list[_Chunk]],
                     results: list[Audio | Exception | None], backend: Backend,
                     finished: Callable[[list[_Chunk]], None]) -> None:
        """Run ``batches`` one after another on ``backend``, each batch's audio copied out while
        the device already works on the next one (where the backend's ``decode_async`` returns
        early). A batch that fails is run again row by row at the end, so that only the
        culprit fails."""
        failed: list[list[_Chunk]] = []
        in_flight: tuple[list[_Chunk], _Started] | None = None

        def settle(batch: list[_Chunk], started: _Started) -> None:
            try:
                self._finish_batch(batch, started)
            except Exception:
                log.exception("a batch of %d failed", len(batch))
                failed.append(batch)
                return
            finished(batch)

        for batch in batches:
            started: _Started | None = None
            try:
                started = self._start_batch(batch, backend)
            except Exception:
                log.exception("a batch of %d failed", len(batch))
                failed.append(batch)
            if in_flight is not None:
                settle(*in_flight)
            in_flight = None if started is None else (batch, started)
        if in_flight is not None:
            settle(*in_flight)
        for batch in failed:  # nothing else in flight now
            self._run_rows(batch, results, backend)
            finished(batch)

    def _run_rows(self, batch: list[_Chunk], results: list[Audio | Exception | None],
                  backend: Backend) -> None:
        """After ``batch`` failed: run its chunks one by one, so that only the culprit fails."""
        if len(batch) == 1:
            results[batch[0].text_index] = _device_error(batch[0])
            return
        log.info("retrying the failed batch's %d rows one by one", len(batch))
        for chunk in batch:
            try:
                self._run_batch([chunk], backend)
            except Exception:
                log.exception("text %d failed", chunk.text_index)
                results[chunk.text_index] = _device_error(chunk)

    def _run_batch(self, batch: list[_Chunk], backend: Backend | None = None) -> None:
        backend = backend or self.backend
        self._finish_batch(batch, self._start_batch(batch, backend))

    def _start_batch(self, batch: list[_Chunk], backend: Backend) -> _Started:
        """Encode ``batch`` and start its decoding."""
        b = self.buckets
        # Compiled graphs need the bucket shapes; eager execution runs the exact batch and
        # frame count (padding would only add work).
        n = b.batch_bucket(len(batch)) if backend.compiles else len(batch)
        t = b.token_bucket(max(len(c.ids) for c in batch))
        pad = self.info.padding_idx
        ids = np.full((n, t), pad, dtype=np.int64)
        speaker = np.zeros(n, np.int64)
        shift = np.zeros(n, np.float32)
        scale = np.ones(n, np.float32)
        pace = np.ones(n, np.float32)
        for row, c in enumerate(batch):
            ids[row, : len(c.ids)] = c.ids
            speaker[row] = c.options.speaker
            shift[row] = c.options.pitch_shift
            scale[row] = c.options.pitch_scale
            pace[row] = c.options.pace
        hidden, durations = backend.encode(ids, speaker, shift, scale)
        # Rounded half up after dividing by the pace, in float32 as the reference models do.
        reps = np.floor(durations.astype(np.float32) / pace[:, None] + np.float32(0.5))
        reps = reps.astype(np.int64)
        reps[len(batch):] = 0
        frames = reps.sum(axis=1)
        padded = np.zeros((n, b.max_tokens), dtype=np.int64)
        padded[:, :t] = reps
        n_frames = max(1, int(frames.max()))
        if backend.compiles:
            n_frames = b.frame_bucket(n_frames)
        return _Started(frames, backend.decode_async(hidden, padded, speaker, n_frames))

    def _finish_batch(self, batch: list[_Chunk], started: _Started) -> None:
        """Wait for ``batch``'s audio and give each chunk its samples."""
        audio = started.audio()
        for row, c in enumerate(batch):
            # A copy: the backend reuses its output buffers for later batches.
            samples = np.array(audio[row, : int(started.frames[row]) * self.hop_length],
                               np.float32)
            if c.options.denoise > 0:
                samples = self._denoise(samples, c.options.denoise)
            c.audio = samples

    def _denoise(self, samples: NDArray[np.float32], strength: float) -> NDArray[np.float32]:
        import torch

        if self._denoiser is None:
            from fastpitch_tpu.models.denoiser import Denoiser

            self._denoiser = Denoiser(self.hifigan)
        with torch.no_grad():
            out = self._denoiser(torch.from_numpy(np.ascontiguousarray(samples)), strength)
        result: NDArray[np.float32] = out.numpy().astype(np.float32)
        return result


def synthesize(
    text: str | Sequence[str],
    *,
    fastpitch: FastPitch | str | os.PathLike[str] = "default",
    hifigan: HiFiGAN | str | os.PathLike[str] | None = None,
    backend: str = "auto",
    dtype: str = "auto",
    **options: Any,
) -> Audio | list[Audio]:
    """One-call synthesis (builds a :class:`Synthesizer`; keep one for repeated use)."""
    synth = Synthesizer(fastpitch, hifigan, backend=backend, dtype=dtype)
    return synth.synthesize(text, **options)
