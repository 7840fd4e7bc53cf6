"""Compile and run times of the jax backend's graphs under per-executable XLA options.

    bash benches/gpu_bench.sh benches/compile_options.py --options '{"xla_gpu_autotune_level": 1}'

Compiles the encode and decode graphs of the benchmark passage (128 tokens, 768 frames) at batch
1 and 16 into an empty cache folder, with ``--options`` (a JSON object of XLA debug options)
given to every ``compile()``, then times synthesis at both batch sizes. Prints, per graph, the
whole time (tracing, lowering, XLA) and XLA's compile step alone, and the median call times. Run
one process per option set: XLA reads some options once per process.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from typing import Any

from fastpitch_tpu.benchmark import _positive, _text, benchmark_models


def _options(value: str) -> dict[str, Any]:
    try:
        options = json.loads(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(f"not JSON: {e}") from None
    if not isinstance(options, dict):
        raise argparse.ArgumentTypeError(f"expected a JSON object, got {value!r}")
    return options


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--options", type=_options, default={}, help="XLA options as a JSON object")
    ap.add_argument("--hifigan", default="lj")
    ap.add_argument("--iters", type=_positive, default=20)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    options: dict[str, Any] = args.options

    import jax.stages

    xla_seconds: list[float] = []
    compile_fn = jax.stages.Lowered.compile

    def compile_with_options(self: Any, compiler_options: Any = None, **kw: Any) -> Any:
        merged = dict(options, **(compiler_options or {}))
        t0 = time.perf_counter()
        try:
            return compile_fn(self, compiler_options=merged or None, **kw)
        finally:
            xla_seconds.append(time.perf_counter() - t0)

    jax.stages.Lowered.compile = compile_with_options  # type: ignore[method-assign]

    from fastpitch_tpu.engine import Buckets, Synthesizer

    fastpitch, hifigan = benchmark_models(hifigan=args.hifigan)
    result: dict[str, Any] = {"options": options, "graphs": {}, "p50_ms": {}}
    with tempfile.TemporaryDirectory() as cache:
        synth = Synthesizer(fastpitch, hifigan, backend="jax", dtype="bfloat16", cache_dir=cache,
                            buckets=Buckets(tokens=(128,), batch=(1, 16), frames=(768,)))
        backend = synth.backend
        for stage, batch, size in [("encode", 1, 128), ("encode", 16, 128),
                                   ("decode", 1, 768), ("decode", 16, 768)]:
            before = len(xla_seconds)
            t0 = time.perf_counter()
            backend.compile_only(stage, batch, size, 128)
            total = time.perf_counter() - t0
            xla = sum(xla_seconds[before:])
            result["graphs"][f"{stage} b={batch}"] = {"total_s": total, "xla_s": xla}
            print(f"{stage} b={batch:<3} {total:6.2f} s ({xla:6.2f} s in XLA's compile step)",
                  flush=True)
        text = _text(synth.frontend, 128)
        for batch in (1, 16):
            texts = [text] * batch
            for _ in range(2):
                synth.synthesize(texts)
            times = []
            for _ in range(args.iters):
                t0 = time.perf_counter()
                synth.synthesize(texts)
                times.append(time.perf_counter() - t0)
            result["p50_ms"][batch] = statistics.median(times) * 1e3
            print(f"batch {batch:<3} p50 {result['p50_ms'][batch]:.2f} ms", flush=True)
    print(f"options {options}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
