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


# --------------------------------------------------------------------------------------------
# Skips that CI notices. With FASTPITCH_TPU_STRICT_SKIPS=1 (the full `bash .ci/run` sets it,
# having installed every extra), a skipped test fails the run unless it carries a marker of
# hardware CI does not have: a missing extra, missing goldens or a broken import would otherwise
# shrink the suite without a word.

ALLOWED_TO_SKIP = ("gpu",)
"""Markers whose tests may skip in the full CI run (it has no accelerator)."""

_unexpected_skips: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if not report.skipped or hasattr(report, "wasxfail"):
        return
    if any(marker in report.keywords for marker in ALLOWED_TO_SKIP):
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    _unexpected_skips.append(f"{report.nodeid}: {reason}")


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:
        reason = (report.longrepr[2] if isinstance(report.longrepr, tuple)
                  else str(report.longrepr))
        _unexpected_skips.append(f"{report.nodeid}: {reason}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("FASTPITCH_TPU_STRICT_SKIPS") != "1" or not _unexpected_skips:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_sep("=", "unexpected skips (FASTPITCH_TPU_STRICT_SKIPS=1)", red=True)
        for line in _unexpected_skips:
            reporter.write_line(line)
    session.exitstatus = pytest.ExitCode.TESTS_FAILED
