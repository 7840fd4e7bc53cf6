"""Multi-device scaling of the engine: aggregate real-time factor with 1, 2, ... N local devices
(``Synthesizer(devices=[first k])``) on the same batch of texts, and the efficiency against
linear scaling from the 1-device figure measured in the same run.

    python benches/scaling.py --backend jax --dtype bfloat16            # every GPU jax sees
    XLA_FLAGS=--xla_force_host_platform_device_count=4 JAX_PLATFORMS=cpu \\
        python benches/scaling.py --backend jax --dtype float32 --fastpitch tests/fixtures/...

The FastPitch weights are random (durations forced to 5-6 frames per token, as
``fastpitch-tpu bench`` does) unless ``--fastpitch`` names a checkpoint; texts are 128-token
sentences (122 tokens) of the benchmark passage, ``--texts`` per device.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from fastpitch_tpu.backends import local_devices
from fastpitch_tpu.engine import Buckets, Synthesizer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", default="auto")
    parser.add_argument("--dtype", default="bfloat16")
    parser.add_argument("--fastpitch", default=None,
                        help="checkpoint (default: random 46 M DLE-sized FastPitch)")
    parser.add_argument("--hifigan", default="lj")
    parser.add_argument("--texts", type=int, default=64, help="texts per measured call, per device")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-batch", type=int, default=16)
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    devices = local_devices(args.backend)
    from fastpitch_tpu.benchmark import _text, benchmark_models

    if args.fastpitch is None:
        fastpitch, hifigan = benchmark_models(hifigan=args.hifigan)
    else:
        fastpitch, hifigan = args.fastpitch, args.hifigan
    buckets = Buckets(tokens=(128,), batch=Buckets.batch_sizes(args.max_batch),
                      frames=(768, 1024))
    counts = sorted({1, *[k for k in (2, 4, 8) if k < len(devices)], len(devices)})
    rows = []
    base = None
    for k in counts:
        synth = Synthesizer(fastpitch, hifigan, backend=args.backend, dtype=args.dtype,
                            buckets=buckets, devices=devices[:k])
        synth.warmup(progress=False)
        texts = [_text(synth.frontend, 122)] * (args.texts * k)
        synth.synthesize(texts[:k * args.max_batch], progress=False)
        times = []
        seconds = 0.0
        for _ in range(args.repeats):
            t = time.perf_counter()
            audios = synth.synthesize(texts, progress=False)
            times.append(time.perf_counter() - t)
            seconds = sum(a.duration for a in audios)
        rtf = seconds / float(np.median(times))
        base = base or rtf
        rows.append({"devices": k, "texts": len(texts), "audio_s": round(seconds, 2),
                     "median_s": round(float(np.median(times)), 4), "rtf": round(rtf, 1),
                     "efficiency": round(rtf / (base * k), 3)})
        print(f"{k} device(s): {len(texts)} texts, {seconds:.1f} s audio in "
              f"{np.median(times):.3f} s = {rtf:.1f}x real time, "
              f"{100 * rtf / (base * k):.1f} % of linear", flush=True)
    print("| devices | texts | RTF | % of linear |\n|---|---|---|---|")
    for r in rows:
        print(f"| {r['devices']} | {r['texts']} | {r['rtf']} | {100 * r['efficiency']:.1f} |")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"backend": args.backend, "dtype": args.dtype, "devices": devices,
                       "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
