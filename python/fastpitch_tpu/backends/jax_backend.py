"""JAX backend: our PyTorch stages traced to JAX by ``torchax`` and compiled with ``jax.jit``,
one executable per bucket shape, on JAX's default device (GPU, TPU or CPU).

The weights are converted once to JAX arrays on the device; the encoder states stay there between
the two stages. Each shape is traced once through torchax and kept as a serialized
:mod:`jax.export` graph (StableHLO) under ``cache_dir/graphs/``; a later process loads it instead
of tracing the model again, and the compiled executable comes from JAX's persistent compilation
cache (``cache_dir``). The graphs' folder is named by a digest of everything a traced graph
depends on besides the weights' values (this package's version and model code, jax and torchax
versions, the models' configurations, dtype, platform, parameter shapes), so a changed model
never reuses a stale graph.

The converted weights are kept too, beside the models' facts in the pair's cache folder
(``StageSource.folder``, ``jax-<dtype>-<platform>-<tokens>.safetensors`` with the graphs' digest
in a ``.json``): a process that finds them and the saved graphs of its shapes starts without
loading the checkpoints or importing PyTorch and torchax; they are loaded only if a shape has to
be traced.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import logging
import os
import sys
import threading
import types
import typing
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from fastpitch_tpu.atomic_files import write_atomic
from fastpitch_tpu.backends.base import Backend, StageSource, torch_dtype
from fastpitch_tpu.source_digest import source_digest
from fastpitch_tpu.version import __version__

if typing.TYPE_CHECKING:
    from fastpitch_tpu.models.stages import DecodeStage, EncodeStage

__all__ = ["JaxBackend", "jax_devices"]

log = logging.getLogger("fastpitch_tpu")

_CACHE_SET = False


def _jax() -> Any:
    # Unless told otherwise, let JAX's GPU memory pool grow on demand instead of reserving 75 %
    # of the device when it starts (which alone takes 1.4 s on an H200, and leaves nothing to
    # other processes). Read when JAX creates its GPU client, so this works until then.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    try:
        import jax
    except ImportError as e:
        raise ImportError(
            "the jax backend needs jax and torchax: pip install 'fastpitch-tpu[jax]'"
        ) from e
    return jax


def _jax_modules() -> tuple[Any, Any]:
    if "flax" not in sys.modules and importlib.util.find_spec("flax") is None:
        # torchax's __init__ imports flax only for its checkpoint helpers, which are not used
        # here: stand in empty modules rather than require flax and its dependencies.
        for name in ("flax", "flax.training", "flax.training.checkpoints"):
            module = types.ModuleType(name)
            module.__spec__ = importlib.machinery.ModuleSpec(name, None)
            sys.modules[name] = module
        sys.modules["flax"].training = sys.modules["flax.training"]  # type: ignore[attr-defined]
        sys.modules["flax.training"].checkpoints = (  # type: ignore[attr-defined]
            sys.modules["flax.training.checkpoints"])
    jax = _jax()
    try:
        import torchax
    except ImportError as e:
        raise ImportError(
            "the jax backend needs jax and torchax: pip install 'fastpitch-tpu[jax]'"
        ) from e
    return jax, torchax


def jax_devices() -> list[str]:
    """Every device of JAX's default platform, as ``"platform:index"`` names."""
    devices = _jax().devices()
    return [f"{d.platform}:{i}" for i, d in enumerate(devices)]


