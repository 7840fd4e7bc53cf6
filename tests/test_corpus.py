"""fastpitch-tpu corpus: shards + manifest, resuming, and a Ray worker killed mid-shard."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")
soundfile = pytest.importorskip("soundfile")

from fastpitch_tpu.cli import main  # noqa: E402
from fastpitch_tpu.corpus import CorpusSpec, synthesize_corpus  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
SPEC = CorpusSpec(
    fastpitch=str(FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt"),
    hifigan=str(FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"),
    backend="torch", dtype="float32", cache_dir="", devices=None)
LINES = [f"Line {i} of the corpus, a sentence of some length." for i in range(1, 15)]


def _input(tmp_path: Path) -> Path:
    path = tmp_path / "corpus.txt"
    # Blank lines are skipped but keep the numbering; a line of symbols fails alone.
    text = LINES[:3] + [""] + LINES[3:9] + ["   ", "~~~"] + LINES[9:]
    path.write_text("\n".join(text) + "\n", encoding="utf-8")
    return path


def _check(out: Path, expected_ids: list[int]) -> list[dict[str, object]]:
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == expected_ids  # every line once, in order
    for r in rows:
        if "error" in r:
            continue
        data = (out / str(r["path"])).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r["sha256"]
        info = soundfile.info(out / str(r["path"]))
        assert info.samplerate == 22050 and abs(info.duration - float(r["duration"])) < 1e-3
    wavs = sorted(p.name for p in (out / "shards").glob("*/*.wav"))
    assert len(wavs) == len(set(wavs)) == sum(1 for r in rows if "path" in r)
    assert not list((out / "shards").glob(".*"))  # no unfinished shard left behind
    return rows


EXPECTED = [1, 2, 3, 5, 6, 7, 8, 9, 10, 12, 13, 14, 15, 16, 17]


def test_local_corpus_resumes_without_redoing_or_losing_lines(tmp_path: Path) -> None:
    src, out = _input(tmp_path), tmp_path / "out"
    stats = synthesize_corpus(src, out, spec=SPEC, shard_lines=4, progress=False)
    assert stats.lines == 15 and stats.spoken == 14 and stats.failed == 1
    rows = _check(out, EXPECTED)
    assert [r["id"] for r in rows if "error" in r] == [12]
    # A run that died mid-shard: shard 1 lost its manifest, and an unfinished folder remains.
    (out / "shards" / "000001.jsonl").unlink()
    (out / "shards" / ".000002.deadbeef.tmp").mkdir()
    before = {p: p.stat().st_mtime_ns for p in (out / "shards").glob("00000[023].jsonl")}
    again = synthesize_corpus(src, out, spec=SPEC, shard_lines=4, progress=False)
    assert again.done_before == 11 and again.spoken == 14
    assert {p: p.stat().st_mtime_ns for p in before} == before  # done shards untouched
    assert _check(out, EXPECTED) == rows
    with pytest.raises(ValueError, match="another input or shard size"):
        synthesize_corpus(src, out, spec=SPEC, shard_lines=5, progress=False)


def test_cli_corpus(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, out = _input(tmp_path), tmp_path / "out"
    args = ["corpus", str(src), str(out), "--fastpitch", SPEC.fastpitch, "--hifigan",
            str(SPEC.hifigan), "--backend", "torch", "--dtype", "float32", "--cache-dir", "",
            "--shard-lines", "6", "--no-progress"]
    assert main(args) == 0
    assert "14 lines spoken, 1 failed" in capsys.readouterr().out
    _check(out, EXPECTED)


@pytest.mark.ray
def test_ray_corpus_survives_a_killed_worker(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    pytest.importorskip("ray.data", reason="the ray extra is not installed")
    src = tmp_path / "corpus.txt"
    src.write_text("\n".join(LINES * 2) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    killed: list[int] = []

    def kill_one_writer() -> None:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and not killed:
            for marker in (out / "shards").glob(".*.tmp/.writer"):
                try:
                    pid = int(marker.read_text())
                except (OSError, ValueError):
                    continue
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
            time.sleep(0.02)

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        killer = threading.Thread(target=kill_one_writer, daemon=True)
        killer.start()
        stats = synthesize_corpus(src, out, spec=SPEC, shard_lines=3, ray_address="local",
                                  workers=2, progress=False)
        killer.join(timeout=1)
    finally:
        ray.shutdown()
    assert killed, "no worker was caught mid-shard"
    assert stats.spoken == len(LINES) * 2 and stats.failed == 0
    _check(out, list(range(1, len(LINES) * 2 + 1)))


def test_corpus_input_errors_are_messages(tmp_path: Path) -> None:
    base = ["--fastpitch", SPEC.fastpitch, "--hifigan", str(SPEC.hifigan), "--backend", "torch",
            "--cache-dir", "", "--no-progress"]
    src = _input(tmp_path)
    binary = tmp_path / "binary.txt"
    binary.write_bytes(b"\xff\xfe\x00 not text")
    for args, message in [
        ([str(tmp_path / "missing.txt"), str(tmp_path / "a")], "No such file"),
        ([str(binary), str(tmp_path / "b")], "not UTF-8"),
        ([str(src), str(tmp_path / "c"), "--shard-lines", "0"], "shard_lines"),
        ([str(src), str(tmp_path / "d"), "--devices", "nowhere"], "unknown device 'nowhere'"),
    ]:
        with pytest.raises(SystemExit) as info:
            main(["corpus", *args, *base])
        assert message in str(info.value.code)
