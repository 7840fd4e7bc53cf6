"""Start-up costs of the engine: time to first audio from a fresh process with an empty and with
a filled compilation cache, and the compilation of every default bucket (``warmup()``).

    PYTHONPATH=python python benches/start_time.py --backend jax --dtype bfloat16

Two fresh Python processes run one after another on one cache folder (a new temporary one
unless ``--cache-dir``): *cold* (empty cache: first audio, then ``warmup()`` of every default
bucket), *warm* (the cache now full: first audio, then ``warmup()`` again); with
``--no-warmup`` both stop at the first audio. Times to first audio
are measured by this process from the child's start (interpreter, imports, loading the
checkpoints, building the backend, the graphs of the first sentence, synthesis) to the moment the
child has the audio. With the jax backend a warm process finds the converted weights and the
saved graphs in the cache and does not import PyTorch (the report says so). The FastPitch is
the benchmark model of ``fastpitch-tpu bench`` (random weights, FastPitch 1.1 size) exported to a
file, unless ``--fastpitch`` names a checkpoint.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SENTENCE = "Printing, in the only sense with which we are at present concerned, differs from most."


def child(args: argparse.Namespace) -> None:
    t0 = time.perf_counter()
    from fastpitch_tpu.engine import Synthesizer

    t_import = time.perf_counter()
    synth = Synthesizer(args.fastpitch, args.hifigan, backend=args.backend, dtype=args.dtype,
                        cache_dir=args.cache_dir)
    t_built = time.perf_counter()
    audio = synth.synthesize(SENTENCE)
    t_audio = time.perf_counter()
    print("FIRST_AUDIO", flush=True)
    graphs = 0
    if not args.no_warmup:
        graphs = synth.warmup(progress=True, workers=args.workers)  # a bar on stderr
    t_warm = time.perf_counter()
    print(json.dumps({
        "import_s": t_import - t0, "build_s": t_built - t_import,
        "first_synthesis_s": t_audio - t_built, "audio_s": audio.duration,
        "warmup_s": t_warm - t_audio, "graphs_compiled": graphs,
        "backend": synth.backend.name, "device": synth.backend.device,
        "pytorch_imported": "torch" in sys.modules,
    }), flush=True)


def run_child(args: argparse.Namespace, fastpitch: str, cache: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", "--backend", args.backend, "--dtype", args.dtype,
           "--fastpitch", fastpitch, "--hifigan", args.hifigan, "--cache-dir", cache]
    if args.workers is not None:
        cmd += ["--workers", str(args.workers)]
    if args.no_warmup:
        cmd.append("--no-warmup")
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    first = None
    result: dict[str, Any] = {}
    for line in proc.stdout:
        if line.startswith("FIRST_AUDIO"):
            first = time.perf_counter() - t0
        elif line.startswith("{"):
            result = json.loads(line)
    if proc.wait() != 0 or first is None:
        raise SystemExit(f"the child process failed ({proc.returncode})")
    result["first_audio_s"] = first
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--fastpitch", help="checkpoint (default: the benchmark model)")
    ap.add_argument("--hifigan", default="lj")
    ap.add_argument("--cache-dir", help="compilation cache (default: a new temporary folder)")
    ap.add_argument("--workers", type=int, help="warmup()'s compile threads (default: its own)")
    ap.add_argument("--no-warmup", action="store_true",
                    help="first audio only: no warmup() of every bucket in either process")
    ap.add_argument("--json", help="write the results here")
    ap.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        fastpitch = args.fastpitch
        if fastpitch is None:
            from fastpitch_tpu.benchmark import benchmark_checkpoint

            fastpitch, args.hifigan = benchmark_checkpoint(tmp, hifigan=args.hifigan)
        cache = args.cache_dir or str(Path(tmp) / "cache")
        rows = {}
        for name in ("cold", "warm"):
            rows[name] = r = run_child(args, fastpitch, cache)
            warmup = ("" if args.no_warmup else f"warmup() of every default bucket "
                      f"{r['warmup_s']:.1f} s, {r['graphs_compiled']} graphs; ")
            print(f"{name:>5} cache: first audio {r['first_audio_s']:.2f} s after the process "
                  f"started (imports {r['import_s']:.2f} s, checkpoints + backend "
                  f"{r['build_s']:.2f} s, first synthesis {r['first_synthesis_s']:.2f} s); "
                  f"{warmup}{r['backend']} on {r['device']}"
                  f"{'' if r['pytorch_imported'] else ', without importing PyTorch'}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"backend": args.backend, "dtype": args.dtype,
                                               **rows}, indent=1))


if __name__ == "__main__":
    main()
