"""PyTorch backend: eager (the reference path) or ``torch.compile`` of each bucket's graph (each
recorded as a CUDA graph on a GPU). CUDA when available, else CPU."""

from __future__ import annotations

import contextlib
import copy
import math
import os
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import numpy as np
import torch
from numpy.typing import NDArray
from torch import Tensor

from fastpitch_tpu.backends.base import Backend, StageSource, torch_dtype

__all__ = ["TorchBackend", "TorchCompileBackend"]


class TorchBackend(Backend):
    """Eager PyTorch: no compilation, any shape."""

    name = "torch"
    compiles = False
    runs_uncompiled = True

    def __init__(self, source: StageSource, *, dtype: str, device: str | None = None,
                 cache_dir: str | None = None) -> None:
        super().__init__(source, dtype=dtype, device=device, cache_dir=cache_dir)
        if device is None:
            device = "cuda" if torch.cuda.is_available() else "cpu"
        try:
            self.torch_device = torch.device(device)
        except RuntimeError as e:
            raise ValueError(f"unknown device {device!r} (e.g. cpu, cuda, cuda:1): {e}") from None
        self.device_name = str(self.torch_device)
        # On a CPU, oneDNN creates and keeps convolution primitives for every new input length:
        # frame buckets keep that set (and the memory it holds) bounded. On a GPU the exact
        # shapes stay the reference path.
        self.pads_frames = self.compiles or self.torch_device.type == "cpu"
        encode, decode = source.stages()
        self._encode = _own(encode, self.torch_device, torch_dtype(dtype))
        self._decode = _own(decode, self.torch_device, torch_dtype(dtype))
        # The stage calls its vocoder as it calls the model: (mel, lengths) -> audio.
        if self._vocoder_channels_last():
            self._decode.hifigan = _ChannelsLastVocoder(  # type: ignore[assignment]
                self._decode.hifigan)
        if self.torch_device.type == "cpu" and not self.compiles:
            self._decode.hifigan = _TiledVocoder(  # type: ignore[assignment]
                self._decode.hifigan, decode.hifigan.config)

    def _vocoder_channels_last(self) -> bool:
        """Whether the vocoder runs in its 2-D channels-last form: on a CPU, where oneDNN's
        channels-last convolutions are the faster ones (docs/performance.md)."""
        return self.torch_device.type == "cpu"

    def _on_device(self, a: NDArray[Any]) -> Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(self.torch_device)

    def _t(self, a: NDArray[Any]) -> Tensor:
        """An input as the stages' calls take it (on the device; the compiled backend's captured
        graphs copy it from the host themselves)."""
        return self._on_device(a)

    def _run_encode(self, *args: Any) -> tuple[Tensor, Tensor]:
        out: tuple[Tensor, Tensor] = self._encode(*args)
        return out

    def _run_decode(self, *args: Any) -> Tensor:
        out: Tensor = self._decode(*args)
        return out

    def peak_memory_bytes(self) -> int | None:
        if self.torch_device.type != "cuda":
            return None
        return int(torch.cuda.max_memory_allocated(self.torch_device))

    def reset_peak_memory(self) -> None:
        if self.torch_device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.torch_device)

    @torch.inference_mode()
    def encode(self, ids: NDArray[np.int64], speaker: NDArray[np.int64],
               pitch_shift: NDArray[np.float32],
               pitch_scale: NDArray[np.float32]) -> tuple[Any, NDArray[np.float32]]:
        hidden, durations = self._run_encode(self._t(ids), self._t(speaker),
                                             self._t(pitch_shift), self._t(pitch_scale))
        return hidden, durations.float().cpu().numpy()

    @torch.inference_mode()
    def decode(self, hidden: Any, frames_per_token: NDArray[np.int64],
               speaker: NDArray[np.int64], n_frames: int) -> NDArray[np.float32]:
        audio = self._run_decode(hidden, self._t(frames_per_token), self._t(speaker), n_frames)
        result: NDArray[np.float32] = audio.float().cpu().numpy()
        return result

    @torch.inference_mode()
    def encode_uncompiled(self, ids: NDArray[np.int64], speaker: NDArray[np.int64],
                          pitch_shift: NDArray[np.float32],
                          pitch_scale: NDArray[np.float32]) -> tuple[Any, NDArray[np.float32]]:
        # The eager modules themselves, never their compiled wrappers: nothing here compiles,
        # captures or touches the compiled path's buffers. The states are contiguous, as the
        # compiled path's are, so that either path's states meet the same decode graph.
        hidden, durations = self._encode(self._on_device(ids), self._on_device(speaker),
                                         self._on_device(pitch_shift),
                                         self._on_device(pitch_scale))
        return hidden.contiguous(), durations.float().cpu().numpy()

    @torch.inference_mode()
    def decode_uncompiled(self, hidden: Any, frames_per_token: NDArray[np.int64],
                          speaker: NDArray[np.int64], n_frames: int) -> NDArray[np.float32]:
        audio = self._decode(hidden, self._on_device(frames_per_token),
                             self._on_device(speaker), n_frames)
        result: NDArray[np.float32] = audio.float().cpu().numpy()
        return result


