"""Which GPU kernels the engine's compiled graphs spend their time in, per call.

    PYTHONPATH=python python benches/kernel_profile.py --batch 1 16

Runs the benchmark passage (128 tokens, as ``fastpitch-tpu bench``) through the engine on a GPU
with the jax backend, recorded with JAX's profiler, or with ``--backend torch_compile``, recorded
with PyTorch's profiler (its kernels, also those replayed from CUDA graphs). Prints, per batch
size: the median wall time of a call and, for each line of the GPU's trace (XLA's modules, its
operations, each stream's kernels), the device time per call (compared with the wall time it
shows how much is host work, launches and transfers), the number of events per call, the time
per kind (convolutions, matrix products, fused element-wise kernels, copies) and the most
expensive events. With ``--backend torch_compile`` also a timeline of the median call: the GPU's
busy spans (kernels less than 5 us apart merged; one span per replayed graph, a stage-2 graph can
show as a few) against the call's wall time under the profiler, which shows how much of a call
is the GPU's own work.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import time
from collections import defaultdict
from typing import Any

from fastpitch_tpu.benchmark import _positive, _StageClock, _text, benchmark_models

KINDS = [
    # Inductor's generated kernels first: their names list the operations fused into them
    # ("..._convolution_leaky_relu_...": element-wise work on a convolution's output).
    ("fused element-wise", re.compile(r"^triton_poi_")),
    ("reduction", re.compile(r"^triton_(red|per)_")),
    ("convolution", re.compile(r"conv|xmma|cudnn|implicit|fprop|dgrad|wgrad", re.I)),
    ("matrix product", re.compile(r"gemm|cutlass|cublas|sm90_|triton_gemm|matmul", re.I)),
    ("copy / transpose", re.compile(r"copy|memcpy|memset|transpose", re.I)),
    ("reduction", re.compile(r"reduce|reduction", re.I)),
    ("fused element-wise", re.compile(r"fusion|loop_|input_|wrapped_|triton", re.I)),
]


def kind(name: str) -> str:
    for label, pattern in KINDS:
        if pattern.search(name):
            return label
    return "other"


def _device_events(trace_dir: str) -> tuple[dict[str, dict[str, list[float]]],
                                              dict[str, list[tuple[float, float, str]]]]:
    """Per line of the GPU's plane of a jax profile ("XLA Ops", "XLA Modules", each stream):
    each event name's total nanoseconds and count, and the events as (start, end, name)."""
    import glob

    from jax.profiler import ProfileData

    out: dict[str, dict[str, list[float]]] = {}
    spans: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    for path in glob.glob(f"{trace_dir}/**/*.xplane.pb", recursive=True):
        for plane in ProfileData.from_file(path).planes:
            if plane.name.startswith("/host:CPU"):
                # The host's side: Python functions and the runtime's own spans, all threads
                host = out.setdefault("host", defaultdict(lambda: [0.0, 0.0]))
                for line in plane.lines:
                    for event in line.events:
                        host[event.name][0] += event.duration_ns
                        host[event.name][1] += 1
                continue
            if not plane.name.startswith("/device:GPU"):
                continue
            for line in plane.lines:
                events = out.setdefault(line.name, defaultdict(lambda: [0.0, 0.0]))
                for event in line.events:
                    events[event.name][0] += event.duration_ns
                    events[event.name][1] += 1
                    spans[line.name].append((event.start_ns, event.end_ns, event.name))
    return out, spans


def _gaps(spans: list[tuple[float, float, str]], iters: int, top: int) -> dict[str, Any]:
    """Idle time of one stream between its kernels: short gaps (< 20 us, the GPU waiting for
    the next launch) and long ones (the host between the stages, or between calls)."""
    spans = sorted(spans)
    short = long = 0.0
    found = []
    for (_, end, before), (start, _, after) in zip(spans, spans[1:]):
        gap = max(0.0, start - end)
        if gap < 20e3:
            short += gap
        else:
            long += gap
            found.append((gap, before, after))
    found.sort(reverse=True)
    return {"short_gaps_ms": short / iters / 1e6, "long_gaps_ms": long / iters / 1e6,
            "long_gaps_per_call": len(found) / iters,
            "largest": [{"us": g / 1e3, "after": a, "before": b} for g, a, b in found[:top]]}


