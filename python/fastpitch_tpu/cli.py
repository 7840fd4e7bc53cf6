"""Command line: ``fastpitch-tpu`` (also ``python -m fastpitch_tpu``).

    fastpitch-tpu "Hello world." -o hello.wav                    # the built-in voice
    cat story.txt | fastpitch-tpu -o story.wav                   # every line into one file
    fastpitch-tpu -i lines.txt -o out_dir/ --fastpitch CKPT     # one WAV per line
    fastpitch-tpu serve --port 8000                              # HTTP server
    fastpitch-tpu corpus lines.txt out/ [--ray local]            # corpus -> audio shards
    fastpitch-tpu bench --backends torch jax                     # end-to-end latency benchmark
    fastpitch-tpu cache export cache.tar                         # compiled graphs, to ship

Model settings (architecture, audio rates, text frontend) come from the checkpoints; the flags
only choose files, the backend and the per-utterance controls.

Audio is written as it is made (memory does not grow with the input) to a temporary file that
takes the output's name when it is complete. Mistakes in the input, the options, the files or the
installation end with one line ``error: ...`` on stderr and exit status 1 (usage errors: 2);
Ctrl-C ends with ``interrupted`` and 130. ``-v`` logs what happens, with tracebacks.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, TextIO

from fastpitch_tpu.heap import release_freed_memory

if TYPE_CHECKING:
    from fastpitch_tpu.engine import CompileStatus, SynthesisOptions, Synthesizer

__all__ = ["main"]

COMMANDS = ("speak", "bench", "serve", "train", "corpus", "cache")
VERBOSE = ("-v", "--verbose")
LONG_INPUT_CHARS = 1000
"""Inputs longer than this (or of several lines) get a progress bar."""


def _verbose_flag(p: argparse.ArgumentParser, top: bool = False) -> None:
    # Accepted before the command and after it: the subcommands' copy has no default, so that
    # it does not overwrite a -v given before the command.
    p.add_argument(*VERBOSE, action="store_true", default=False if top else argparse.SUPPRESS,
                   help="log what happens (and show tracebacks)")


def _speak_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("speak", help="synthesize text to WAV files (the default command)",
                       description="Synthesize text to WAV files.")
    p.add_argument("text", nargs="?", help="text to speak (default: read -i FILE or stdin)")
    p.add_argument("-i", "--input", type=Path,
                   help="text file, one utterance per line ('-' for stdin)")
    p.add_argument("-o", "--output", required=True,
                   help="output file (.wav, .flac, .ogg), which gets every line, or a folder "
                        "(no suffix, a trailing '/' or an existing folder) for one WAV per line")
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
    p.add_argument("--sentence-pause", type=float,
                   help="seconds of silence between lines, and between the sentence chunks of a "
                        "long line (default: the engine's, 0.2)")
    p.add_argument("--trim-silence", action=argparse.BooleanOptionalAction, default=None,
                   help="cut the near-silence at both ends of each sentence (default: the "
                        "voice's choice, on for the built-in voice)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    _verbose_flag(p)


def _engine_args(p: argparse.ArgumentParser, one_device: bool = True) -> None:
    p.add_argument("--backend", default="auto",
                   choices=["auto", "torch", "torch_compile", "cuda_graph", "jax", "torch_xla"])
    p.add_argument("--dtype", default="auto", choices=["auto", "bfloat16", "float16", "float32"],
                   help="auto (default): bfloat16 on a GPU or TPU, float32 on a CPU")
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
    _verbose_flag(p)


def _corpus(args: argparse.Namespace) -> int:
    from fastpitch_tpu.corpus import CorpusSpec, synthesize_corpus
    from fastpitch_tpu.engine import SynthesisOptions

    devices = args.devices if args.devices == "all" else tuple(
        d.strip() for d in args.devices.split(",") if d.strip())
    spec = CorpusSpec(fastpitch=args.fastpitch, hifigan=args.hifigan,
                      frontend=args.frontend, backend=args.backend, dtype=args.dtype,
                      devices=devices, cache_dir=args.cache_dir,
                      options=SynthesisOptions(pace=args.pace))
    stats = synthesize_corpus(args.input, args.outdir, spec=spec,
                              shard_lines=args.shard_lines, ray_address=args.ray,
                              workers=args.workers, progress=not args.no_progress)
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
    p.add_argument("--deadline-s", type=float, default=60.0,
                   help="504 after this many seconds; the longest a request's "
                        "X-Request-Timeout may ask for (503 at once for a request that could "
                        "not be done in time)")
    p.add_argument("--token-buckets", type=int, nargs="+",
                   help="static token lengths (default: 32 64 128 256)")
    p.add_argument("--frame-buckets", type=int, nargs="+",
                   help="static mel lengths (default: 64 ... 3072 in steps of at most 25 %%)")
    p.add_argument("--no-warmup", action="store_true",
                   help="ready at once; graphs compile on first use")
    p.add_argument("--log-level", default="info",
                   choices=["critical", "error", "warning", "info", "debug"])
    _verbose_flag(p)


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from fastpitch_tpu.engine import Buckets
    from fastpitch_tpu.server import ServerConfig, create_app, load_voices

    if args.max_batch < 1 or args.max_queue < 1:
        _fail("--max-batch and --max-queue must be positive")
    if not 0 < args.deadline_s < float("inf"):
        _fail("--deadline-s must be a positive number of seconds")
    checkpoints = {"default": args.fastpitch}
    for item in args.voice:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            _fail(f"--voice takes NAME=CHECKPOINT, got {item!r}")
        checkpoints[name] = path
    buckets = Buckets(batch=Buckets.batch_sizes(args.max_batch))
    if args.token_buckets:
        buckets = replace(buckets, tokens=tuple(sorted(set(args.token_buckets))))
    if args.frame_buckets:
        buckets = replace(buckets, frames=tuple(sorted(set(args.frame_buckets))))
    _check_device(args.backend, args.device)
    voices = load_voices(checkpoints, args.hifigan, frontend=args.frontend,
                         backend=args.backend, dtype=args.dtype, device=args.device,
                         buckets=buckets, cache_dir=args.cache_dir)
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
    for step in (p, t, d, f):
        _verbose_flag(step)


def _train(args: argparse.Namespace) -> int:
    from fastpitch_tpu.train import TrainConfig, build_dataset, train

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
    print(f"{args.run / 'voice.safetensors'}: validation " +
          ", ".join(f"{k} {v:.4f}" for k, v in val.items()))
    return 0


def _bench_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from fastpitch_tpu import benchmark

    p = sub.add_parser("bench", help="end-to-end latency / throughput benchmark",
                       description=benchmark.__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    benchmark.add_arguments(p)
    _verbose_flag(p)


CACHE_NOT_IMPORTED = 3
"""Exit status of ``cache import`` for an archive made for another machine (nothing imported)."""


def _cache_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("cache", help="ship the compile cache to identical machines",
                       description="Pack the compile cache folder (saved and compiled graphs, "
                                   "converted weights) into one archive, import such an archive "
                                   "on a machine like the one that made it, or show what a "
                                   "cache folder or an archive holds.")
    steps = p.add_subparsers(dest="cache_command", required=True)
    e = steps.add_parser("export", help="pack the cache folder into FILE (.tar; .tar.gz "
                                        "compressed)")
    e.add_argument("file", type=Path)
    i = steps.add_parser("import", help="unpack FILE into the cache folder if it was made on a "
                                        "machine like this one (else exit status 3)")
    i.add_argument("file", type=Path)
    i.add_argument("--force", action="store_true",
                   help="import an archive made with other versions or another accelerator "
                        "(never a damaged one)")
    n = steps.add_parser("info", help="the cache folder's size and origin; with FILE, what an "
                                      "archive holds and whether it fits this machine")
    n.add_argument("file", type=Path, nargs="?")
    for step in (e, i, n):
        step.add_argument("--cache-dir", help="the compile cache folder (default: "
                                              "FASTPITCH_TPU_COMPILE_CACHE or the user cache)")
        _verbose_flag(step)
    _verbose_flag(p)


def _cache(args: argparse.Namespace) -> int:
    from fastpitch_tpu import compile_cache as cc
    from fastpitch_tpu.engine import default_cache_dir

    if args.cache_dir == "":
        _fail("--cache-dir '' names no folder")
    folder = Path(args.cache_dir or default_cache_dir())
    if args.cache_command == "export":
        done = cc.export_cache(folder, args.file)
        print(f"{done.archive}: {_plural(done.files, 'file')} of {folder}, "
              f"{cc.human_bytes(done.bytes)} ({cc.human_bytes(done.archive_bytes)} archived)")
    elif args.cache_command == "import":
        report = cc.import_cache(args.file, folder, force=args.force)
        if not report.imported:  # the warning says why
            return CACHE_NOT_IMPORTED
        print(f"{folder}: {report.added} added, {report.replaced} replaced, {report.kept} "
              f"already there, of {_plural(report.added + report.replaced + report.kept, 'file')}"
              f" in {args.file}")
    elif args.file is not None:
        manifest = cc.archive_manifest(args.file)
        print("\n".join(cc.manifest_lines(args.file, manifest,
                                          cc.archive_differences(manifest))))
    else:
        print("\n".join(cc.summary_lines(cc.describe_cache(folder))))
    return 0


def _fail(message: str) -> NoReturn:
    """End the command with one line ``error: message`` and exit status 1."""
    raise SystemExit(f"error: {message}")


def _read_lines(args: argparse.Namespace) -> list[str]:
    """The utterances to speak: the text argument, or the lines of -i FILE or stdin."""
    if args.text is not None:
        if args.input is not None:
            _fail("give either a text argument or -i FILE, not both")
        return [args.text]
    if args.input is not None and str(args.input) != "-":
        try:
            content = args.input.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            _fail(f"cannot read {args.input}: {e}")
    else:
        if sys.stdin.isatty() and args.input is None:
            _fail("no text: pass it as an argument, with -i FILE or on stdin")
        try:
            content = sys.stdin.read()
        except UnicodeDecodeError as e:
            _fail(f"stdin is not UTF-8 text: {e}")
    lines = [line.strip() for line in content.splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        _fail("the input holds no text")
    return lines


def _check_device(backend: str, device: str | None) -> None:
    """A CUDA device PyTorch cannot see is reported before anything is loaded."""
    if device is None or not device.startswith("cuda") or backend not in (
            "auto", "torch", "torch_compile", "cuda_graph"):
        return
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if not count:
        _fail(f"--device {device}: no CUDA GPU is available here; use --device cpu")
    _, _, index = device.partition(":")
    if index.isdigit() and int(index) >= count:
        _fail(f"--device {device}: there {'is' if count == 1 else 'are'} only {count} CUDA "
              f"GPU{'' if count == 1 else 's'} here")


def _is_folder(output: str) -> bool:
    """Whether ``-o`` names a folder (one file per line) rather than one audio file."""
    path = Path(output)
    return output.endswith(("/", os.sep)) or path.suffix == "" or path.is_dir()


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _options(args: argparse.Namespace) -> SynthesisOptions:
    from fastpitch_tpu.engine import SynthesisOptions

    pause = {} if args.sentence_pause is None else {"sentence_pause": args.sentence_pause}
    return SynthesisOptions(pace=args.pace, pitch_shift=args.pitch_shift,
                            pitch_scale=args.pitch_scale, speaker=args.speaker,
                            denoise=args.denoise, trim_silence=args.trim_silence, **pause)


class _Progress:
    """The progress bar of a long input, in characters of text spoken (tqdm on stderr; off
    with --no-progress, for short inputs, and where tqdm finds stderr is not a terminal)."""

    def __init__(self, texts: list[str], show: bool,
                 compiling: Callable[[], CompileStatus] | None = None) -> None:
        self.texts = texts
        self.compiling = compiling
        """The background compilation's status, shown beside the bar until it is done."""
        self.starts: list[int] = []
        total = 0
        for text in texts:
            self.starts.append(total)
            total += len(text)
        long_input = len(texts) > 1 or total > LONG_INPUT_CHARS
        self.bar: Any = None
        if show and long_input:
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc="speaking", unit="char", unit_scale=True,
                            disable=None, file=sys.stderr)

    def done(self, text_index: int, index: int, count: int) -> None:
        """Piece ``index`` of ``count`` of text ``text_index`` is written."""
        if self.bar is not None:
            spoken = len(self.texts[text_index]) * (index + 1) // count
            if self.compiling is not None:
                status = self.compiling()
                self.bar.set_postfix_str("" if status.done else
                                         f"{status.compiled}/{status.total} graphs compiled",
                                         refresh=False)
            self.bar.update(self.starts[text_index] + spoken - self.bar.n)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _speak(args: argparse.Namespace) -> int:
    from fastpitch_tpu.audio_writer import AudioFileWriter, prepare_folder, remove_made

    texts = _read_lines(args)
    options = _options(args)
    _check_device(args.backend, args.device)
    output = Path(args.output)
    # The output is made (and shown writable) before the models load and the work starts.
    if _is_folder(args.output):
        made = prepare_folder(output)
        try:
            return _speak_to_folder(args, texts, options, output)
        except BaseException:
            remove_made(made)
            raise
    synth: Synthesizer | None = None
    try:
        with AudioFileWriter(output) as out:  # renamed into place when complete
            synth = _synthesizer(args, options)
            out.open(synth.sample_rate)
            progress = _Progress(texts, show=not args.no_progress,
                                 compiling=synth.compile_status)
            try:
                for piece in synth.synthesize_pieces(texts):
                    if piece.text_index or piece.index:  # every line and chunk after the first
                        out.write_silence(options.sentence_pause)
                    out.write(piece.audio)
                    progress.done(piece.text_index, piece.index, piece.count)
                    release_freed_memory()
            finally:
                progress.close()
    finally:
        if synth is not None:
            _stop_compiling(synth)
    print(f"{output}: {out.duration:.2f} s at {out.sample_rate} Hz")
    return 0