_Stage = TypeVar("_Stage", bound=torch.nn.Module)


def _own(stage: _Stage, device: torch.device, dtype: torch.dtype) -> _Stage:
    """``stage`` in inference mode on ``device`` in ``dtype`` without touching the caller's
    module: a copy where a conversion is needed; else a shallow copy that shares the weights (a
    second copy of them would only cost memory) and whose submodules can be replaced."""
    tensors = [*stage.parameters(), *stage.buffers()]
    if all(t.device == device and (not t.is_floating_point() or t.dtype == dtype)
           for t in tensors):
        shallow = copy.copy(stage)
        shallow._modules = dict(stage._modules)
        return shallow.eval()
    return copy.deepcopy(stage).to(device, dtype).eval()


class _TiledVocoder(torch.nn.Module):
    """The vocoder run over a long mel in tiles of ``TILE`` frames, each with ``halo`` frames
    of context on both sides (at least the generator's receptive field, so every kept sample is
    computed from the same inputs as in one pass; float rounding aside). Memory then stays at
    one tile's activations, whatever the length: in one pass they grow with the piece (on a CPU
    the convolutions' unfolded inputs most of all; docs/performance.md has the measurement). Tiles wholly past every row's
    length are not run (the model's output there is 0)."""

    TILE = 192

    def __init__(self, vocoder: torch.nn.Module, config: Any) -> None:
        super().__init__()
        self.vocoder = vocoder
        self.hop = int(config.hop_length)
        self.halo = int(math.ceil(config.receptive_frames)) + 1

    def forward(self, mel: Tensor, lengths: Tensor | None = None) -> Tensor:
        frames = mel.shape[-1]
        if frames <= self.TILE + 2 * self.halo:
            out: Tensor = self.vocoder(mel, lengths)
            return out
        last = frames if lengths is None else int(lengths.max())
        pieces = []
        for start in range(0, frames, self.TILE):
            size = min(self.TILE, frames - start)
            if start >= last:
                pieces.append(mel.new_zeros(mel.shape[0], size * self.hop))
                continue
            lo, hi = max(0, start - self.halo), min(frames, start + size + self.halo)
            local = None if lengths is None else (lengths - lo).clamp(0, hi - lo)
            audio = self.vocoder(mel[..., lo:hi], local)
            pieces.append(audio[:, (start - lo) * self.hop:(start - lo + size) * self.hop])
        return torch.cat(pieces, dim=-1)


_benchmark_lock = threading.Lock()
_benchmark_users = 0
_benchmark_before = False


@contextlib.contextmanager
def _cudnn_benchmark(device: torch.device) -> Iterator[None]:
    """cuDNN's benchmark mode while compiling or running a static shape on a GPU: cuDNN times the
    candidate convolution algorithms once per shape instead of guessing (one H200, HiFi-GAN at
    batch 4 x 768 frames: 52.9 ms with its guess, 7.3 ms benchmarked). A captured graph keeps
    the algorithms chosen while it was recorded. Only this flag changes; it is put back when the
    last thread using it (one per device) is done."""
    global _benchmark_users, _benchmark_before
    if device.type != "cuda":
        yield
        return
    cudnn = torch.backends.cudnn
    with _benchmark_lock:
        if _benchmark_users == 0:
            _benchmark_before = cudnn.benchmark
            cudnn.benchmark = True
        _benchmark_users += 1
    try:
        yield
    finally:
        with _benchmark_lock:
            _benchmark_users -= 1
            if _benchmark_users == 0:
                cudnn.benchmark = _benchmark_before


_shape_lock = threading.Lock()
_shapes_per_stage: dict[str, int] = {}


