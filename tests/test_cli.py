"""The ``fastpitch-tpu`` command line on the fixture models."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
soundfile = pytest.importorskip("soundfile")

from fastpitch_tpu.cli import main  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
MODELS = [
    "--fastpitch", str(FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt"),
    "--hifigan", str(FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"),
    "--backend", "torch", "--dtype", "float32", "--cache-dir", "",
]


def test_text_to_wav(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hello.wav"
    assert main(["Hello world.", "-o", str(out), *MODELS]) == 0
    data, rate = soundfile.read(out)
    assert rate == 22050 and len(data) > 0 and len(data) % 256 == 0
    assert "hello.wav" in capsys.readouterr().out


def test_lines_to_folder(tmp_path: Path) -> None:
    lines = tmp_path / "lines.txt"
    lines.write_text("First line.\n\nSecond line, a bit longer.\nThird.\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["-i", str(lines), "-o", str(out), "--no-progress", *MODELS]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == ["0001.wav", "0002.wav", "0003.wav"]
    durations = [soundfile.info(out / f).duration for f in files]
    assert durations[1] > durations[2]


def test_stdin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("Hello from stdin.\n"))
    out = tmp_path / "stdin.wav"
    assert main(["-o", str(out), *MODELS]) == 0
    assert soundfile.info(out).duration > 0


def test_controls_change_the_output(tmp_path: Path) -> None:
    slow, fast = tmp_path / "slow.wav", tmp_path / "fast.wav"
    main(["Hello world.", "-o", str(slow), *MODELS])
    main(["Hello world.", "-o", str(fast), "--pace", "1.5", *MODELS])
    assert soundfile.info(fast).frames < soundfile.info(slow).frames


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["   ", "-o", "x.wav"], "nothing to speak"),
        (["Hi.", "-o", "x.wav", "--pace", "-1"], "pace"),
        (["Hi.", "-o", "x.wav", "--fastpitch", "missing.pt"], "no checkpoint file"),
        (["Hi.", "-o", "x.wav", "--device", "nowhere"], "unknown device 'nowhere'"),
    ],
)
def test_errors_are_messages_not_tracebacks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main([*args, *MODELS] if "--fastpitch" not in args else [*args, *MODELS[2:]])
    assert message in str(info.value.code)


def test_module_entry_point() -> None:
    done = subprocess.run([sys.executable, "-m", "fastpitch_tpu", "--help"],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0
    assert "speak" in done.stdout and "bench" in done.stdout
