#!/usr/bin/env python3
"""Differential test of the NeMo text normalizer against nemo_text_processing (not part of pytest).

    python tests/reference/differential_tn.py [--seed S] [--n N] [--cache-dir DIR] [--show K]

Generates N sentences that the goldens do not contain: LJSpeech lines in which a random word is
replaced by a number, year, ordinal, decimal, money amount, percentage, measure, date, time,
range, telephone number or fraction, plus short template sentences of the same kinds. Compares
``TextFrontend("nemo_arpabet").normalize`` / ``.encode`` with NeMo's
``Normalizer(lang="en", input_case="cased")`` (``punct_pre_process=True, punct_post_process=True``)
followed by NeMo's tokenizer. Needs nemo_text_processing 1.2.0 + pynini and the NeMo tokenizer
environment of benches/README.md. Prints % identical ids and normalized text, per kind.
"""

from __future__ import annotations

import argparse
import logging
import random
import warnings
from collections import defaultdict
from pathlib import Path

GOLDENS = Path(__file__).resolve().parents[2].parent / "shared" / "goldens"

MONTHS = "January February March April May June July August September October November December".split()


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def make(rng: random.Random) -> tuple[str, str]:
    kind = rng.choice(
        [
            "cardinal",
            "year",
            "ordinal",
            "decimal",
            "money",
            "percent",
            "measure",
            "date",
            "time",
            "range",
            "telephone",
            "fraction",
            "comma_number",
            "serial",
        ]
    )
    n = rng.randrange(1, 10 ** rng.randrange(1, 7))
    value = {
        "cardinal": str(n),
        "year": str(rng.randrange(1000, 2100)),
        "ordinal": ordinal(n % 200),
        "serial": rng.choice(
            ["B2B", "A4", "MP3", "F-16", "COVID-19", "X5", "4K", "R2-D2", "G7", "5rd", "8nd"]
        ),
        "decimal": f"{rng.randrange(0, 1000)}.{rng.randrange(0, 100)}",
        "money": rng.choice(["$", "£", "€"])
        + rng.choice([str(n), f"{n}.{rng.randrange(10, 100)}", f"{n % 100} million"]),
        "percent": f"{rng.randrange(0, 101)}%",
        "measure": f"{rng.randrange(1, 500)} "
        + rng.choice(["kg", "km", "cm", "mph", "lb", "ft", "GB", "MHz", "ml", "°F"]),
        "date": rng.choice(
            [
                f"{rng.choice(MONTHS)} {rng.randrange(1, 29)}, {rng.randrange(1900, 2030)}",
                f"{rng.randrange(1, 13)}/{rng.randrange(1, 29)}/{rng.randrange(1950, 2030)}",
                f"{rng.choice(MONTHS)} {rng.randrange(1, 29)}",
            ]
        ),
        "time": rng.choice(
            [
                f"{rng.randrange(1, 13)}:{rng.randrange(0, 60):02d} "
                + rng.choice(["a.m.", "p.m.", "AM", "PM"]),
                f"{rng.randrange(0, 24)}:{rng.randrange(0, 60):02d}",
            ]
        ),
        "range": f"{rng.randrange(1, 100)}-{rng.randrange(100, 1000)}",
        "telephone": f"({rng.randrange(200, 999)}) {rng.randrange(200, 999)}-{rng.randrange(1000, 9999)}",
        "fraction": f"{rng.randrange(1, 10)}/{rng.randrange(2, 17)}",
        "comma_number": f"{n:,}",
    }[kind]
    return kind, value


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--cache-dir", default=str(Path.home() / ".cache" / "nemo_tn_grammars"))
    ap.add_argument("--show", type=int, default=10)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)

    from nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers import (
        EnglishPhonemesTokenizer,
    )
    from nemo.collections.tts.g2p.models.en_us_arpabet import EnglishG2p
    from nemo_text_processing.text_normalization.normalize import Normalizer

    from fastpitch_tpu import TextFrontend

    d = GOLDENS / "dicts"
    g2p = EnglishG2p(
        phoneme_dict=str(d / "cmudict-0.7b_nv22.10"),
        heteronyms=str(d / "heteronyms-052722"),
        phoneme_probability=0.5,
    )
    tok = EnglishPhonemesTokenizer(
        g2p, punct=True, stresses=True, chars=True, apostrophe=True, pad_with_space=True
    )
    ref = Normalizer(lang="en", input_case="cased", cache_dir=args.cache_dir)
    ours = TextFrontend("nemo_arpabet")
    lines = [
        ln for ln in (GOLDENS / "corpora" / "ljspeech.txt").read_text(encoding="utf-8").split("\n") if ln
    ]
    rng = random.Random(args.seed)
    stats: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    shown = 0
    for _ in range(args.n):
        kind, value = make(rng)
        if rng.random() < 0.7:
            words = rng.choice(lines).split(" ")
            words[rng.randrange(len(words))] = value
            text = " ".join(words)
        else:
            text = rng.choice(
                ["It was {}.", "We paid {} yesterday.", "The answer is {}, they said.", "{}"]
            ).format(value)
        try:
            normalized = ref.normalize(text, verbose=False, punct_pre_process=True, punct_post_process=True)
            with tok.set_phone_prob(prob=1.0):
                ref_ids = tok.encode(normalized)
        except Exception:  # noqa: BLE001 - reference failures are skipped
            continue
        ours_norm = ours.normalize(text)
        s = stats[kind]
        s[0] += 1
        s[1] += ours.encode(text).tolist() == ref_ids
        s[2] += ours_norm == normalized
        if ours_norm != normalized and shown < args.show:
            shown += 1
            print(f"[{kind}] {text!r}\n   ref:  {normalized!r}\n   ours: {ours_norm!r}")
    total = [sum(v[i] for v in stats.values()) for i in range(3)]
    print(f"\n{'kind':14} {'n':>5} {'ids%':>7} {'norm%':>7}")
    for kind, (n, ids, norm) in sorted(stats.items()) + [("ALL", tuple(total))]:
        print(f"{kind:14} {n:5d} {100 * ids / n:7.2f} {100 * norm / n:7.2f}")


if __name__ == "__main__":
    main()