def _speak_to_folder(args: argparse.Namespace, texts: list[str], options: SynthesisOptions,
                     folder: Path) -> int:
    from fastpitch_tpu.audio_writer import AudioFileWriter

    synth = _synthesizer(args, options)
    width = max(4, len(str(len(texts))))
    files, seconds = 0, 0.0
    out: AudioFileWriter | None = None
    progress = _Progress(texts, show=not args.no_progress, compiling=synth.compile_status)
    try:
        for piece in synth.synthesize_pieces(texts):
            if out is None:
                out = AudioFileWriter(folder / f"{piece.text_index + 1:0{width}d}.wav")
                out.open(synth.sample_rate)
            else:
                out.write_silence(options.sentence_pause)
            out.write(piece.audio)
            if piece.index == piece.count - 1:
                out.commit()
                files, seconds, out = files + 1, seconds + out.duration, None
            progress.done(piece.text_index, piece.index, piece.count)
            release_freed_memory()
    except BaseException:
        if out is not None:
            out.discard()
        raise
    finally:
        progress.close()
        _stop_compiling(synth)
    print(f"{folder}: {_plural(files, 'file')}, {seconds:.1f} s of audio")
    return 0


def _synthesizer(args: argparse.Namespace, options: SynthesisOptions) -> Synthesizer:
    from fastpitch_tpu.engine import Synthesizer

    synth = Synthesizer(args.fastpitch, args.hifigan, frontend=args.frontend,
                        backend=args.backend, dtype=args.dtype, device=args.device,
                        cache_dir=args.cache_dir, defaults=options)
    release_freed_memory()  # what loading the checkpoints left in the heap (heap.py)
    # A compiling backend compiles its shapes in the background while the text is spoken on a
    # compile-free path: the first audio does not wait for a compile.
    synth.compile_in_background()
    return synth


