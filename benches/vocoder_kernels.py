"""The vocoder's fused kernels on a GPU, in one run: parity with the plain model, each layer
type against cuDNN, and the whole generator recorded as a CUDA graph (fused kernels against
cuDNN's channels-last path).

    PYTHONPATH=python python benches/vocoder_kernels.py --frames 768 --batch 1 16 64

The vocoder is the built-in LJSpeech V1 generator (``--hifigan``); its input mels are real ones:
the log-mel analysis of speech made by the built-in voice on the GPU in float32. Every time is the
median of CUDA-graph replays timed with device events (launch gaps do not count), so the numbers
compare the GPU work of each path.

Parity (``--batch``'s first size, rows of different lengths): the relative L2 error of the audio
and the log-mel L1 distance, each against the float32 plain model, for the bf16 cuDNN path and
the bf16 fused path; the fused path passes when its distance is at most twice cuDNN's.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

SENTENCES = [
    "Printing, in the only sense with which we are at present concerned, differs from most if "
    "not from all the arts and crafts represented in the Exhibition.",
    "The Commission has carefully considered the testimony of the witnesses.",
    "He paid twenty dollars for the book on May third, and read it twice.",
]


def graph_ms(fn: Callable[[], Any], replays: int = 20, rounds: int = 5) -> float:
    """Median milliseconds per replay of ``fn`` recorded as one CUDA graph."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(2):
            fn()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        fn()
    times = []
    for _ in range(rounds):
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        for _ in range(replays):
            graph.replay()
        end.record()
        end.synchronize()
        times.append(start.elapsed_time(end) / replays)
    return statistics.median(times)


