"""Command line: ``fastpitch-tpu`` (also ``python -m fastpitch_tpu``).

    fastpitch-tpu "Hello world." -o hello.wav                    # the built-in voice
    fastpitch-tpu -i lines.txt -o out_dir/ --fastpitch CKPT     # one WAV per line, progress bar
    echo "Hello." | fastpitch-tpu -o hello.wav
    fastpitch-tpu serve --port 8000                              # HTTP server
    fastpitch-tpu corpus lines.txt out/ [--ray local]            # corpus -> audio shards
    fastpitch-tpu bench --backends torch jax                     # end-to-end latency benchmark

Model settings (architecture, audio rates, text frontend) come from the checkpoints; the flags
only choose files, the backend and the per-utterance controls.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

__all__ = ["main"]

COMMANDS = ("speak", "bench", "serve", "train", "corpus")


def _speak_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("speak", help="synthesize text to WAV files (the default command)",
                       description="Synthesize text to WAV files.")
    p.add_argument("text", nargs="?", help="text to speak (default: read -i FILE or stdin)")
    p.add_argument("-i", "--input", type=Path,
                   help="text file, one utterance per line ('-' for stdin)")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="output WAV file, or a folder for one file per input line")
    p.add_argument("--fastpitch", default="default",
                   help="FastPitch checkpoint: 'default' (the built-in voice), a file (.pt, "
                        ".nemo, .ckpt, .safetensors), a hub name or a URL")
    p.add_argument("--hifigan",
                   help="HiFi-GAN vocoder: 'lj', 'universal', a file, a hub name or a URL "
                        "(default: the built-in voice's own, 'lj' for other checkpoints)")
    p.add_argument("--frontend", help="text frontend flavor (default: the checkpoint's)")
    _engine_args(p)
    p.add_argument("--pace", type=float, default=1.0, help="speaking rate (1.25 = faster)")
    p.add_argument("--pitch-shift", type=float, default=0.0, help="pitch shift in Hz")
    p.add_argument("--pitch-scale", type=float, default=1.0,
                   help="pitch range around the mean (0 = monotone)")
    p.add_argument("--speaker", type=int, default=0, help="speaker id (multi-speaker models)")
    p.add_argument("--denoise", type=float, default=0.0,
                   help="vocoder bias removal strength (0 = off, DLE uses 0.01-0.1)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _engine_args(p: argparse.ArgumentParser, one_device: bool = True) -> None:
    p.add_argument("--backend", default="auto",
                   choices=["auto", "torch", "torch_compile", "jax", "torch_xla"])
    p.add_argument("--dtype", default="bfloat16", choices=["bfloat16", "float16", "float32"])
    if one_device:
        p.add_argument("--device", help="device for the backend (e.g. cuda:1, cpu)")
    p.add_argument("--cache-dir", help="compilation cache folder (default: user cache)")


def _corpus_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("corpus", help="synthesize a text corpus into audio shards + manifest",
                       description="Speak every line of INPUT into OUTDIR/shards/ with "
                                   "OUTDIR/manifest.jsonl (id, text, path, duration, sha256); "
                                   "resumable: a rerun skips finished shards.")
    p.add_argument("input", type=Path, help="UTF-8 text, one utterance per line")
    p.add_argument("outdir", type=Path)
    p.add_argument("--fastpitch", default="default",
                   help="FastPitch checkpoint (default: the built-in voice)")
    p.add_argument("--hifigan", help="HiFi-GAN vocoder (default: the voice's own, or 'lj')")
    p.add_argument("--frontend", help="text frontend flavor (default: the checkpoint's)")
    _engine_args(p, one_device=False)
    p.add_argument("--devices", default="all",
                   help="'all' local devices (default) or a comma-separated list, e.g. "
                        "cuda:0,cuda:1 (without --ray)")
    p.add_argument("--shard-lines", type=int, default=1000, help="lines per shard")
    p.add_argument("--ray", metavar="ADDRESS",
                   help="run on Ray: 'local' (a cluster on this machine), 'auto', or an address")
    p.add_argument("--workers", type=int,
                   help="Ray actors (default: one per GPU of the cluster, else 2)")
    p.add_argument("--pace", type=float, default=1.0, help="speaking rate (1.25 = faster)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _corpus(args: argparse.Namespace) -> int:
    from fastpitch_tpu.corpus import CorpusSpec, synthesize_corpus
    from fastpitch_tpu.engine import SynthesisOptions
    from fastpitch_tpu.errors import CheckpointError

    devices = args.devices if args.devices == "all" else tuple(
        d.strip() for d in args.devices.split(",") if d.strip())
    try:
        spec = CorpusSpec(fastpitch=args.fastpitch, hifigan=args.hifigan,
                          frontend=args.frontend, backend=args.backend, dtype=args.dtype,
                          devices=devices, cache_dir=args.cache_dir,
                          options=SynthesisOptions(pace=args.pace))
        stats = synthesize_corpus(args.input, args.outdir, spec=spec,
                                  shard_lines=args.shard_lines, ray_address=args.ray,
                                  workers=args.workers, progress=not args.no_progress)
    except (CheckpointError, ValueError, OSError, ImportError) as e:
        raise SystemExit(f"error: {e}") from None
    rate = stats.audio_seconds / max(stats.wall_seconds, 1e-9)
    print(f"{args.outdir}: {stats.spoken} lines spoken, {stats.failed} failed "
          f"({stats.done_before} done before); {stats.audio_seconds / 3600:.2f} h of audio, "
          f"{rate:.1f}x real time")
    return 0


def _serve_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("serve", help="HTTP server with dynamic batching (FastAPI + uvicorn)",
                       description="Serve POST /v1/tts, /v1/tts/stream and /tts, /healthz, "
                                   "/readyz and /metrics (needs the server extra).")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--fastpitch", default="default",
                   help="FastPitch checkpoint of the voice named 'default' (default: the "
                        "built-in voice)")
    p.add_argument("--voice", action="append", default=[], metavar="NAME=CHECKPOINT",
                   help="another voice, chosen in requests by NAME (repeatable)")
    p.add_argument("--hifigan",
                   help="HiFi-GAN vocoder for every voice (default: the built-in voice's own, "
                        "'lj' for other checkpoints)")
    p.add_argument("--frontend", help="text frontend flavor (default: each checkpoint's)")
    _engine_args(p)
    p.add_argument("--max-batch", type=int, default=16, help="most requests per device batch")
    p.add_argument("--max-wait-ms", type=float, default=5.0,
                   help="how long to wait for a batch to fill (not after a batch of one)")
    p.add_argument("--max-queue", type=int, default=256, help="waiting requests before 503")
    p.add_argument("--max-chars", type=int, default=5000, help="longest text (413 beyond)")
    p.add_argument("--max-body-bytes", type=int, default=256 * 1024,
                   help="largest request body (413 beyond)")
    p.add_argument("--deadline-s", type=float, default=60.0, help="504 after this many seconds")
    p.add_argument("--token-buckets", type=int, nargs="+",
                   help="static token lengths (default: 32 64 128 256)")
    p.add_argument("--frame-buckets", type=int, nargs="+",
                   help="static mel lengths (default: 64 ... 3072 in steps of at most 25 %%)")
    p.add_argument("--no-warmup", action="store_true",
                   help="ready at once; graphs compile on first use")
    p.add_argument("--log-level", default="info",
                   choices=["critical", "error", "warning", "info", "debug"])


def _serve(args: argparse.Namespace) -> int:
    try:
        import uvicorn

        from fastpitch_tpu.server import ServerConfig, create_app, load_voices
    except ImportError as e:
        raise SystemExit(f"error: the server needs the server extra ({e}): "
                         "pip install 'fastpitch-tpu[server]'") from None
    from fastpitch_tpu.engine import Buckets
    from fastpitch_tpu.errors import CheckpointError

    if args.max_batch < 1 or args.max_queue < 1:
        raise SystemExit("error: --max-batch and --max-queue must be positive")
    checkpoints = {"default": args.fastpitch}
    for item in args.voice:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise SystemExit(f"error: --voice takes NAME=CHECKPOINT, got {item!r}")
        checkpoints[name] = path
    try:
        buckets = Buckets(batch=Buckets.batch_sizes(args.max_batch))
        if args.token_buckets:
            buckets = replace(buckets, tokens=tuple(sorted(set(args.token_buckets))))
        if args.frame_buckets:
            buckets = replace(buckets, frames=tuple(sorted(set(args.frame_buckets))))
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    try:
        voices = load_voices(checkpoints, args.hifigan, frontend=args.frontend,
                             backend=args.backend, dtype=args.dtype, device=args.device,
                             buckets=buckets, cache_dir=args.cache_dir)
    except (CheckpointError, ValueError, OSError) as e:
        raise SystemExit(f"error: {e}") from None
    config = ServerConfig(max_batch=args.max_batch, max_wait_ms=args.max_wait_ms,
                          max_queue=args.max_queue, max_chars=args.max_chars,
                          max_body_bytes=args.max_body_bytes, deadline_s=args.deadline_s,
                          warmup=not args.no_warmup)
    app = create_app(voices, config)
    uvicorn.run(app, host=args.host, port=args.port, log_level=args.log_level)
    return 0


def _train_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("train", help="build a dataset and train a voice",
                       description="Train FastPitch voices: 'dataset' turns (audio, text) pairs "
                                   "into training shards, 'fit' trains (resumable).")
    steps = p.add_subparsers(dest="train_command", required=True)
    t = steps.add_parser("teacher", help="speak a text file with the offline teacher voice")
    t.add_argument("text", type=Path, help="UTF-8 text, one utterance per line")
    t.add_argument("out", type=Path, help="folder for wavs/ and metadata.jsonl (resumable)")
    t.add_argument("--jobs", type=int, default=os.cpu_count() or 1)
    t.add_argument("--normalize", metavar="FLAVOR",
                   help="run this frontend's text normalizer on each line first")
    t.add_argument("--limit", type=int, default=0, help="only the first N lines")
    d = steps.add_parser("dataset", help="(audio, text) pairs -> training shards")
    d.add_argument("source", type=Path,
                   help="folder with metadata.jsonl (id, text, audio[, f0_hz, f0_hop_s]) or "
                        "LJSpeech's metadata.csv + wavs/")
    d.add_argument("out", type=Path, help="dataset folder to write")
    d.add_argument("--frontend", default="nemo_arpabet", help="text frontend flavor")
    d.add_argument("--jobs", type=int, default=1, help="worker processes")
    d.add_argument("--trim-db", type=float, default=40.0,
                   help="cut leading/trailing silence this many dB below the loudest frame, "
                        "keeping 50 ms (0: keep the audio whole)")
    f = steps.add_parser("fit", help="train or fine-tune a voice on a dataset")
    f.add_argument("dataset", type=Path)
    f.add_argument("run", type=Path, help="run folder (checkpoints, samples, log); resumes")
    f.add_argument("--preset", default="small", choices=["base", "small", "dle", "tiny"],
                   help="architecture of a new voice")
    f.add_argument("--init", help="start from this FastPitch checkpoint (fine-tuning)")
    f.add_argument("--steps", type=int, default=50_000)
    f.add_argument("--batch-size", type=int, default=32)
    f.add_argument("--learning-rate", type=float, default=1e-3)
    f.add_argument("--validate-every", type=int, default=1000)
    f.add_argument("--checkpoint-every", type=int, default=1000)
    f.add_argument("--device", help="cuda, cpu ... (default: cuda if available)")
    f.add_argument("--max-minutes", type=float,
                   help="stop after this long (checkpoint saved; rerun to resume)")


def _train(args: argparse.Namespace) -> int:
    try:
        from fastpitch_tpu.train import TrainConfig, build_dataset, train
    except ImportError as e:
        raise SystemExit(f"error: training needs the train extra ({e})") from None
    try:
        if args.train_command == "teacher":
            from fastpitch_tpu.train.teacher import generate

            lines = args.text.read_text(encoding="utf-8").split("\n")
            if args.limit:
                lines = lines[: args.limit]
            stats = generate(lines, args.out, jobs=args.jobs, normalize=args.normalize)
            print(f"{args.out}: {stats['lines']} lines, {stats['audio_seconds'] / 3600:.2f} h "
                  f"spoken at {stats['realtime_factor']:.0f}x real time, "
                  f"{stats['failed']:.0f} failed")
            return 0
        if args.train_command == "dataset":
            info = build_dataset(args.source, args.out, frontend=args.frontend, jobs=args.jobs,
                                 trim_db=args.trim_db or None)
            print(f"{args.out}: {info.utterances} utterances, {info.seconds / 3600:.2f} h, "
                  f"{info.skipped} skipped; pitch {info.pitch_mean:.1f} ± {info.pitch_std:.1f} Hz")
            return 0
        cfg = TrainConfig(steps=args.steps, batch_size=args.batch_size,
                          learning_rate=args.learning_rate, validate_every=args.validate_every,
                          checkpoint_every=args.checkpoint_every,
                          max_seconds=None if args.max_minutes is None
                          else 60.0 * args.max_minutes)
        val = train(args.dataset, args.run, preset=args.preset, init=args.init, config=cfg,
                    device=args.device)
    except (ValueError, OSError, ImportError) as e:
        raise SystemExit(f"error: {e}") from None
    print(f"{args.run / 'voice.safetensors'}: validation " +
          ", ".join(f"{k} {v:.4f}" for k, v in val.items()))
    return 0


def _bench_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from fastpitch_tpu import benchmark

    p = sub.add_parser("bench", help="end-to-end latency / throughput benchmark",
                       description=benchmark.__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    benchmark.add_arguments(p)


def _read_lines(args: argparse.Namespace) -> tuple[list[str], bool]:
    """Utterances to speak, and whether they came as lines (one output file each)."""
    if args.text is not None:
        if args.input is not None:
            raise SystemExit("error: give either a text argument or -i FILE, not both")
        return [args.text], False
    if args.input is not None and str(args.input) != "-":
        try:
            content = args.input.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise SystemExit(f"error: cannot read {args.input}: {e}") from None
    else:
        if sys.stdin.isatty() and args.input is None:
            raise SystemExit("error: no text: pass it as an argument, with -i FILE or on stdin")
        content = sys.stdin.read()
    lines = [line.strip() for line in content.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        raise SystemExit("error: the input holds no text")
    return lines, True


def _speak(args: argparse.Namespace) -> int:
    from fastpitch_tpu.engine import SynthesisOptions, Synthesizer
    from fastpitch_tpu.errors import CheckpointError, InvalidTextError

    texts, as_lines = _read_lines(args)
    to_folder = args.output.suffix == "" or args.output.is_dir() or (as_lines and len(texts) > 1)
    if to_folder and args.output.suffix:
        raise SystemExit(f"error: {len(texts)} lines need an output folder, not {args.output}")
    try:
        options = SynthesisOptions(pace=args.pace, pitch_shift=args.pitch_shift,
                                   pitch_scale=args.pitch_scale, speaker=args.speaker,
                                   denoise=args.denoise)
        synth = Synthesizer(args.fastpitch, args.hifigan, frontend=args.frontend,
                            backend=args.backend, dtype=args.dtype, device=args.device,
                            cache_dir=args.cache_dir, defaults=options)
        if not to_folder:
            audio = synth.synthesize(" ".join(texts))
            args.output.parent.mkdir(parents=True, exist_ok=True)
            audio.save(args.output)
            print(f"{args.output}: {audio.duration:.2f} s at {audio.sample_rate} Hz")
            return 0
        audios = synth.synthesize(texts, progress=not args.no_progress)
    except (CheckpointError, InvalidTextError, ValueError, FileNotFoundError, OSError) as e:
        raise SystemExit(f"error: {e}") from None
    args.output.mkdir(parents=True, exist_ok=True)
    width = max(4, len(str(len(audios))))
    total = 0.0
    for i, audio in enumerate(audios, start=1):
        audio.save(args.output / f"{i:0{width}d}.wav")
        total += audio.duration
    print(f"{args.output}: {len(audios)} files, {total:.1f} s of audio")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0] not in COMMANDS and argv[0] not in ("-h", "--help", "--version")):
        argv = ["speak", *argv]
    parser = argparse.ArgumentParser(
        prog="fastpitch-tpu", description="FastPitch + HiFi-GAN text-to-speech through XLA.")
    from fastpitch_tpu import __version__

    parser.add_argument("--version", action="version", version=f"fastpitch-tpu {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    sub = parser.add_subparsers(dest="command", required=True)
    _speak_parser(sub)
    _serve_parser(sub)
    _train_parser(sub)
    _corpus_parser(sub)
    _bench_parser(sub)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    if args.command == "speak":
        return _speak(args)
    if args.command == "serve":
        return _serve(args)
    if args.command == "train":
        return _train(args)
    if args.command == "corpus":
        return _corpus(args)
    from fastpitch_tpu import benchmark

    return benchmark.run(args)