def _stop_compiling(synth: Synthesizer) -> None:
    """Let the background compilation finish the shape it is at, and start no other: the job is
    done, and a process that exits while a compiler runs on another thread can abort in the
    compiler's C++ code instead of exiting cleanly."""
    if not synth.stop_compiling(timeout=120.0):
        logging.getLogger("fastpitch_tpu").warning("a background compile is still running")


# -------------------------------------------------------------------------------------------
# Errors and messages: how every command ends and what it prints besides its output.

_EXTRA_OF_MODULE = {
    **dict.fromkeys(("torch", "platformdirs", "soundfile", "tqdm", "safetensors", "yaml"),
                    "models"),
    **dict.fromkeys(("jax", "jaxlib", "torchax"), "jax"),
    "torch_xla": "xla",
    **dict.fromkeys(("fastapi", "uvicorn", "starlette", "prometheus_client", "uvloop",
                     "httptools"), "server"),
    **dict.fromkeys(("scipy", "librosa", "numba"), "train"),
    "ray": "ray",
}
_NEEDS_EXTRA = {"jax": "the jax backend", "xla": "the torch_xla backend",
                "server": "the server", "train": "training", "ray": "--ray"}
# Extras that include the models extra: the one to name for a command that needs it.
_COMMAND_EXTRA = {"serve": "server", "train": "train"}


