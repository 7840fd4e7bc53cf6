"""Token-for-token agreement with NVIDIA's reference frontends (golden records).

DLE flavors: ``encode(text)`` and ``normalize(text)`` must equal the reference on every line.
NeMo flavors: ``encode(normalized, normalize=False)`` must equal the reference ids for the
reference's own normalized text (the normalizer is a separate component).
"""

from __future__ import annotations

import numpy as np
import pytest

from conftest import CORPORA, FLAVORS, golden_records, golden_vocab
from fastpitch_tpu import TextFrontend


@pytest.fixture(scope="module", params=FLAVORS)
def frontend(request: pytest.FixtureRequest) -> TextFrontend:
    return TextFrontend(request.param)


def _mismatches(frontend: TextFrontend, records: list[dict]) -> list[str]:
    bad = []
    for i, rec in enumerate(records):
        if frontend.flavor.startswith("dle"):
            cleaned = frontend.normalize(rec["text"])
            ids = frontend.encode(rec["text"])
            if cleaned != rec["normalized"]:
                bad.append(f"line {i}: normalized {cleaned!r} != {rec['normalized']!r}")
                continue
            if frontend.flavor == "dle_arpabet":
                arpa = frontend.arpabet_text(rec["text"])
                if arpa != rec["arpabet_text"]:
                    bad.append(f"line {i}: arpabet {arpa!r} != {rec['arpabet_text']!r}")
                    continue
        else:
            ids = frontend.encode(rec["normalized"], normalize=False)
            g2p = frontend.g2p(rec["normalized"])
            if g2p != rec["g2p"]:
                bad.append(f"line {i}: g2p {g2p!r} != {rec['g2p']!r}")
                continue
        if ids.dtype != np.int64 or ids.tolist() != rec["ids"]:
            bad.append(f"line {i}: ids differ for {rec['text'][:60]!r}: {frontend.decode(ids)!r}")
    return bad


@pytest.mark.parametrize("corpus", CORPORA)
def test_identical_to_reference(frontend: TextFrontend, corpus: str) -> None:
    records = golden_records(frontend.flavor, corpus)
    bad = _mismatches(frontend, records)
    assert not bad, f"{len(bad)}/{len(records)} lines differ, first: " + "; ".join(bad[:5])


def test_vocab_matches_reference(frontend: TextFrontend) -> None:
    vocab = golden_vocab(frontend.flavor)
    assert frontend.vocab == vocab["id_to_token"]
    assert frontend.pad_id == vocab["special_ids"]["pad"]


# Lower bounds on NeMo normalizer agreement (% of lines with identical ids from raw text);
# `python ../shared/goldens/agreement.py` prints the exact figures.
NEMO_NORMALIZED_FLOORS = {"ljspeech": 99.98, "dle_phrases": 100.0, "nemo_tn_cases": 99.8, "hard": 99.0}


@pytest.mark.parametrize("flavor", ["nemo_arpabet", "nemo_ipa"])
@pytest.mark.parametrize("corpus", CORPORA)
def test_nemo_normalizer_agreement(flavor: str, corpus: str) -> None:
    fe = TextFrontend(flavor)
    records = golden_records(flavor, corpus)
    same = sum(fe.encode(rec["text"]).tolist() == rec["ids"] for rec in records)
    assert 100.0 * same / len(records) >= NEMO_NORMALIZED_FLOORS[corpus]
