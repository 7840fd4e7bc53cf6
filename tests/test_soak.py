"""A short soak (benches/soak.py) against a real server process (tiny fixture model, eager CPU
backend): every kind of request, good and bad, streams left mid-way included, is answered with
a status its kind expects, and the server ends with no more file descriptors or threads than
it had at rest after the warm-up."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("aiohttp")

FIXTURES = Path(__file__).parent / "fixtures"
FASTPITCH = FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt"
HIFIGAN = FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"


def _soak_module() -> Any:
    path = Path(__file__).parent.parent / "benches" / "soak.py"
    spec = importlib.util.spec_from_file_location("soak", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_a_short_soak_leaks_nothing_and_answers_as_expected() -> None:
    soak = _soak_module()
    limits = soak.Limits(max_chars=400, max_body_bytes=4000)
    proc, url = soak.start_server([
        "--fastpitch", str(FASTPITCH), "--hifigan", str(HIFIGAN), "--backend", "torch",
        "--dtype", "float32", "--cache-dir", "", "--max-batch", "4",
        "--max-chars", str(limits.max_chars), "--max-body-bytes", str(limits.max_body_bytes)],
        timeout_s=120)
    try:
        out = asyncio.run(soak.soak(url, proc.pid, 18.0, clients=4, limits=limits,
                                    sample_s=1.0, settle_s=15.0))
    finally:
        soak.stop_server(proc)
    assert out["unexpected"] == 0, out["unexpected_examples"]
    assert set(out["requests"]) == set(soak.EXPECTED)  # every kind was sent
    assert all(out["requests"][kind].get(200, 0) > 0 for kind in ("whole", "stream", "batch"))
    assert out["requests"]["bad_header"] == {422: out["requests"]["bad_header"][422]}
    assert out["fd_growth"] <= 0 and out["thread_growth"] <= 0, (
        out["at_rest_after_warm_up"], out["at_rest_at_end"])
    assert out["server_alive"]
    assert {s["phase"] for s in out["samples"]} == {"warm-up", "main"}
    assert out["at_rest_after_warm_up"]["rss_mib"] > 0 and out["rss_peak_under_load_mib"] > 0


def test_the_report_names_each_goal_missed() -> None:
    soak = _soak_module()
    tally = soak.Tally()
    tally.add("whole", 200)
    tally.add("bad_json", 500, "Internal Server Error")
    rest = {"rss_mib": 100.0, "fds": 20, "threads": 10}
    grown = {"rss_mib": 110.0, "fds": 21, "threads": 11}
    out = soak.report(tally, [], rest, grown, alive=False)
    assert out["unexpected"] == 1 and "bad_json: 500" in out["unexpected_examples"][0]
    assert out["rss_drift"] == pytest.approx(0.10)
    assert out["goals_failed"] == ["unexpected statuses", "RSS drift over 5 %",
                                   "file descriptors leaked", "threads leaked",
                                   "server not alive"]
    assert soak.report(soak.Tally(), [], rest, rest, alive=True)["goals_failed"] == []