def _one_line(error: BaseException, limit: int = 400) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _missing_extra(error: ImportError, command: str) -> str:
    """The message for an import that failed: which extra to install, where it is one of
    ours."""
    seen: set[int] = set()
    cause: BaseException | None = error
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        name = cause.name if isinstance(cause, ImportError) else None
        extra = _EXTRA_OF_MODULE.get((name or "").split(".")[0])
        if extra is not None:
            if extra == "models":
                extra = _COMMAND_EXTRA.get(command, extra)
            what = _NEEDS_EXTRA.get(extra, f"fastpitch-tpu {command}")
            return (f"error: {what} needs the {extra} extra: pip install "
                    f"'fastpitch-tpu[{extra}]' ({_one_line(cause)})")
        cause = cause.__cause__ or cause.__context__
    return f"error: {_one_line(error)}"


@contextlib.contextmanager
def _errors(command: str, verbose: bool) -> Iterator[None]:
    """How a command ends: user errors (bad input, options, files, checkpoints, a missing extra)
    as one line ``error: ...`` and exit status 1, Ctrl-C as ``interrupted`` and 130. Anything
    else is a bug: one line too, with its traceback under ``-v``."""
    try:
        yield
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        raise SystemExit(130) from None
    except ImportError as e:
        if verbose:
            logging.getLogger("fastpitch_tpu").exception("import failed")
        raise SystemExit(_missing_extra(e, command)) from None
    except (ValueError, OSError, EOFError) as e:
        # ValueError: bad text, options and checkpoints (InvalidTextError, CheckpointError ...);
        # OSError: files and downloads (DictionaryError, CheckpointDownloadError ...).
        if verbose:
            logging.getLogger("fastpitch_tpu").exception("%s failed", command)
        raise SystemExit(f"error: {_one_line(e)}") from None
    except Exception as e:
        if verbose:
            raise
        raise SystemExit(f"error: {type(e).__name__}: {_one_line(e)} (run with -v for the "
                         "traceback)") from None