def _allow_recompiles(stage: str) -> None:
    """Make room in Dynamo's recompile limits for one more static shape of ``stage``. Every
    shape is a recompilation of the same function (all instances in the process share its
    cache), and past the limit (8 by default) Dynamo silently runs the function eagerly: the
    default buckets have 63 decode shapes. The limits are only ever raised, to what the
    shapes compiled so far need."""
    import torch._dynamo.config as dynamo

    with _shape_lock:
        count = _shapes_per_stage[stage] = _shapes_per_stage.get(stage, 0) + 1
        total = sum(_shapes_per_stage.values())
        dynamo.recompile_limit = max(dynamo.recompile_limit, count)
        dynamo.accumulated_recompile_limit = max(dynamo.accumulated_recompile_limit, total)


class _CapturedGraph:
    """One shape of a compiled stage recorded as a CUDA graph: the inputs are copied into the
    graph's own buffers and the whole stage is one launch. Graphs of one backend share a memory
    pool; they run one at a time and each keeps its inputs and outputs alive, so none overwrites
    another's."""

    def __init__(self, fn: Any, args: tuple[Any, ...], pool: Any, device: torch.device) -> None:
        self.device = device
        self.inputs = [a.to(device, copy=True) if isinstance(a, Tensor) else a for a in args]
        with torch.cuda.device(device):
            side = torch.cuda.Stream()  # type: ignore[no-untyped-call]
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(2):  # the first call compiles; kernels set up before capture
                    fn(*self.inputs)
            torch.cuda.current_stream().wait_stream(side)
            self.graph = torch.cuda.CUDAGraph()
            # thread_local: other devices' threads keep running while this one records
            with torch.cuda.graph(self.graph, pool=pool, capture_error_mode="thread_local"):
                self.outputs = fn(*self.inputs)

    def __call__(self, *args: Any) -> Any:
        """Replay on ``args`` (tensors on the device or on the host: copied straight into the
        graph's buffers). The outputs are the graph's own buffers, overwritten by the next
        replay."""
        with torch.cuda.device(self.device):
            for static, a in zip(self.inputs, args):
                if isinstance(static, Tensor):
                    static.copy_(a, non_blocking=True)
            self.graph.replay()
        return self.outputs


class _ChannelsLastVocoder(torch.nn.Module):
    """The vocoder fed its 2-D form ``[batch, mels, 1, frames]`` in channels-last memory, where
    cuDNN's fastest kernels need no layout conversions around each convolution (the model runs
    the same arithmetic in either form)."""

    def __init__(self, vocoder: torch.nn.Module) -> None:
        super().__init__()
        self.vocoder = vocoder

    def forward(self, mel: Tensor, lengths: Tensor | None = None) -> Tensor:
        two_d = mel.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        out: Tensor = self.vocoder(two_d, lengths)
        return out


