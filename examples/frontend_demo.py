#!/usr/bin/env python3
"""Show what each text frontend flavor makes of a sentence.

    python examples/frontend_demo.py "Dr. Smith paid $5.50 on March 3rd."
"""

from __future__ import annotations

import sys

from fastpitch_tpu import FLAVORS, TextFrontend, TextNormalizationError


def main() -> None:
    text = " ".join(sys.argv[1:]) or "Dr. Smith paid $5.50 on March 3rd."
    print(f"input: {text!r}\n")
    for flavor in FLAVORS:
        fe = TextFrontend(flavor)
        try:
            normalized = fe.normalize(text)
        except TextNormalizationError:
            normalized = text  # NeMo flavors: no normalizer yet; tokenize the text as given
        ids = fe.encode(normalized, normalize=False) if flavor.startswith("nemo") else fe.encode(text)
        print(f"{flavor}")
        print(f"  normalized: {normalized}")
        if flavor == "dle_arpabet":
            print(f"  arpabet:    {fe.arpabet_text(text)}")
        print(f"  tokens:     {' '.join(repr(fe.vocab[i]) for i in ids)}")
        print(f"  ids:        {ids.tolist()}\n")


if __name__ == "__main__":
    main()
