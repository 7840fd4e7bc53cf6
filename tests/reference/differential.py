#!/usr/bin/env python3
"""Differential test against the reference frontends on generated text (not part of pytest).

    python tests/reference/differential.py [--seed S] [--n N] [--dle-dir DIR]

Generates N inputs (LJSpeech lines, shuffled words with random case, lines with inserted
punctuation / accented letters / symbols / emoji, hyphenated compounds with suffixes, random
character soup) and compares our ids with NeMo's tokenizers (text fed as normalized text) and,
with --dle-dir, with DeepLearningExamples' ``encode_text``. Needs the reference environment of
benches/README.md. Prints the number of differing inputs per flavor and the first few.
"""

import argparse
import logging
import random
import sys
import warnings
from pathlib import Path

warnings.filterwarnings("ignore")
logging.disable(logging.WARNING)
from nemo.collections.common.tokenizers.text_to_speech.tts_tokenizers import (
    EnglishPhonemesTokenizer,
    IPATokenizer,
)
from nemo.collections.tts.g2p.models.en_us_arpabet import EnglishG2p
from nemo.collections.tts.g2p.models.i18n_ipa import IpaG2p

from fastpitch_tpu import TextFrontend

GOLDENS = Path(__file__).resolve().parents[2].parent / "shared" / "goldens"
D = str(GOLDENS / "dicts") + "/"
ap = argparse.ArgumentParser()
ap.add_argument("--seed", type=int, default=0)
ap.add_argument("--n", type=int, default=20000)
ap.add_argument("--dle-dir", type=Path)
args = ap.parse_args()
ga = EnglishG2p(
    phoneme_dict=D + "cmudict-0.7b_nv22.10", heteronyms=D + "heteronyms-052722", phoneme_probability=0.5
)
ta = EnglishPhonemesTokenizer(ga, punct=True, stresses=True, chars=True, apostrophe=True, pad_with_space=True)
gi = IpaG2p(
    phoneme_dict=D + "ipa_cmudict-0.7b_nv23.01.txt",
    heteronyms=D + "heteronyms-052722",
    phoneme_probability=0.8,
    ignore_ambiguous_words=False,
    use_chars=True,
)
ti = IPATokenizer(gi, punct=True, apostrophe=True, pad_with_space=True)
refs = {"nemo_arpabet": ta, "nemo_ipa": ti}
if args.dle_dir:
    sys.path.insert(0, str(args.dle_dir))
    from common.text import cmudict
    from common.text.text_processing import get_text_processing

    cmudict.initialize(D + "cmudict-0.7b", D + "heteronyms")
    for flavor, p in (("dle_chars", 0.0), ("dle_arpabet", 1.0)):
        tp = get_text_processing("english_basic", ["english_cleaners_v2"], p)
        refs[flavor] = tp
ours = {f: TextFrontend(f) for f in refs}
lines = [l for l in open(GOLDENS / "corpora" / "ljspeech.txt", encoding="utf-8").read().split("\n") if l]
words = " ".join(lines).split()
rng = random.Random(args.seed)
extra = list("!?.,;:-'\"()[]{}/|&*#@%$é ü ñ ç æ ø ß ﬁ — – … “ ” ‘ ’ \t Ω Ж 中 😀 0123456789")


def gen():
    k = rng.randrange(5)
    if k == 0:
        return rng.choice(lines)
    if k == 1:
        w = rng.sample(words, rng.randrange(1, 15))
        return " ".join(
            x.upper() if rng.random() < 0.2 else (x.capitalize() if rng.random() < 0.3 else x) for x in w
        )
    if k == 2:
        s = list(rng.choice(lines))
        for _ in range(rng.randrange(1, 6)):
            s.insert(rng.randrange(len(s) + 1), rng.choice(extra))
        return "".join(s)
    if k == 3:
        return "-".join(rng.sample(words, rng.randrange(2, 5))) + rng.choice(["", " ", "'s", "s'", "'"])
    return "".join(rng.choice(extra + list("abcdefghij ")) for _ in range(rng.randrange(1, 40)))


n = args.n
bad = {f: 0 for f in refs}
err = {f: 0 for f in refs}
shown = 0
for _ in range(n):
    t = gen()
    for f, tok in refs.items():
        try:
            if f.startswith("dle"):
                r = tok.encode_text(t)
            else:
                with tok.set_phone_prob(prob=1.0):
                    r = tok.encode(t)
        except Exception:
            err[f] += 1
            continue
        o = ours[f].encode(t, normalize=f.startswith("dle")).tolist()
        if o != r:
            bad[f] += 1
            if shown < 8:
                shown += 1
                print("DIFF", f, repr(t)[:200])
print("inputs", n, "diffs", bad, "ref errors", err)