class TorchCompileBackend(TorchBackend):
    """``torch.compile`` with static shapes: one graph per bucket (CUDA graphs on a GPU)."""

    name = "torch_compile"
    compiles = True

    def _vocoder_channels_last(self) -> bool:
        """On a GPU, where cuDNN then needs no layout conversion kernels around each
        convolution (a CPU keeps the plain form: Inductor's CPU code was not measured with it)."""
        return self.torch_device.type == "cuda"

    def __init__(self, source: StageSource, *, dtype: str, device: str | None = None,
                 cache_dir: str | None = None) -> None:
        super().__init__(source, dtype=dtype, device=device, cache_dir=cache_dir)
        if cache_dir:
            os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", cache_dir)
        # FASTPITCH_TPU_COMPILE_MODE picks a torch.compile mode (e.g. "reduce-overhead",
        # "max-autotune"). On a GPU: the weights frozen into the graphs as constants (their
        # layouts converted once, when compiling), HiFi-GAN's convolutions in channels-last 2-D
        # form (_vocoder_channels_last), and, unless a mode is named, each shape's stage
        # recorded as one CUDA graph of our own.
        cuda = self.torch_device.type == "cuda"
        mode = os.environ.get("FASTPITCH_TPU_COMPILE_MODE") or None
        self._freeze = cuda
        # Our own CUDA graphs (_CapturedGraph) cost less host time per call than the
        # "reduce-overhead" mode's graph trees (one H200, batch 1: 4.63 -> 3.74 ms).
        self._capture = cuda and mode is None
        self._pool = None
        if self._capture:
            with torch.cuda.device(self.torch_device):
                self._pool = torch.cuda.graph_pool_handle()
        self._graphs: dict[tuple[str, int, int], _CapturedGraph] = {}
        """Each captured shape's graph, registered once it has run."""
        self._compiled_encode = torch.compile(self._encode, dynamic=False, mode=mode)
        self._compiled_decode = torch.compile(self._decode, dynamic=False, mode=mode)
        self._shapes: set[tuple[str, int, int]] = set()
        """The shapes compiled (and captured) so far: ``(stage, batch, tokens or frames)``."""
        self._compiling = threading.Lock()
        """Held while a shape compiles: one at a time, none twice (a thread that finds its shape
        being compiled waits for it instead)."""
        self._host_buffers = [torch.empty(0, dtype=torch.float32) for _ in range(2)]
        self._turn = 0

    def _compile_settings(self) -> Any:
        """Inductor's settings for the first call of a shape, when its graph compiles: freezing
        on a GPU (patching the settings costs ~0.3 ms: not on every call)."""
        if not self._freeze:
            return contextlib.nullcontext()
        import torch._inductor.config as inductor

        return inductor.patch(freezing=True)

    def is_compiled(self, stage: str, batch: int, size: int) -> bool:
        return (stage, batch, size) in self._shapes

    def _call(self, shape: tuple[str, int, int], fn: Any, args: tuple[Any, ...]) -> Any:
        graph = self._graphs.get(shape)
        if graph is not None:
            return graph(*args)
        if shape in self._shapes:  # compiled, not captured
            with _cudnn_benchmark(self.torch_device):
                return fn(*args)
        with self._compiling:
            if shape not in self._shapes:
                return self._compile(shape, fn, args)
        return self._call(shape, fn, args)  # compiled by another thread meanwhile

    def _compile(self, shape: tuple[str, int, int], fn: Any, args: tuple[Any, ...]) -> Any:
        """Compile (and capture) ``shape`` by running it once. Its graph is registered only
        after that first run, so that no other thread replays it (into the same input
        buffers) before it is complete."""
        _allow_recompiles(shape[0])
        with self._compile_settings(), _cudnn_benchmark(self.torch_device):
            if self._capture:
                graph = _CapturedGraph(fn, args, self._pool, self.torch_device)
                out = graph(*args)
                self._graphs[shape] = graph
            else:
                out = fn(*args)
        self._shapes.add(shape)
        return out

    def _run_encode(self, *args: Any) -> tuple[Tensor, Tensor]:
        batch, tokens = args[0].shape
        hidden, durations = self._call(("encode", batch, tokens), self._compiled_encode, args)
        # CUDA graphs reuse their output buffers: hidden must outlive the next replay (the
        # durations go to the host at once). Contiguous, as the compile-free path's states are.
        return hidden.clone(memory_format=torch.contiguous_format), durations

    def _run_decode(self, *args: Any) -> Tensor:
        out: Tensor = self._call(("decode", args[0].shape[0], args[3]),
                                 self._compiled_decode, args)
        return out

    def _t(self, a: NDArray[Any]) -> Tensor:
        if self._capture:
            # A captured graph copies its inputs from the host straight into its buffers.
            return torch.from_numpy(np.ascontiguousarray(a))
        return super()._t(a)

    # decode() is the eager backend's: its audio comes back in an array of its own, never in the
    # page-locked buffers decode_async() takes turns with, so that compiling a shape on one
    # thread leaves the audio of a request in flight on another untouched.

    @torch.inference_mode()
    def decode_async(self, hidden: Any, frames_per_token: NDArray[np.int64],
                     speaker: NDArray[np.int64],
                     n_frames: int) -> Callable[[], NDArray[np.float32]]:
        if not self._capture:
            return super().decode_async(hidden, frames_per_token, speaker, n_frames)
        out = self._run_decode(hidden, self._t(frames_per_token), self._t(speaker), n_frames)
        # Two page-locked buffers, used in turn and shared by every shape (grown to the
        # largest): the audio comes back in a direct transfer, queued behind the graph, while
        # the caller still reads the previous call's audio from the other buffer.
        self._turn ^= 1
        if self._host_buffers[self._turn].numel() < out.numel():
            self._host_buffers[self._turn] = torch.empty(out.numel(), dtype=torch.float32,
                                                         pin_memory=True)
        host = self._host_buffers[self._turn][: out.numel()].view(out.shape)
        with torch.cuda.device(self.torch_device):
            host.copy_(out, non_blocking=True)
            done = torch.cuda.Event()  # type: ignore[no-untyped-call]
            done.record()  # type: ignore[no-untyped-call]

        def result() -> NDArray[np.float32]:
            done.synchronize()
            audio: NDArray[np.float32] = host.numpy()
            return audio

        return result

    def compile_count(self) -> int:
        from torch._dynamo.utils import counters

        return int(counters["stats"]["unique_graphs"])
