#!/usr/bin/env python3
"""Text frontend speed: fastpitch_tpu vs the reference frontends, measured in the same run.

    python benches/frontend_vs_reference.py [--lines N] [--corpus PATH] [--dle-dir DIR] [--nemo]

Per-sentence wall time (time.perf_counter_ns, one thread, after warm-up) of
  * ours:   TextFrontend(flavor).encode(text)      (DLE flavors: cleaning + ARPAbet + ids)
            TextFrontend(flavor).encode(norm, normalize=False)   (NeMo flavors: G2P + tokenizer)
  * theirs: DeepLearningExamples TextProcessing.encode_text (when --dle-dir points at a
            DeepLearningExamples PyTorch/SpeechSynthesis/FastPitch checkout and `inflect` is
            installed) and NeMo's EnglishPhonemesTokenizer/IPATokenizer.encode (with --nemo, when
            nemo_toolkit is importable), on the same lines.
Prints median / p90 / max in microseconds and the median ratio theirs/ours. NeMo flavors are fed
the reference's normalized text from the goldens (the normalizer is benchmarked separately).
With --nemo-tn (nemo_text_processing + pynini importable) it also times the whole NeMo `parse`
path on the first --parse-lines lines: our `encode(text)` vs NeMo's
`Normalizer(lang="en", input_case="cased").normalize(text, punct_pre_process=True,
punct_post_process=True)` followed by the tokenizer.
Also measures encode_batch throughput on --batch-lines sentences with 1 and all worker threads
(separate processes, RAYON_NUM_THREADS) to show scaling with cores.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOLDENS = REPO.parent / "shared" / "goldens"


def read_lines(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def per_call_us(fn, items, repeat: int = 3) -> list[float]:
    for x in items[:200]:
        fn(x)
    best = [float("inf")] * len(items)
    for _ in range(repeat):
        for i, x in enumerate(items):
            t0 = time.perf_counter_ns()
            fn(x)
            best[i] = min(best[i], (time.perf_counter_ns() - t0) / 1000)
    return best


def summary(times: list[float]) -> dict[str, float]:
    s = sorted(times)
    return {"median": statistics.median(s), "p90": s[int(0.9 * (len(s) - 1))], "max": s[-1]}


def load_dle(dle_dir: Path, p_arpabet: float):
    sys.path.insert(0, str(dle_dir))
    from common.text import cmudict  # type: ignore[import-not-found]  # the package's CMUDict instance
    from common.text.text_processing import get_text_processing  # type: ignore[import-not-found]

    if not cmudict._entries:
        cmudict.initialize(str(GOLDENS / "dicts" / "cmudict-0.7b"), str(GOLDENS / "dicts" / "heteronyms"))
    tp = get_text_processing("english_basic", ["english_cleaners_v2"], p_arpabet)
    return tp.encode_text


def load_nemo(flavor: str):
    from nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers import (  # type: ignore
        EnglishPhonemesTokenizer,
        IPATokenizer,
    )
    from nemo.collections.tts.g2p.models.en_us_arpabet import EnglishG2p  # type: ignore
    from nemo.collections.tts.g2p.models.i18n_ipa import IpaG2p  # type: ignore

    d = GOLDENS / "dicts"
    if flavor == "nemo_arpabet":
        g2p = EnglishG2p(phoneme_dict=str(d / "cmudict-0.7b_nv22.10"), heteronyms=str(d / "heteronyms-052722"),
                         phoneme_probability=1.0)
        tok = EnglishPhonemesTokenizer(g2p, punct=True, stresses=True, chars=True, apostrophe=True,
                                       pad_with_space=True)
    else:
        g2p = IpaG2p(phoneme_dict=str(d / "ipa_cmudict-0.7b_nv23.01.txt"), heteronyms=str(d / "heteronyms-052722"),
                     phoneme_probability=1.0, ignore_ambiguous_words=False, use_chars=True)
        tok = IPATokenizer(g2p, punct=True, apostrophe=True, pad_with_space=True)
    return tok.encode


def load_nemo_parse(flavor: str, cache_dir: str):
    import logging

    from nemo_text_processing.text_normalization.normalize import Normalizer  # type: ignore

    logging.getLogger("NeMo-text-processing").setLevel(logging.ERROR)
    normalizer = Normalizer(lang="en", input_case="cased", cache_dir=cache_dir)
    encode = load_nemo(flavor)

    def parse(text: str) -> list[int]:
        normalized = normalizer.normalize(text, verbose=False, punct_pre_process=True, punct_post_process=True)
        return encode(normalized)

    return parse


def batch_worker(flavor: str, n: int) -> None:
    from fastpitch_tpu import TextFrontend

    fe = TextFrontend(flavor)
    lines = read_lines(GOLDENS / "corpora" / "ljspeech.txt")
    texts = (lines * (n // len(lines) + 1))[:n]
    normalize = not flavor.startswith("nemo")  # NeMo flavors: G2P + tokenizer only
    fe.encode_batch(texts[:500], normalize=normalize)
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        fe.encode_batch(texts, normalize=normalize)
        best = min(best, time.perf_counter() - t0)
    print(json.dumps({"seconds": best}))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lines", type=int, default=2000, help="first N LJSpeech lines (default 2000)")
    ap.add_argument("--dle-dir", type=Path, help="DeepLearningExamples PyTorch/SpeechSynthesis/FastPitch dir")
    ap.add_argument("--nemo", action="store_true", help="also time NeMo's tokenizers (needs nemo_toolkit)")
    ap.add_argument("--nemo-tn", action="store_true", help="also time NeMo's normalizer + tokenizer (parse)")
    ap.add_argument("--tn-cache", default=os.path.join(os.path.expanduser("~"), ".cache", "nemo_tn_grammars"))
    ap.add_argument("--parse-lines", type=int, default=500)
    ap.add_argument("--batch-lines", type=int, default=10000)
    ap.add_argument("--json", type=Path, help="write the numbers here")
    ap.add_argument("--_batch-worker", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args._batch_worker:
        batch_worker(args._batch_worker[0], int(args._batch_worker[1]))
        return

    from fastpitch_tpu import TextFrontend

    lines = read_lines(GOLDENS / "corpora" / "ljspeech.txt")[: args.lines]
    normalized = {
        f: [r["normalized"] for r in map(json.loads, read_lines(GOLDENS / f / "ljspeech.jsonl.gz")[: args.lines])]
        for f in ("nemo_arpabet", "nemo_ipa")
    }
    results: dict[str, dict] = {}
    print(f"{len(lines)} LJSpeech lines, one thread, per-sentence wall time in µs (best of 3 per line)\n")
    print(f"{'flavor':13} {'stage':28} {'ours med':>9} {'p90':>7} {'max':>8} {'ref med':>9} {'ratio':>8}")
    for flavor in ("dle_chars", "dle_arpabet", "nemo_arpabet", "nemo_ipa"):
        fe = TextFrontend(flavor)
        if flavor.startswith("dle"):
            items, stage = lines, "clean+encode"
            ours = per_call_us(fe.encode, items)
            ref_fn = None
            if args.dle_dir:
                try:
                    ref_fn = load_dle(args.dle_dir, 1.0 if flavor == "dle_arpabet" else 0.0)
                except Exception as e:  # noqa: BLE001 - reference is optional
                    print(f"  (DLE reference unavailable: {e})")
        else:
            items, stage = normalized[flavor], "g2p+tokenize (normalized in)"
            ours = per_call_us(lambda t: fe.encode(t, normalize=False), items)
            ref_fn = None
            if args.nemo:
                try:
                    ref_fn = load_nemo(flavor)
                except Exception as e:  # noqa: BLE001 - reference is optional
                    print(f"  (NeMo reference unavailable: {e})")
        row = {"ours": summary(ours)}
        ref_txt = ratio_txt = "-"
        if ref_fn is not None:
            theirs = per_call_us(ref_fn, items, repeat=1)
            row["reference"] = summary(theirs)
            row["ratio_median"] = row["reference"]["median"] / row["ours"]["median"]
            ref_txt = f"{row['reference']['median']:9.1f}"
            ratio_txt = f"{row['ratio_median']:7.0f}x"
        o = row["ours"]
        print(f"{flavor:13} {stage:28} {o['median']:9.2f} {o['p90']:7.2f} {o['max']:8.1f} {ref_txt:>9} {ratio_txt:>8}")
        results[flavor] = row

    if args.nemo_tn:
        parse_lines = lines[: args.parse_lines]
        print(f"\nwhole parse (normalize + G2P + ids) from raw text, first {len(parse_lines)} lines:")
        for flavor in ("nemo_arpabet", "nemo_ipa"):
            fe = TextFrontend(flavor)
            ours = per_call_us(fe.encode, parse_lines)
            row = {"ours": summary(ours)}
            try:
                theirs = per_call_us(load_nemo_parse(flavor, args.tn_cache), parse_lines, repeat=1)
            except Exception as e:  # noqa: BLE001 - reference is optional
                print(f"  (NeMo normalizer unavailable: {e})")
            else:
                row["reference"] = summary(theirs)
                row["ratio_median"] = row["reference"]["median"] / row["ours"]["median"]
            o = row["ours"]
            ref = row.get("reference")
            tail = f"{ref['median']:9.1f} {row['ratio_median']:7.0f}x" if ref else ""
            print(f"{flavor:13} {'parse':28} {o['median']:9.2f} {o['p90']:7.2f} {o['max']:8.1f} {tail}")
            results[f"{flavor}_parse"] = row

    print(f"\nencode_batch on {args.batch_lines} LJSpeech sentences (best of 5), seconds:")
    for flavor in ("dle_arpabet", "nemo_arpabet"):
        times = {}
        for threads in (1, os.cpu_count() or 1):
            env = dict(os.environ, RAYON_NUM_THREADS=str(threads))
            out = subprocess.run(
                [sys.executable, __file__, "--_batch-worker", flavor, str(args.batch_lines)],
                env=env, check=True, capture_output=True, text=True,
            ).stdout
            times[threads] = json.loads(out.strip().splitlines()[-1])["seconds"]
        t1, tn = times[1], times[max(times)]
        print(f"  {flavor:13} 1 thread {t1:.4f}  {max(times)} threads {tn:.4f}  speed-up {t1 / tn:.2f}x")
        results[f"{flavor}_batch"] = {"threads": times, "speedup": t1 / tn}
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