class _Formatter(logging.Formatter):
    """Log records as one line ``level: message``; with ``-v`` the logger's name and any
    traceback too."""

    def __init__(self, verbose: bool) -> None:
        super().__init__("%(levelname)s %(name)s: %(message)s" if verbose else None)
        self.verbose = verbose

    def format(self, record: logging.LogRecord) -> str:
        if self.verbose:
            return super().format(record)
        message = " ".join(record.getMessage().split())
        if record.exc_info and record.exc_info[1] is not None:
            message += f": {_one_line(record.exc_info[1])}"
        return f"{record.levelname.lower()}: {message}"


@contextlib.contextmanager
def _console(verbose: bool) -> Iterator[None]:
    """Log records and Python warnings go to stderr as one line each while a command runs."""
    root = logging.getLogger()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_Formatter(verbose))
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO if verbose else logging.WARNING)
    shown = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], filename: str, lineno: int,
             file: TextIO | None = None, line: str | None = None) -> None:
        where = f" ({filename}:{lineno})" if verbose else ""
        print(f"warning: {_one_line(Warning(message))}{where}", file=file or sys.stderr)

    warnings.showwarning = show
    try:
        yield
    finally:
        warnings.showwarning = shown
        root.removeHandler(handler)
        root.setLevel(level)


def _with_command(argv: list[str]) -> list[str]:
    """``argv`` with ``speak`` inserted where no command is named (after a leading ``-v``)."""
    i = 0
    while i < len(argv) and argv[i] in VERBOSE:
        i += 1
    rest = argv[i:]
    if rest and (rest[0] in COMMANDS or rest[0] in ("-h", "--help", "--version")):
        return argv
    return [*argv[:i], "speak", *rest]


def main(argv: Sequence[str] | None = None) -> int:
    argv = _with_command(list(sys.argv[1:] if argv is None else argv))
    parser = argparse.ArgumentParser(
        prog="fastpitch-tpu", description="FastPitch + HiFi-GAN text-to-speech through XLA.")
    from fastpitch_tpu.version import __version__

    parser.add_argument("--version", action="version", version=f"fastpitch-tpu {__version__}")
    _verbose_flag(parser, top=True)
    sub = parser.add_subparsers(dest="command", required=True)
    _speak_parser(sub)
    _serve_parser(sub)
    _train_parser(sub)
    _corpus_parser(sub)
    _bench_parser(sub)
    _cache_parser(sub)
    args = parser.parse_args(argv)
    command: str = args.command
    with _console(args.verbose), _errors(command, args.verbose):
        if command == "speak":
            return _speak(args)
        if command == "serve":
            return _serve(args)
        if command == "train":
            return _train(args)
        if command == "corpus":
            return _corpus(args)
        if command == "cache":
            return _cache(args)
        from fastpitch_tpu import benchmark

        return benchmark.run(args)