class JaxBackend(Backend):
    name = "jax"
    parallel_compile = True

    def __init__(self, source: StageSource, *, dtype: str, device: str | None = None,
                 cache_dir: str | None = None) -> None:
        super().__init__(source, dtype=dtype, device=device, cache_dir=cache_dir)
        jax = _jax()
        self._jax = jax
        global _CACHE_SET
        if cache_dir and not _CACHE_SET:
            jax.config.update("jax_compilation_cache_dir", cache_dir)
            jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
            _CACHE_SET = True
        if device is None:
            self._device = jax.devices()[0]
        else:
            platform, _, index = device.partition(":")
            try:
                self._device = jax.devices(platform)[int(index or 0)]
            except (RuntimeError, IndexError, ValueError) as e:
                raise ValueError(f"unknown jax device {device!r} (e.g. gpu:0, cpu:0; this "
                                 f"machine has {jax_devices()}): {e}") from None
        self.device_name = (f"{self._device.platform}:"
                            f"{jax.devices(self._device.platform).index(self._device)}")
        self._source = source
        self._fns: dict[tuple[int, ...], Any] = {}
        """One compiled executable per shape: ``(0, batch, tokens)`` encode, ``(1, frames,
        batch, tokens)`` decode."""
        self._building: dict[tuple[int, ...], threading.Event] = {}
        self._lock = threading.Lock()
        self._export_failed = False
        self._hidden: Any = None
        """Shape and dtype of the encoder states (from the first encode graph)."""
        self._tracing: tuple[Any, Any, Any] | None = None
        """torchax's encode and decode functions and its thread state, made on the first
        trace."""
        ready = self._ready_files(source)
        loaded = self._load_ready(*ready) if ready is not None else None
        if loaded is None:
            encode, decode = source.stages()
            states, digest = self._convert(encode, decode)
            if ready is not None:
                self._save_ready(*ready, states, digest)
        else:
            states, digest = loaded
        self._enc_states = jax.device_put(states[0], self._device)
        self._dec_states = jax.device_put(states[1], self._device)
        self._graphs = Path(cache_dir) / "graphs" / digest if cache_dir else None

    def _ready_files(self, source: StageSource) -> tuple[Path, Path] | None:
        """Where the converted weights (safetensors) and their facts (JSON) are kept."""
        if source.folder is None:
            return None
        stem = f"jax-{self.dtype}-{self._device.platform}-{source.pad_to}"
        return source.folder / f"{stem}.safetensors", source.folder / f"{stem}.json"

    def _convert(self, encode: EncodeStage, decode: DecodeStage) -> tuple[Any, str]:
        """The stages' weights as JAX arrays (in the backend's dtype) and the graphs' digest;
        keeps torchax's functions of the stages for tracing."""
        _, torchax = _jax_modules()
        dtype = torch_dtype(self.dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            enc_states, enc_fn = torchax.extract_jax(copy.deepcopy(encode).to(dtype).eval())
            dec_states, dec_fn = torchax.extract_jax(copy.deepcopy(decode).to(dtype).eval())
        # torchax keeps its tracing state in a thread-local. Releases that hold a list there
        # give it only to the thread which created the environment: a device or compile thread
        # that traces gets a copy of that thread's list first. (Releases with a per-thread
        # factory need nothing.)
        env = torchax.default_env()
        content = getattr(env._property, "content", None)
        state = (env._property, list(content) if isinstance(content, list) else None)
        self._tracing = (enc_fn, dec_fn, state)
        return (enc_states, dec_states), self._graph_digest(encode, decode)

    def _save_ready(self, weights: Path, facts: Path, states: Any, digest: str) -> None:
        from safetensors.numpy import save

        flat = {f"{stage}.{name}": np.asarray(array)
                for stage, tree in zip(("encode", "decode"), states)
                for name, array in tree.items()}
        try:
            weights.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(weights, save(flat))
            write_atomic(facts, json.dumps({"graphs": digest, "encode": sorted(states[0]),
                                            "decode": sorted(states[1])}))
        except OSError as e:
            log.warning("could not save the converted weights in %s (%s)", weights.parent, e)

    def _load_ready(self, weights: Path, facts: Path) -> tuple[Any, str] | None:
        """The converted weights and graphs' digest kept by an earlier process, or None."""
        if not (weights.is_file() and facts.is_file()):
            return None
        try:
            from safetensors.numpy import load_file

            meta = json.loads(facts.read_text(encoding="utf-8"))
            flat = load_file(str(weights))  # host arrays: moved to the device in one transfer
            states = tuple({name: flat[f"{stage}.{name}"] for name in meta[stage]}
                           for stage in ("encode", "decode"))
            return states, str(meta["graphs"])
        except Exception as e:  # damaged or foreign: convert again
            log.warning("ignoring the converted weights %s (%s)", weights, e)
            return None

    def _trace_fns(self) -> tuple[Any, Any]:
        """torchax's functions of the two stages, with this thread's torchax state in place.
        A backend built from converted weights loads the models and torchax here, the first
        time a shape has to be traced. Called with the lock held, before tracing."""
        if self._tracing is None:
            self._convert(*self._source.stages())
        assert self._tracing is not None
        enc_fn, dec_fn, (local, content) = self._tracing
        if content is not None and not hasattr(local, "content"):
            local.content = list(content)
        return enc_fn, dec_fn

    def _graph_digest(self, encode: EncodeStage, decode: DecodeStage) -> str:
        shapes = {name: [list(t.shape), str(t.dtype)] for module in (encode, decode)
                  for name, t in module.state_dict().items()}
        facts = {
            "package": __version__, "code": source_digest("models"),
            "jax": self._jax.__version__, "torchax": importlib.metadata.version("torchax"),
            "dtype": str(torch_dtype(self.dtype)), "platform": self._device.platform,
            "fastpitch": repr(encode.fastpitch.config), "hifigan": repr(decode.hifigan.config),
            "pitch_stats": repr(encode.pitch_stats), "pad_to": encode.pad_to, "shapes": shapes,
        }
        return hashlib.sha256(json.dumps(facts, sort_keys=True).encode()).hexdigest()[:20]

    def _exported(self, key: tuple[int, ...], trace: Any, args: tuple[Any, ...]) -> Any:
        """The shape's graph: loaded from the graphs folder, else traced (and saved)."""
        from jax import export

        path = (self._graphs / ("-".join(map(str, key)) + ".jaxexport")
                if self._graphs is not None else None)
        if path is not None and path.is_file():
            try:
                return export.deserialize(bytearray(path.read_bytes()))
            except Exception as e:  # damaged or foreign: trace again and replace it
                log.warning("ignoring the saved graph %s (%s)", path, e)
        # export names platforms canonically ("cuda", not "gpu"); its default is the default
        # backend's, which covers GPUs; other devices (cpu, tpu) already have canonical names.
        platform = self._device.platform
        platforms = None if platform == self._jax.default_backend() else [platform]
        self._trace_fns()
        exported = export.export(self._jax.jit(trace), platforms=platforms)(*args)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, exported.serialize())
            except OSError as e:
                log.warning("could not save the graph %s (%s)", path, e)
        return exported

    def _lower(self, key: tuple[int, ...], trace: Any, args: tuple[Any, ...]) -> Any:
        """The shape's lowered graph, through a saved (or newly saved) exported graph; where
        the graph cannot be exported on this platform, traced directly (every process then
        traces it again)."""
        try:
            exported = self._exported(key, trace, args)
            return self._jax.jit(exported.call).trace(*args).lower()
        except Exception as e:
            if not self._export_failed:
                log.warning("the jax graphs cannot be saved or loaded here (%s); each process "
                            "traces them again", e)
                self._export_failed = True
            self._trace_fns()
            return self._jax.jit(trace).trace(*args).lower()

    @staticmethod
    def _host(a: NDArray[Any]) -> NDArray[Any]:
        """A small input as the compiled graphs take it (int32 instead of int64). It is passed to
        the executable as a NumPy array: the executable's own call moves it to the device, which
        costs less host time than a separate ``jax.device_put`` per input."""
        if a.dtype == np.int64:
            a = a.astype(np.int32)
        return np.ascontiguousarray(a)

    def _compiled(self, key: tuple[int, ...], trace: Any, args: tuple[Any, ...]) -> Any:
        """The shape's compiled executable. Its first use gets the graph (loaded, or traced
        under the lock: torchax swaps the shared module's tensors while tracing) and compiles it
        outside the lock (XLA's compiler runs without the GIL, so warm-up threads compile
        several shapes at once). ``args`` may be arrays or ``jax.ShapeDtypeStruct``s. Calling
        an executable with other shapes or types fails instead of compiling again."""
        compiled = self._fns.get(key)
        if compiled is not None:
            return compiled
        with self._lock:
            compiled = self._fns.get(key)
            if compiled is not None:
                return compiled
            waiting = self._building.get(key)
            if waiting is None:
                done = self._building[key] = threading.Event()
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        lowered = self._lower(key, trace, args)
                    if key[0] == 0:
                        self._hidden = lowered.out_info[0]
                except BaseException:
                    del self._building[key]
                    done.set()
                    raise
        if waiting is not None:  # another thread is compiling this shape
            waiting.wait()
            if key not in self._fns:
                raise RuntimeError(f"compiling the graph {key} failed in another thread")
            return self._fns[key]
        try:
            compiled = lowered.compile()
            with self._lock:
                self._fns[key] = compiled
        finally:
            with self._lock:
                del self._building[key]
            done.set()
        return compiled

    def _encode_trace(self) -> Any:
        def trace(states: Any, ids: Any, speaker: Any, shift: Any, scale: Any) -> Any:
            assert self._tracing is not None  # _trace_fns() ran before tracing
            return self._tracing[0](states, (ids, speaker, shift, scale))

        return trace

    def _decode_trace(self, n_frames: int) -> Any:
        def trace(states: Any, h: Any, reps: Any, spk: Any) -> Any:
            assert self._tracing is not None
            return self._tracing[1](states, (h, reps, spk, n_frames))

        return trace

    def _abstract(self, shape: tuple[int, ...], dtype: Any) -> Any:
        """An input's shape and type on this backend's device (what a graph is compiled for)."""
        jax = self._jax
        return jax.ShapeDtypeStruct(shape, dtype,
                                    sharding=jax.sharding.SingleDeviceSharding(self._device))

    def _like(self, a: NDArray[Any]) -> Any:
        return self._abstract(a.shape, a.dtype)

    def encode(self, ids: NDArray[np.int64], speaker: NDArray[np.int64],
               pitch_shift: NDArray[np.float32],
               pitch_scale: NDArray[np.float32]) -> tuple[Any, NDArray[np.float32]]:
        host = [self._host(a) for a in (ids, speaker, pitch_shift, pitch_scale)]
        key = (0, *ids.shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn = self._fns.get(key) or self._compiled(
                key, self._encode_trace(), (self._enc_states, *map(self._like, host)))
            hidden, durations = fn(self._enc_states, *host)
        return hidden, np.asarray(durations, dtype=np.float32)

    def decode(self, hidden: Any, frames_per_token: NDArray[np.int64],
               speaker: NDArray[np.int64], n_frames: int) -> NDArray[np.float32]:
        return np.asarray(self._decode_on_device(hidden, frames_per_token, speaker, n_frames),
                          dtype=np.float32)

    def decode_async(self, hidden: Any, frames_per_token: NDArray[np.int64],
                     speaker: NDArray[np.int64],
                     n_frames: int) -> Callable[[], NDArray[np.float32]]:
        # JAX dispatches asynchronously: the graph runs (and its audio comes back) meanwhile.
        audio = self._decode_on_device(hidden, frames_per_token, speaker, n_frames)
        audio.copy_to_host_async()
        return lambda: np.asarray(audio, dtype=np.float32)

    def _decode_on_device(self, hidden: Any, frames_per_token: NDArray[np.int64],
                          speaker: NDArray[np.int64], n_frames: int) -> Any:
        host = [self._host(a) for a in (frames_per_token, speaker)]
        key = (1, n_frames, *frames_per_token.shape)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn = self._fns.get(key) or self._compiled(
                key, self._decode_trace(n_frames),
                (self._dec_states, self._abstract(hidden.shape, hidden.dtype),
                 *map(self._like, host)))
            return fn(self._dec_states, hidden, *host)

    def stage_graph(self, stage: str, batch: int, size: int,
                    max_tokens: int) -> tuple[tuple[int, ...], Callable[..., Any], tuple[Any, ...]]:
        """What one shape's graph is made of: its key, the function ``jax.jit`` traces and its
        arguments (this backend's converted weights, then the inputs as
        ``jax.ShapeDtypeStruct``s), for the ``stage`` (``"encode"`` or ``"decode"``) at
        ``batch`` rows and ``size`` tokens or frames. :meth:`compile_only` compiles exactly
        this; it lets a graph be lowered for another platform (e.g. exported for TPU on a
        machine without one). The decode stage's arguments include the encoder states' shape,
        which comes from an encode graph (compiled here if none has been yet)."""
        abstract = self._abstract
        i32, f32 = np.dtype(np.int32), np.dtype(np.float32)
        if stage == "encode":
            return (0, batch, size), self._encode_trace(), (
                self._enc_states, abstract((batch, size), i32), abstract((batch,), i32),
                abstract((batch,), f32), abstract((batch,), f32))
        if self._hidden is None:  # the encoder states' shape comes from an encode graph
            self.compile_only("encode", batch, max_tokens, max_tokens)
        assert self._hidden is not None
        hidden = abstract((batch, *self._hidden.shape[1:]), self._hidden.dtype)
        return (1, size, batch, max_tokens), self._decode_trace(size), (
            self._dec_states, hidden, abstract((batch, max_tokens), i32),
            abstract((batch,), i32))

    @contextlib.contextmanager
    def tracing(self) -> Iterator[None]:
        """Held while tracing a function of :meth:`stage_graph` (torchax swaps the shared
        modules' tensors while it traces), with torchax's tracing state in place for this
        thread (the models are loaded here if the backend started from converted weights)."""
        with self._lock:
            self._trace_fns()
            yield

    def compile_only(self, stage: str, batch: int, size: int, max_tokens: int) -> bool:
        """Compiles the graph of one shape from abstract inputs, without running it."""
        self._compiled(*self.stage_graph(stage, batch, size, max_tokens))
        return True

    def compile_count(self) -> int:
        return len(self._fns)

    def compile_threads(self) -> int:
        # On a GPU, XLA times candidate kernels on the device while it compiles (autotuning):
        # compiles running side by side share the device and slow each other down (on one
        # H200, 10 graphs took 48 s one at a time, 39 s two at a time, over 110 s eight at a
        # time). CPU and TPU compiles scale with the threads.
        if self._device.platform in ("gpu", "cuda", "rocm"):
            return 2
        return super().compile_threads()

    def peak_memory_bytes(self) -> int | None:
        try:
            stats = self._device.memory_stats()
        except Exception:  # platforms without memory statistics
            return None
        return int(stats["peak_bytes_in_use"]) if stats and "peak_bytes_in_use" in stats else None