def real_mels(frames: int, batch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch`` rows of real log-mels (the built-in voice's FastPitch speaking ``SENTENCES``)
    cut or padded to ``frames``, and their lengths (different per row, so that the padding masks
    matter)."""
    from fastpitch_tpu.checkpoints import load_fastpitch
    from fastpitch_tpu.frontend import TextFrontend
    from fastpitch_tpu.models.fastpitch import regulate_length

    fastpitch = load_fastpitch("default").cuda().eval()
    frontend = TextFrontend(fastpitch.config.frontend)
    mels = []
    for text in SENTENCES:
        ids = torch.tensor([frontend.encode(text)], device="cuda")
        feats = fastpitch.encode(ids)
        reps = feats.durations.round().clamp_min(0).long()
        n = int(reps.sum())
        hidden, lengths = regulate_length(reps, feats.hidden, 1.0, n)
        mels.append(fastpitch.decode(hidden, lengths, None)[0])
    mel = torch.cat(mels, dim=-1)
    rows, lengths_out = [], []
    for i in range(batch):
        start = (i * 97) % max(1, mel.shape[-1] - frames)
        row = mel[:, start:start + frames]
        row = F.pad(row, (0, frames - row.shape[-1]), value=float(mel.min()))
        rows.append(row)
        lengths_out.append(max(16, frames - (i * frames) // (2 * batch)))
    return torch.stack(rows).float(), torch.tensor(lengths_out, device="cuda")


def parity(hifigan: Any, mel: torch.Tensor, lengths: torch.Tensor) -> dict[str, float]:
    from fastpitch_tpu.audio import mel_spectrogram
    from fastpitch_tpu.kernels.vocoder import FusedHiFiGAN

    ref = hifigan.float()(mel.float(), lengths)
    plain = hifigan.to(torch.bfloat16)
    cudnn = plain(mel.bfloat16().unsqueeze(2).contiguous(memory_format=torch.channels_last),
                  lengths).float()
    fused = FusedHiFiGAN(plain, triton=True)(mel.bfloat16(), lengths).float()
    hifigan.float()
    out = {}
    ref_mel = mel_spectrogram(ref.clamp(-1, 1))
    for name, audio in (("cudnn_bf16", cudnn), ("fused_bf16", fused)):
        assert torch.isfinite(audio).all(), name
        out[f"{name}_rel_l2"] = float((audio - ref).norm() / ref.norm())
        out[f"{name}_logmel_l1"] = float((mel_spectrogram(audio.clamp(-1, 1)) - ref_mel).abs()
                                         .mean())
    out["fused_passes"] = float(out["fused_bf16_logmel_l1"] <= 2 * out["cudnn_bf16_logmel_l1"])
    return out


def layer_rows(hifigan: Any, frames: int, batch: int) -> list[dict[str, Any]]:
    """Each stride-1 layer type at its resolution: the fused kernel (default tiles, and the best
    of a few others) against the plain path's kernels for the same step (leaky ReLU, cuDNN's
    channels-last convolution, mask, residual add)."""
    from fastpitch_tpu.kernels.conv1d import (
        BlockConfig,
        block_config,
        fused_conv1d,
        prepare_weight,
    )

    cfg = hifigan.config
    seen: set[tuple[int, int, int, int, int]] = set()
    rows = []
    scale = 1
    layers: list[tuple[str, Any, int]] = []
    for i, group in enumerate(hifigan.resblocks):
        scale *= cfg.upsample_rates[i]
        for j, block in enumerate(group):
            for conv in block.convs1:
                layers.append((f"stage{i}.block{j}.d{conv.dilation[0]}", conv, scale))
            layers.append((f"stage{i}.block{j}.d1", block.convs2[0], scale))
    layers.append(("conv_post", hifigan.conv_post, scale))
    dt = torch.bfloat16
    for name, conv, s in layers:
        ci, co, k, d = conv.in_channels, conv.out_channels, conv.kernel_size[0], conv.dilation[0]
        key = (ci, co, k, d, s)
        if key in seen:
            continue
        seen.add(key)
        t = frames * s
        x = torch.randn(batch, ci, t, device="cuda", dtype=dt)
        res = torch.randn(batch, co, t, device="cuda", dtype=dt) if co == ci else None
        lengths = torch.full((batch,), frames, device="cuda", dtype=torch.int32)
        w = conv.weight.detach().to(dt)
        wk = prepare_weight(w)
        b = conv.bias.detach().to(dt)
        x2 = x.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        r2 = None if res is None else res.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        mask = torch.ones(batch, 1, 1, t, device="cuda", dtype=dt)
        w2 = w.unsqueeze(2)

        def plain() -> Any:
            y = F.conv2d(F.leaky_relu(x2, 0.1), w2, b, padding=(0, (k - 1) * d // 2),
                         dilation=(1, d)) * mask
            return y if r2 is None else y + r2

        torch.backends.cudnn.benchmark = True
        t_plain = graph_ms(plain)

        def fused(c: BlockConfig | None = None) -> Callable[[], Any]:
            return lambda: fused_conv1d(x, wk, b, dilation=d, in_slope=0.1, lengths=lengths,
                                        residual=res, config=c)

        t_fused = graph_ms(fused())
        best = (t_fused, block_config(ci, co, k))
        for c in (BlockConfig(32, 32, 256, 4, 3), BlockConfig(64, 32, 128, 4, 3),
                  BlockConfig(64, 64, 128, 8, 3), BlockConfig(128, 64, 64, 8, 3),
                  BlockConfig(32, 32, 512, 8, 3), BlockConfig(16, 32, 512, 4, 3)):
            if c.block_co > max(16, co) * 2:
                continue
            try:
                ms = graph_ms(fused(c))
            except Exception as e:  # a tile that does not fit the shared memory
                print(f"  {name} {c}: {type(e).__name__}", file=sys.stderr)
                continue
            best = min(best, (ms, c), key=lambda p: p[0])
        flops = 2 * batch * t * co * ci * k
        bytes_min = 2 * batch * t * (ci + co + (co if res is not None else 0))
        rows.append({"layer": name, "ci": ci, "co": co, "k": k, "dil": d, "time": t,
                     "plain_ms": t_plain, "fused_ms": t_fused, "best_ms": best[0],
                     "best": str(best[1]), "tflops_best": flops / best[0] / 1e9,
                     "gbps_floor_ms": bytes_min / 3.0e12 * 1e3})
        print(f"{name:>20} {ci:>3}->{co:<3} k{k} d{d} T={t:<7} plain {t_plain:7.3f} ms  fused "
              f"{t_fused:7.3f}  best {best[0]:7.3f} ({best[1].block_co},{best[1].block_ci},"
              f"{best[1].block_t},w{best[1].num_warps},s{best[1].num_stages})  "
              f"{flops / best[0] / 1e9:6.1f} TFLOP/s", flush=True)
    return rows


def whole(hifigan: Any, frames: int, batch: int) -> dict[str, float]:
    from fastpitch_tpu.kernels.vocoder import FusedHiFiGAN

    gen = hifigan.to(torch.bfloat16)
    mel = torch.randn(batch, gen.config.num_mels, frames, device="cuda", dtype=torch.bfloat16)
    lengths = torch.full((batch,), frames, device="cuda")
    mel2 = mel.unsqueeze(2).contiguous(memory_format=torch.channels_last)
    torch.backends.cudnn.benchmark = True
    plain_ms = graph_ms(lambda: gen(mel2, lengths))
    fused = FusedHiFiGAN(gen, triton=True)
    fused_ms = graph_ms(lambda: fused(mel, lengths))
    audio_s = batch * frames * gen.config.hop_length / gen.config.sampling_rate
    return {"batch": batch, "frames": frames, "cudnn_ms": plain_ms, "fused_ms": fused_ms,
            "speedup": plain_ms / fused_ms, "fused_rtf": audio_s / fused_ms * 1e3,
            "cudnn_rtf": audio_s / plain_ms * 1e3}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=768)
    ap.add_argument("--batch", type=int, nargs="+", default=[1, 16, 64])
    ap.add_argument("--hifigan", default="lj")
    ap.add_argument("--no-layers", action="store_true", help="skip the per-layer table")
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    from fastpitch_tpu.checkpoints import load_hifigan
    from fastpitch_tpu.models import HiFiGAN, HiFiGANConfig

    with torch.inference_mode():
        try:
            hifigan = load_hifigan(args.hifigan).cuda().eval()
        except FileNotFoundError as e:  # the built-in vocoders come with the models extra
            print(f"{e}: HiFi-GAN V1 with PyTorch's initial weights instead", flush=True)
            torch.manual_seed(0)
            hifigan = HiFiGAN(HiFiGANConfig.v1()).cuda().eval()
        print(f"{torch.cuda.get_device_name()}; torch {torch.__version__}", flush=True)
        mel, lengths = real_mels(min(args.frames, 512), 4)
        t0 = time.perf_counter()
        par = parity(hifigan, mel, lengths)
        par["first_fused_call_s"] = time.perf_counter() - t0  # the kernels' compilation
        print("parity:", json.dumps(par), flush=True)
        layers = [] if args.no_layers else layer_rows(hifigan, args.frames, args.batch[0])
        totals = []
        for b in args.batch:
            row = whole(hifigan, args.frames, b)
            totals.append(row)
            print(f"whole generator b={b} T={args.frames}: cuDNN {row['cudnn_ms']:.3f} ms "
                  f"({row['cudnn_rtf']:.0f}x real time), fused {row['fused_ms']:.3f} ms "
                  f"({row['fused_rtf']:.0f}x): x{row['speedup']:.2f}", flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(), "parity": par, "layers": layers,
                       "whole": totals}, f, indent=1)
    return 0 if par["fused_passes"] else 1


if __name__ == "__main__":
    sys.exit(main())