def busy_spans(events: list[tuple[float, float, str]],
               join_us: float = 5.0) -> list[tuple[float, float, int, str]]:
    """GPU events ``(start, end, name)`` in microseconds merged into busy spans ``(start, end,
    events, first event's name)``: events less than ``join_us`` apart join one span."""
    spans: list[list[Any]] = []
    for start, end, name in sorted(events):
        if spans and start <= spans[-1][1] + join_us:
            spans[-1][1] = max(spans[-1][1], end)
            spans[-1][2] += 1
        else:
            spans.append([start, end, 1, name])
    return [(a, b, n, name) for a, b, n, name in spans]


def call_timelines(events: list[tuple[float, float, str]],
                   calls: list[tuple[float, float]]) -> list[dict[str, Any]]:
    """Per call window ``(start, end)`` (microseconds): its wall time, the GPU's busy time inside
    it and the busy spans of at least two events (single copies and memsets left out)."""
    out = []
    for start, end in calls:
        spans = busy_spans([e for e in events if start <= e[0] < end])
        out.append({
            "wall_ms": (end - start) / 1e3,
            "gpu_busy_ms": sum(b - a for a, b, _, _ in spans) / 1e3,
            "spans": [{"ms": (b - a) / 1e3, "events": n, "first": name}
                      for a, b, n, name in spans if n >= 2],
        })
    return out


def _torch_events(synth: Any, texts: list[str], iters: int
                  ) -> tuple[dict[str, dict[str, list[float]]], list[dict[str, Any]]]:
    """The CUDA kernels PyTorch's profiler sees over ``iters`` calls (name: [ns, count]), the
    host's CUDA-graph and kernel launches, and each call's timeline (:func:`call_timelines`)."""
    import torch
    from torch.profiler import ProfilerActivity, profile, record_function

    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        for _ in range(iters):
            with record_function("engine call"):
                synth.synthesize(texts)
                if torch.cuda.is_available():
                    torch.cuda.synchronize()
    lines, gpu, calls = split_torch_events(prof.events(), torch.autograd.DeviceType.CUDA)
    return lines, call_timelines(gpu, sorted(calls))


def split_torch_events(events: Any, cuda: Any, call: str = "engine call") -> tuple[
        dict[str, dict[str, list[float]]], list[tuple[float, float, str]],
        list[tuple[float, float]]]:
    """PyTorch profiler events → the GPU's work per name (ns, count) and the host's CUDA-graph
    and kernel launches, the GPU events ``(start, end, name)`` in microseconds, and the call
    windows (the ``call`` annotation's host spans). The profiler also draws each annotation on
    the GPU's timeline (as long as the work under it): that is not GPU work and is left out."""
    kernels: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    launches: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    gpu: list[tuple[float, float, str]] = []
    calls: list[tuple[float, float]] = []
    for event in events:
        if event.device_type == cuda:
            if getattr(event, "is_user_annotation", False) or event.name == call:
                continue
            kernels[event.name][0] += event.device_time * 1e3
            kernels[event.name][1] += 1
            gpu.append((event.time_range.start, event.time_range.end, event.name))
        elif event.name == call:
            calls.append((event.time_range.start, event.time_range.end))
        elif "GraphLaunch" in event.name or "LaunchKernel" in event.name:
            launches[event.name][0] += event.cpu_time * 1e3
            launches[event.name][1] += 1
    return {"CUDA kernels": kernels, "host launches": launches}, gpu, calls


