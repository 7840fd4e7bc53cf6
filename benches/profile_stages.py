"""Where the end-to-end time goes: each engine stage timed alone, per backend and dtype.

    PYTHONPATH=python python benches/profile_stages.py --backends jax torch_compile --dtypes bfloat16

Prints median milliseconds of: the frontend, stage 1 (encode: ids -> durations on the host),
stage 2 (decode: regulate + decoder + HiFi-GAN -> audio on the host), and for the jax backend
HiFi-GAN alone with and without the padding masks and the FastPitch part of stage 2 alone.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any, Callable

import numpy as np


def timed(fn: Callable[[], Any], iters: int) -> float:
    fn()
    fn()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", nargs="+", default=["jax"])
    ap.add_argument("--dtypes", nargs="+", default=["bfloat16"])
    ap.add_argument("--hifigan", default="lj")
    ap.add_argument("--iters", type=int, default=30)
    ap.add_argument("--batch", type=int, default=1)
    args = ap.parse_args()

    from fastpitch_tpu.benchmark import _text, benchmark_models
    from fastpitch_tpu.engine import Buckets, Synthesizer

    fastpitch, hifigan = benchmark_models(hifigan=args.hifigan)
    for backend in args.backends:
        for dtype in args.dtypes:
            synth = Synthesizer(fastpitch, hifigan, backend=backend, dtype=dtype,
                                buckets=Buckets(tokens=(128,), batch=(args.batch,)))
            text = _text(synth.frontend, 128)
            ids = synth.frontend.encode(text)
            b = args.batch
            batch = np.zeros((b, 128), np.int64)
            batch[:, : len(ids)] = ids
            zeros, ones = np.zeros(b, np.int64), np.ones(b, np.float32)
            shift = np.zeros(b, np.float32)
            hidden, dur = synth.backend.encode(batch, zeros, shift, ones)
            reps = np.floor(dur + 0.5).astype(np.int64)
            n_frames = synth.buckets.frame_bucket(int(reps.sum(1).max()))
            rows: dict[str, float] = {}
            rows["frontend"] = timed(lambda: synth.frontend.encode(text), args.iters)
            rows["encode"] = timed(lambda: synth.backend.encode(batch, zeros, shift, ones),
                                   args.iters)
            rows["decode"] = timed(lambda: synth.backend.decode(hidden, reps, zeros, n_frames),
                                   args.iters)
            rows["end_to_end"] = timed(lambda: synth.synthesize(text), args.iters)
            if backend == "jax":
                rows.update(jax_parts(synth, hidden, reps, n_frames, batch, args.iters))
            print(f"{backend:>13} {dtype:>8} b={b} frames={int(reps.sum(1).max())}/{n_frames} " +
                  "  ".join(f"{k} {v:.2f}" for k, v in rows.items()), flush=True)


def jax_parts(synth: Any, hidden: Any, reps: np.ndarray, n_frames: int, ids: np.ndarray,
              iters: int) -> dict[str, float]:
    import copy

    import jax
    import torch
    import torchax

    from fastpitch_tpu.models.fastpitch import regulate_length

    be = synth.backend
    dtype = be.dtype
    jdt = jax.numpy.bfloat16 if dtype == torch.bfloat16 else jax.numpy.float32
    b = reps.shape[0]
    def put(a: np.ndarray) -> Any:
        return jax.device_put(be._host(a), be._device)

    args = (put(ids), put(np.zeros(b, np.int64)), put(np.zeros(b, np.float32)),
            put(np.ones(b, np.float32)))
    out: dict[str, float] = {}
    enc = be._fns[(0, *ids.shape)]  # the encode graph of this shape (compiled by the engine)
    out["encode_device"] = timed(
        lambda: enc(be._enc_states, *args)[1].block_until_ready(), iters)
    out["encode_dispatch"] = timed(lambda: enc(be._enc_states, *args), iters)

    class FastPitchDecoder(torch.nn.Module):
        def __init__(self, fp: Any) -> None:
            super().__init__()
            self.fp = fp

        def forward(self, h: Any, r: Any) -> Any:
            frames, lengths = regulate_length(r, h, 1.0, n_frames)
            return self.fp.decode(frames, lengths, None, isolate_padding=True)

    dec = copy.deepcopy(FastPitchDecoder(synth.fastpitch)).to(dtype).eval()
    states, fn = torchax.extract_jax(dec)
    r = put(np.pad(reps, ((0, 0), (0, hidden.shape[1] - reps.shape[1]))))
    fpdec = jax.jit(lambda s, h, r: fn(s, (h, r)))
    out["fastpitch_decoder"] = timed(lambda: fpdec(states, hidden, r).block_until_ready(), iters)
    voc = copy.deepcopy(synth.hifigan).to(dtype).eval()
    states, fn = torchax.extract_jax(voc)
    mel = jax.numpy.zeros((b, 80, n_frames), dtype=jdt) - 5.0
    lengths = jax.numpy.asarray(reps.sum(1).astype(np.int32))
    plain = jax.jit(lambda s, m: fn(s, (m,)))
    masked = jax.jit(lambda s, m, n: fn(s, (m, n)))
    out["hifigan"] = timed(lambda: plain(states, mel).block_until_ready(), iters)
    out["hifigan_masked"] = timed(lambda: masked(states, mel, lengths).block_until_ready(), iters)
    return out


if __name__ == "__main__":
    main()
