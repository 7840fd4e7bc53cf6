"""Our trained FastPitch voice against its teacher on sentences neither was trained on.

Each sentence is spoken by our voice (FastPitch + HiFi-GAN, torch backend, float32) and by the
teacher (hibari-tts, as in ``fastpitch-tpu train teacher``) into 16-bit WAV files; the
offline ASR judge (Whisper tiny.en through faster-whisper) transcribes both, and the script prints:

- the word error rate of each voice and the gap in points (goal: ours within 2 points);
- the mean per-utterance F0 standard deviation in semitones (same pitch tracker for both);
- with ``--weights`` (a training run's ``weights.pt``, which holds the aligner): the mean absolute
  per-symbol duration error of our voice's predictions against the aligner's hard alignment of
  the teacher's recordings of the same sentences (a dataset built from them on the fly);
- the sentences our voice got most wrong.

By default the sentences are lines 12001-12100 of the LJSpeech transcripts in
``../shared/goldens/corpora/ljspeech.txt`` (the voices are trained on the first 6000).

    python benches/voice_quality.py --voice run/voice.safetensors --weights run/weights.pt -n 30

Needs the ``eval``, ``teacher`` and ``train`` extras.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TEXT = REPO.parent / "shared" / "goldens" / "corpora" / "ljspeech.txt"
DEFAULT_LINES = (12001, 12100)
"""1-based, inclusive: held-out LJSpeech transcripts."""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--voice", metavar="PATH",
                   help="our FastPitch checkpoint (anything load_fastpitch reads); default: the "
                        "voice named 'default' where that name resolves")
    p.add_argument("--hifigan", default="universal", help="vocoder for our voice (universal)")
    p.add_argument("--text", type=Path, metavar="FILE",
                   help="one sentence per line (default: lines "
                        f"{DEFAULT_LINES[0]}-{DEFAULT_LINES[1]} of {DEFAULT_TEXT})")
    p.add_argument("-n", "--count", type=int, help="use the first N sentences")
    p.add_argument("--weights", type=Path, metavar="PATH",
                   help="the training run's weights.pt (model + aligner): adds the duration "
                        "error against the aligner on the teacher's recordings")
    p.add_argument("--trim-db", type=float, default=40.0, metavar="DB",
                   help="trim the teacher's leading / trailing silence quieter than this in the "
                        "duration dataset, as training datasets do (0: keep; %(default)s)")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the results here")
    p.add_argument("--workdir", type=Path, metavar="DIR",
                   help="keep the teacher's audio, ours and the dataset here (default: a "
                        "temporary folder, removed at the end)")
    p.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1),
                   help="processes for the teacher and the dataset (%(default)s)")
    p.add_argument("--threads", type=int, default=2, help="judge CPU threads (%(default)s)")
    p.add_argument("--worst", type=int, default=5, help="sentences to list (%(default)s)")
    p.add_argument("--max-gap", type=float, default=2.0, metavar="POINTS",
                   help="goal: our WER at most this many points above the teacher's")
    p.add_argument("--check", action="store_true", help="exit with 1 when the goal is missed")
    args = p.parse_args(argv)
    if args.count is not None and args.count < 1:
        p.error("-n must be positive")
    return args


def read_sentences(args: argparse.Namespace) -> list[str]:
    if args.text is not None:
        lines = args.text.read_text(encoding="utf-8").splitlines()
    else:
        if not DEFAULT_TEXT.is_file():
            sys.exit(f"{DEFAULT_TEXT} not found; pass --text FILE")
        lines = DEFAULT_TEXT.read_text(encoding="utf-8").splitlines()
        lines = lines[DEFAULT_LINES[0] - 1:DEFAULT_LINES[1]]
    sentences = [" ".join(line.split()) for line in lines]
    sentences = [s for s in sentences if s]
    if args.count is not None:
        sentences = sentences[:args.count]
    if not sentences:
        sys.exit("no sentences")
    return sentences


def load_voice(source: str | None) -> tuple[Any, str]:
    from fastpitch_tpu.checkpoints import load_fastpitch

    name = source if source is not None else "default"
    try:
        return load_fastpitch(name), name
    except (FileNotFoundError, ValueError, OSError) as e:
        if source is None:
            sys.exit(f"no voice named 'default' ({e}); pass --voice PATH")
        sys.exit(f"cannot load --voice {source}: {e}")


def speak_teacher(sentences: list[str], folder: Path, jobs: int) -> dict[int, Path]:
    """Teacher audio per sentence index (sentences it failed to speak are left out)."""
    from fastpitch_tpu.train.teacher import generate

    generate(sentences, folder, jobs=jobs, progress=True)
    rows = [json.loads(line) for line in
            (folder / "metadata.jsonl").read_text(encoding="utf-8").splitlines() if line]
    by_id = {row["id"]: row for row in rows}
    out: dict[int, Path] = {}
    for i, text in enumerate(sentences):
        row = by_id.get(f"{i + 1:06d}")
        if row is None:
            continue
        if row["text"] != text:
            sys.exit(f"{folder}: line {i + 1} holds another sentence ({row['text']!r}); "
                     "use a fresh --workdir")
        out[i] = folder / row["audio"]
    return out


def markdown_cell(text: str) -> str:
    return text.replace("|", "\\|") or "(nothing)"


def no_nan(value: Any) -> Any:
    """``value`` with NaN floats (no voiced frames) made None, for JSON."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [no_nan(v) for v in value]
    return value