def profile(synth: Any, text: str, batch: int, iters: int, top: int) -> dict[str, Any]:
    import tempfile

    texts = [text] * batch
    for _ in range(3):
        synth.synthesize(texts)
    walls, stage1, stage2 = [], [], []
    clock = _StageClock(synth.backend)
    for _ in range(iters):
        t0 = time.perf_counter()
        synth.synthesize(texts)
        walls.append(time.perf_counter() - t0)
        s1, s2 = clock.take()
        stage1.append(s1)
        stage2.append(s2)
    spans: dict[str, list[tuple[float, float, str]]] = defaultdict(list)
    timelines: list[dict[str, Any]] = []
    if synth.backend.name == "jax":
        import jax

        with tempfile.TemporaryDirectory() as trace_dir:
            jax.profiler.start_trace(trace_dir)
            for _ in range(iters):
                synth.synthesize(texts)
            jax.profiler.stop_trace()
            lines, spans = _device_events(trace_dir)
    else:
        lines, timelines = _torch_events(synth, texts, iters)
    wall = statistics.median(walls) * 1e3
    s1, s2 = statistics.median(stage1) * 1e3, statistics.median(stage2) * 1e3
    print(f"batch {batch}: wall {wall:.2f} ms per call (stage 1 call {s1:.2f} ms, stage 2 call "
          f"{s2:.2f} ms, the rest {wall - s1 - s2:.2f} ms; without the profiler)", flush=True)
    result: dict[str, Any] = {"batch": batch, "wall_ms": wall, "stage1_ms": s1,
                              "stage2_ms": s2, "lines": {}}
    if timelines:
        median = sorted(timelines, key=lambda t: t["wall_ms"])[len(timelines) // 2]
        result["timeline"] = median
        print(f"  the median call under the profiler: {median['wall_ms']:.3f} ms, the GPU busy "
              f"{median['gpu_busy_ms']:.3f} ms of it; busy spans:", flush=True)
        for span in median["spans"]:
            print(f"    {span['ms']:7.3f} ms {span['events']:4d} events, first "
                  f"{span['first'][:70]}", flush=True)
    for line, events in lines.items():
        if line in ("host", "host launches"):
            ranked = sorted(events.items(), key=lambda kv: -kv[1][0])[:40]
            what = ("host spans (inclusive, all threads)" if line == "host"
                    else "host calls launching CUDA graphs and kernels")
            print(f"  {what}, per call:", flush=True)
            for name, (t, n) in ranked:
                print(f"    {t / iters / 1e6:7.3f} ms {n / iters:5.1f}x  {name[:110]}", flush=True)
            result["host"] = [{"name": k, "ms": v[0] / iters / 1e6, "per_call": v[1] / iters}
                              for k, v in ranked]
            continue
        total = sum(t for t, _ in events.values()) / iters / 1e6
        count = sum(n for _, n in events.values()) / iters
        print(f"  {line}: {total:.3f} ms in {count:.0f} events per call", flush=True)
        by_kind: dict[str, float] = defaultdict(float)
        for name, (t, _) in events.items():
            by_kind[kind(name)] += t / iters / 1e6
        if line != "XLA Modules":
            print("    " + ", ".join(f"{k} {v:.3f}" for k, v in
                                     sorted(by_kind.items(), key=lambda kv: -kv[1])), flush=True)
        ranked = sorted(events.items(), key=lambda kv: -kv[1][0])[:top]
        gaps = _gaps(spans[line], iters, 12)
        if "Compute" in line:
            print(f"    idle between kernels per call: {gaps['short_gaps_ms']:.3f} ms in gaps "
                  f"under 20 us, {gaps['long_gaps_ms']:.3f} ms in "
                  f"{gaps['long_gaps_per_call']:.1f} longer gaps; the longest:", flush=True)
            for g in gaps["largest"]:
                print(f"      {g['us']:9.1f} us after {g['after'][:50]} before "
                      f"{g['before'][:50]}", flush=True)
        for name, (t, n) in ranked:
            print(f"    {t / iters / 1e6:7.3f} ms {n / iters:5.1f}x  {name[:110]}", flush=True)
        result["lines"][line] = {
            "ms_per_call": total, "events_per_call": count, "by_kind_ms": dict(by_kind),
            "gaps": gaps,
            "top": [{"name": k, "ms": v[0] / iters / 1e6, "per_call": v[1] / iters}
                    for k, v in ranked]}
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="jax", choices=["jax", "torch_compile"])
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--batch", nargs="+", type=_positive, default=[1, 16])
    ap.add_argument("--iters", type=_positive, default=20)
    ap.add_argument("--top", type=_positive, default=25)
    ap.add_argument("--hifigan", default="lj")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()

    from fastpitch_tpu.engine import Buckets, Synthesizer

    fastpitch, hifigan = benchmark_models(hifigan=args.hifigan)
    results = []
    for batch in args.batch:
        synth = Synthesizer(fastpitch, hifigan, backend=args.backend, dtype=args.dtype,
                            buckets=Buckets(tokens=(128,), batch=(batch,)))
        text = _text(synth.frontend, 128)
        results.append(profile(synth, text, batch, args.iters, args.top))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
