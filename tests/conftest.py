"""Shared fixtures: the golden reference records in ../shared/goldens (skipped when absent)."""

from __future__ import annotations

import gzip
import json
import os
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
GOLDENS = Path(os.environ.get("FASTPITCH_TPU_GOLDENS", REPO.parent / "shared" / "goldens"))
FLAVORS = ["dle_chars", "dle_arpabet", "nemo_arpabet", "nemo_ipa"]
CORPORA = ["ljspeech", "dle_phrases", "nemo_tn_cases", "hard"]


def read_lines(path: Path) -> list[str]:
    """Lines split on '\\n' only: other line separators are part of an input."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", newline="") as f:
        lines = f.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def golden_records(flavor: str, corpus: str) -> list[dict[str, Any]]:
    for name in (f"{corpus}.jsonl", f"{corpus}.jsonl.gz"):
        path = GOLDENS / flavor / name
        if path.exists():
            return [json.loads(line) for line in read_lines(path)]
    pytest.skip(f"golden file for {flavor}/{corpus} not found under {GOLDENS}")


def golden_vocab(flavor: str) -> dict[str, Any]:
    path = GOLDENS / flavor / "vocab.json"
    if not path.exists():
        pytest.skip(f"{path} not found")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Downloads fail as without network; the download cache is a fresh folder."""
    from fastpitch_tpu.checkpoints import hub

    monkeypatch.setenv("FASTPITCH_TPU_CACHE", str(tmp_path / "cache"))

    def unreachable(url: str, dest: Path) -> None:
        raise OSError("network is unreachable")

    monkeypatch.setattr(hub, "_fetch", unreachable)