def fmt(value: float, digits: int = 2) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sentences = read_sentences(args)

    import soundfile
    from tqdm import tqdm

    from fastpitch_tpu.engine import Synthesizer
    from fastpitch_tpu.train import evaluate as ev

    timings: dict[str, float] = {}
    started = time.perf_counter()
    voice, voice_name = load_voice(args.voice)
    voice_copy = copy.deepcopy(voice).float().eval()  # durations on the CPU in float32
    synth = Synthesizer(voice, args.hifigan, backend="torch", dtype="float32")
    judge = ev.load_judge(args.threads)
    aligner_parts = ev.load_training_weights(args.weights) if args.weights else None

    work = args.workdir or Path(tempfile.mkdtemp(prefix="voice-quality-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        t = time.perf_counter()
        teacher_wavs = speak_teacher(sentences, work / "teacher", args.jobs)
        timings["teacher_s"] = time.perf_counter() - t
        missing = len(sentences) - len(teacher_wavs)
        if missing:
            print(f"the teacher could not speak {missing} sentences; they are left out",
                  file=sys.stderr)
        indices = sorted(teacher_wavs)

        t = time.perf_counter()
        ours_dir = work / "ours"
        ours_dir.mkdir(exist_ok=True)
        ours_wavs: dict[int, Path] = {}
        for i in tqdm(indices, desc="ours", unit="line"):
            ours_wavs[i] = synth.synthesize(sentences[i]).save(ours_dir / f"{i + 1:06d}.wav")
        timings["ours_s"] = time.perf_counter() - t

        def read(path: Path) -> tuple[np.ndarray[Any, Any], int]:
            samples, rate = soundfile.read(path, dtype="float32")
            return samples, int(rate)

        # Both voices are judged and measured from their 16-bit WAV files alike.
        ours = {i: read(ours_wavs[i]) for i in indices}
        teacher = {i: read(teacher_wavs[i]) for i in indices}

        t = time.perf_counter()
        rows: list[dict[str, Any]] = []
        for i in tqdm(indices, desc="judge", unit="line"):
            ref = ev.words(sentences[i])
            heard = {who: ev.transcribe(judge, *clips[i])
                     for who, clips in (("ours", ours), ("teacher", teacher))}
            rows.append({
                "id": f"{i + 1:06d}", "text": sentences[i], "ref_words": len(ref),
                "ours_heard": heard["ours"], "teacher_heard": heard["teacher"],
                "ours_errors": ev.word_errors(ref, ev.words(heard["ours"])),
                "teacher_errors": ev.word_errors(ref, ev.words(heard["teacher"])),
            })
        timings["judge_s"] = time.perf_counter() - t

        t = time.perf_counter()
        for row, i in zip(tqdm(rows, desc="pitch", unit="line"), indices):
            row["ours_f0_std"] = ev.f0_std_semitones(*ours[i])
            row["teacher_f0_std"] = ev.f0_std_semitones(*teacher[i])
        timings["pitch_s"] = time.perf_counter() - t

        durations: dict[str, Any] | None = None
        if aligner_parts is not None:
            from fastpitch_tpu.train import build_dataset, load_dataset

            t = time.perf_counter()
            align_model, aligner, step = aligner_parts
            flavor = voice_copy.config.frontend or "nemo_arpabet"
            if align_model.config.frontend not in (None, flavor):
                sys.exit(f"{args.weights} uses the {align_model.config.frontend} frontend, "
                         f"the voice {flavor}")
            dataset = work / "dataset"
            if dataset.exists():
                shutil.rmtree(dataset)
            build_dataset(work / "teacher", dataset, frontend=flavor, jobs=args.jobs,
                          trim_db=args.trim_db or None)
            _, utterances = load_dataset(dataset)
            wanted = {f"{i + 1:06d}" for i in indices}
            utterances = [u for u in utterances if u.id in wanted]
            aligned = ev.aligned_durations(align_model, aligner, utterances)
            result = ev.duration_errors(voice_copy, [u.ids for u in utterances], aligned)
            durations = {"mae_frames": result.frames, "mae_ms": result.ms,
                         "bias_frames": result.bias_frames, "tokens": result.tokens,
                         "utterances": result.utterances, "aligner_step": step}
            by_id = {r["id"]: r for r in rows}
            for u, err in zip(utterances, result.per_utterance):
                by_id[u.id]["duration_mae_frames"] = err
            timings["durations_s"] = time.perf_counter() - t
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)

    total_words = sum(r["ref_words"] for r in rows)
    wer_ours = 100.0 * sum(r["ours_errors"] for r in rows) / max(total_words, 1)
    wer_teacher = 100.0 * sum(r["teacher_errors"] for r in rows) / max(total_words, 1)
    gap = wer_ours - wer_teacher
    f0_ours = float(np.nanmean([r["ours_f0_std"] for r in rows]))
    f0_teacher = float(np.nanmean([r["teacher_f0_std"] for r in rows]))
    met = gap <= args.max_gap
    timings["total_s"] = time.perf_counter() - started

    print()
    print(f"{len(rows)} sentences, {total_words} words; voice {voice_name}, vocoder "
          f"{args.hifigan}; judge Whisper tiny.en")
    print()
    print("| metric | ours | teacher | difference |")
    print("|---|---|---|---|")
    print(f"| WER (%) | {wer_ours:.2f} | {wer_teacher:.2f} | {gap:+.2f} points |")
    print(f"| F0 std per utterance (semitones, mean) | {fmt(f0_ours)} | {fmt(f0_teacher)} | "
          f"{fmt(f0_ours - f0_teacher, 2)} |")
    if durations is not None:
        print(f"| duration error per symbol vs aligner (mean abs) | "
              f"{durations['mae_frames']:.2f} frames ({durations['mae_ms']:.1f} ms) | - | "
              f"bias {durations['bias_frames']:+.2f} frames |")
    print()
    print(f"goal: our WER within {args.max_gap:g} points of the teacher's: "
          f"{'met' if met else 'missed'}")
    worst = sorted((r for r in rows if r["ours_errors"] > 0),
                   key=lambda r: (-r["ours_errors"], r["teacher_errors"]))[:args.worst]
    if worst:
        print()
        print("| errors ours / teacher | sentence | ours heard as | teacher heard as |")
        print("|---|---|---|---|")
        for r in worst:
            print(f"| {r['ours_errors']} / {r['teacher_errors']} | {markdown_cell(r['text'])} | "
                  f"{markdown_cell(r['ours_heard'])} | {markdown_cell(r['teacher_heard'])} |")

    if args.json is not None:
        summary = {
            "voice": voice_name, "hifigan": args.hifigan, "sentences": len(rows),
            "words": total_words, "teacher_failed": len(sentences) - len(rows),
            "wer": {"ours": wer_ours, "teacher": wer_teacher, "gap_points": gap,
                    "max_gap": args.max_gap, "met": met},
            "f0_std_semitones": {"ours": f0_ours, "teacher": f0_teacher},
            "durations": durations, "timings": timings, "rows": rows,
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(no_nan(summary), indent=1, allow_nan=False) + "\n",
                             encoding="utf-8")
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    sys.exit(main())
