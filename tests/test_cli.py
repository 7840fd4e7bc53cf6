"""The ``fastpitch-tpu`` command line on the fixture models."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
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


# ---------------------------------------------------------------------------------------------
# Many lines to one file, streaming, output checks, errors as one line.

FASTPITCH = MODELS[1]
HIFIGAN = MODELS[3]
LONG_TEXT = " ".join(
    f"Sentence number {n} tells a short story about the weather, the sea and the ships."
    for n in range(12))


@pytest.fixture(scope="module")
def synth() -> Any:
    from fastpitch_tpu.engine import Synthesizer

    return Synthesizer(FASTPITCH, HIFIGAN, backend="torch", dtype="float32", cache_dir="")


def _pcm(samples: Any) -> Any:
    from fastpitch_tpu.audio import Audio

    return Audio(np.asarray(samples, np.float32), 22050).to_int16()


def _read_pcm(path: Path) -> Any:
    data, rate = soundfile.read(path, dtype="int16")
    assert rate == 22050
    return data


def _leftovers(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


def test_one_text_is_the_same_audio_as_synthesize(tmp_path: Path, synth: Any) -> None:
    out = tmp_path / "one.wav"
    assert main(["Hello world, how are you?", "-o", str(out), *MODELS]) == 0
    expected = synth.synthesize("Hello world, how are you?").to_int16()
    assert np.array_equal(_read_pcm(out), expected)
    assert _leftovers(tmp_path) == ["one.wav"]


def test_many_lines_go_into_one_file_with_pauses(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    synth: Any
) -> None:
    lines = ["The first line.", "A second line, a little longer.", "Third."]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n\n"))
    out = tmp_path / "story.wav"
    assert main(["-o", str(out), "--pace", "1.1", "--sentence-pause", "0.5", *MODELS]) == 0
    gap = np.zeros(int(round(0.5 * 22050)), np.int16)
    parts = [synth.synthesize(line, pace=1.1).to_int16() for line in lines]
    expected = np.concatenate([parts[0], gap, parts[1], gap, parts[2]])
    assert np.array_equal(_read_pcm(out), expected)
    assert capsys.readouterr().out.startswith(f"{out}: {len(expected) / 22050:.2f} s")


def test_a_long_text_is_spoken_sentence_by_sentence(tmp_path: Path, synth: Any) -> None:
    assert len(synth.frontend.encode(LONG_TEXT)) > synth.buckets.max_tokens
    text_file = tmp_path / "long.txt"
    text_file.write_text(LONG_TEXT, encoding="utf-8")
    out = tmp_path / "long.wav"
    assert main(["-i", str(text_file), "-o", str(out), "--no-progress", *MODELS]) == 0
    # The pieces synthesize_stream speaks (it puts the pause before every piece after the
    # first), one after another.
    streamed = [a.samples for a in synth.synthesize_stream(LONG_TEXT)]
    assert len(streamed) == len(synth.split_for_streaming(LONG_TEXT)) > 1
    assert np.array_equal(_read_pcm(out), _pcm(np.concatenate(streamed)))


def test_synthesize_pieces_in_order_over_windows(synth: Any) -> None:
    texts = ["One.", LONG_TEXT, "Two words.", "Three more words here.", "Four."]
    pieces = list(synth.synthesize_pieces(texts, window=2))
    assert [p.text_index for p in pieces] == sorted(p.text_index for p in pieces)
    by_text: dict[int, list[Any]] = {}
    for p in pieces:
        by_text.setdefault(p.text_index, []).append(p)
    assert sorted(by_text) == [0, 1, 2, 3, 4]
    for i, text in enumerate(texts):
        got = by_text[i]
        assert [p.index for p in got] == list(range(got[0].count))
        if i != 1:  # a text that fits is one piece: the samples of synthesize(text)
            assert len(got) == 1
            assert np.array_equal(got[0].audio.samples, synth.synthesize(text).samples)
    assert by_text[1][0].count == len(synth.split_for_streaming(LONG_TEXT))


def test_synthesize_pieces_raises_in_order(synth: Any) -> None:
    from fastpitch_tpu.errors import InvalidTextError

    seen: list[int] = []
    with pytest.raises(InvalidTextError, match="text 2 has nothing to speak"):
        for piece in synth.synthesize_pieces(["One.", "Two.", "   ", "Four."], window=8):
            seen.append(piece.text_index)
    assert seen == [0, 1]
    with pytest.raises(ValueError, match="window"):
        next(synth.synthesize_pieces(["One."], window=0))


def test_synthesize_pieces_reads_its_input_lazily(synth: Any) -> None:
    taken: list[int] = []

    def texts() -> Any:
        for i in range(1000):
            taken.append(i)
            yield f"Line {i}."

    stream = synth.synthesize_pieces(texts(), window=4)
    first = next(stream)
    assert first.text_index == 0 and len(first.audio) > 0
    assert len(taken) <= 2  # the first window holds one piece
    stream.close()


def test_lines_to_folder_counts_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "one_file"
    assert main(["Just one.", "-o", str(out), *MODELS]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["0001.wav"]
    assert capsys.readouterr().out.startswith(f"{out}: 1 file, ")
    lines = tmp_path / "lines.txt"
    lines.write_text("First.\nSecond.\n", encoding="utf-8")
    # A trailing slash names a folder even with a dot in the name.
    assert main(["-i", str(lines), "-o", f"{tmp_path / 'v1.0'}/", *MODELS]) == 0
    assert sorted(p.name for p in (tmp_path / "v1.0").iterdir()) == ["0001.wav", "0002.wav"]
    assert capsys.readouterr().out.startswith(f"{tmp_path / 'v1.0'}: 2 files, ")


class _Loaded(BaseException):
    """Raised where the models would load (a BaseException: past the CLI's error messages)."""


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("x.mp3", "cannot write '.mp3' files"),
        ("afile/x.wav", "cannot make the folder"),
        ("afile/deeper/x.wav", "cannot make the folder"),
        ("afile/outdir", "cannot make the folder"),
        ("afile", "exists and is not a folder"),
        ("adir", None),  # an existing folder: one file per line, checked fine
    ],
)
def test_the_output_is_checked_before_the_models_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str, message: str | None
) -> None:
    from fastpitch_tpu import engine

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise _Loaded

    (tmp_path / "afile").write_text("not a folder", encoding="utf-8")
    (tmp_path / "adir").mkdir()
    # A suffix-less existing file is taken as a folder, which it is not.
    output_path = tmp_path / output
    monkeypatch.setattr(engine.Synthesizer, "__init__", refuse)
    before = _leftovers(tmp_path)
    if message is None:
        with pytest.raises(_Loaded):
            main(["Hi.", "-o", str(output_path), *MODELS])
    else:
        with pytest.raises(SystemExit) as info:
            main(["Hi.", "-o", str(output_path), *MODELS])
        assert isinstance(info.value.code, str) and info.value.code.startswith("error: ")
        assert message in info.value.code and "\n" not in info.value.code
    assert _leftovers(tmp_path) == before


def test_a_failed_run_leaves_no_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from fastpitch_tpu import engine

    real = engine.Synthesizer.synthesize_pieces

    def fail_midway(self: Any, texts: Any, **kwargs: Any) -> Any:
        for piece in real(self, texts, **kwargs):
            yield piece
            raise RuntimeError("the device fell over")

    monkeypatch.setattr(engine.Synthesizer, "synthesize_pieces", fail_midway)
    lines = tmp_path / "lines.txt"
    lines.write_text("First.\nSecond.\n", encoding="utf-8")
    for output in ("new/sub/out.wav", "folder"):
        with pytest.raises(SystemExit) as info:
            main(["-i", str(lines), "-o", str(tmp_path / output), *MODELS])
        assert info.value.code == ("error: RuntimeError: the device fell over (run with -v for "
                                   "the traceback)")
    # The folder run finished its first file (whole) before the failure; nothing else is left.
    assert _leftovers(tmp_path) == ["folder", "folder/0001.wav", "lines.txt"]
    with pytest.raises(RuntimeError, match="fell over"):  # -v: the traceback
        main(["-v", "-i", str(lines), "-o", str(tmp_path / "x.wav"), *MODELS])


def test_ctrl_c_exits_130_without_a_half_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from fastpitch_tpu import engine

    real = engine.Synthesizer.synthesize_pieces

    def interrupted(self: Any, texts: Any, **kwargs: Any) -> Any:
        for piece in real(self, texts, **kwargs):
            yield piece
            raise KeyboardInterrupt

    monkeypatch.setattr(engine.Synthesizer, "synthesize_pieces", interrupted)
    with pytest.raises(SystemExit) as info:
        main(["One. Two.", "-o", str(tmp_path / "made" / "x.wav"), *MODELS])
    assert info.value.code == 130
    assert capsys.readouterr().err == "interrupted\n"
    assert _leftovers(tmp_path) == []  # neither the temporary file nor the folder made for it


@pytest.mark.parametrize("missing", ["torch", "platformdirs", "soundfile"])
def test_a_frontend_only_install_names_the_models_extra(tmp_path: Path, missing: str) -> None:
    # A fresh process in which the module cannot be imported, as where it is not installed.
    code = (f"import sys; sys.modules[{missing!r}] = None; from fastpitch_tpu.cli import main; "
            f"main(sys.argv[1:])")
    done = subprocess.run([sys.executable, "-c", code, "Hi.", "-o", "x.wav", *MODELS],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stderr.startswith("error: fastpitch-tpu speak needs the models extra: "
                                  "pip install 'fastpitch-tpu[models]'")
    assert done.stderr.count("\n") == 1
    assert _leftovers(tmp_path) == []


def test_jax_backend_without_jax_names_the_jax_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "jax", None)
    with pytest.raises(SystemExit) as info:
        main(["Hi.", "-o", str(tmp_path / "x.wav"), *MODELS, "--backend", "jax"])
    assert isinstance(info.value.code, str)
    assert info.value.code.startswith("error: the jax backend needs the jax extra: "
                                      "pip install 'fastpitch-tpu[jax]'")
    assert _leftovers(tmp_path) == []


def test_missing_server_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    with pytest.raises(SystemExit) as info:
        main(["serve"])
    assert isinstance(info.value.code, str)
    assert info.value.code.startswith("error: the server needs the server extra: "
                                      "pip install 'fastpitch-tpu[server]'")


def test_cuda_without_a_gpu(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(SystemExit) as info:
        main(["Hi.", "-o", str(tmp_path / "x.wav"), *MODELS, "--device", "cuda"])
    assert info.value.code == ("error: --device cuda: no CUDA GPU is available here; use "
                               "--device cpu")
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize("kind", ["random", "truncated", "empty"])
def test_a_malformed_checkpoint_is_one_line(tmp_path: Path, kind: str) -> None:
    bad = tmp_path / "bad.pt"
    real = (FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt").read_bytes()
    bad.write_bytes({"random": np.random.default_rng(0).bytes(5000),
                     "truncated": real[: len(real) // 3], "empty": b""}[kind])
    with pytest.raises(SystemExit) as info:
        main(["Hi.", "-o", str(tmp_path / "x.wav"), "--fastpitch", str(bad), *MODELS[2:]])
    assert isinstance(info.value.code, str) and info.value.code.startswith("error: ")
    assert "\n" not in info.value.code and str(bad) in info.value.code
    assert _leftovers(tmp_path) == ["bad.pt"]


@pytest.mark.parametrize("text", ["   ", "\U0001f600\U0001f680", "..."])
def test_nothing_to_speak(tmp_path: Path, text: str) -> None:
    with pytest.raises(SystemExit) as info:
        main([text, "-o", str(tmp_path / "x.wav"), *MODELS])
    assert isinstance(info.value.code, str)
    assert info.value.code.startswith("error: ") and "nothing to speak" in info.value.code
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(
    "argv",
    [
        ["-v", "Hello.", "-o", "{out}"],
        ["Hello.", "-o", "{out}", "-v"],
        ["-v", "speak", "Hello.", "-o", "{out}"],
        ["speak", "--verbose", "Hello.", "-o", "{out}"],
    ],
)
def test_verbose_anywhere(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str]
) -> None:
    out = tmp_path / "v.wav"
    assert main([a.format(out=out) for a in argv] + MODELS) == 0
    assert out.exists()
    # The fixture checkpoint's loader logs what it skips, at INFO: shown with -v only.
    assert "INFO fastpitch_tpu" in capsys.readouterr().err
    assert main(["Hello.", "-o", str(out), *MODELS]) == 0
    assert "INFO" not in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        (["serve", "-v"], "_serve"),
        (["-v", "serve"], "_serve"),
        (["corpus", "in.txt", "out", "-v"], "_corpus"),
        (["train", "fit", "data", "run", "-v"], "_train"),
        (["train", "-v", "dataset", "src", "out"], "_train"),
        (["-v", "train", "teacher", "t.txt", "out"], "_train"),
        (["bench", "--verbose"], "bench"),
    ],
)
def test_verbose_for_every_command(
    monkeypatch: pytest.MonkeyPatch, argv: list[str], command: str
) -> None:
    from fastpitch_tpu import benchmark, cli

    seen: list[bool] = []

    def record(args: Any) -> int:
        seen.append(args.verbose)
        return 0

    if command == "bench":
        monkeypatch.setattr(benchmark, "run", record)
    else:
        monkeypatch.setattr(cli, command, record)
    assert main(argv) == 0
    assert seen == [True]


def test_warnings_and_log_records_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import logging
    import warnings

    from fastpitch_tpu import engine

    real = engine.Synthesizer.synthesize_pieces

    def noisy(self: Any, texts: Any, **kwargs: Any) -> Any:
        warnings.warn("text 0: skipped characters\nthe voice cannot read: '☃'", UserWarning,
                      stacklevel=1)
        logging.getLogger("fastpitch_tpu").warning("a record\nover two lines")
        return real(self, texts, **kwargs)

    monkeypatch.setattr(engine.Synthesizer, "synthesize_pieces", noisy)
    shown = warnings.showwarning
    assert main(["Hello.", "-o", str(tmp_path / "x.wav"), *MODELS]) == 0
    err = capsys.readouterr().err.splitlines()
    assert "warning: text 0: skipped characters the voice cannot read: '☃'" in err
    assert "warning: a record over two lines" in err
    assert warnings.showwarning is shown  # restored after the command


def test_user_errors_in_a_real_process(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "fastpitch_tpu", *args],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)

    done = run("Hi.", "-o", "x.aiff", *MODELS)
    assert done.returncode == 1
    assert done.stderr == "error: cannot write '.aiff' files (x.aiff); use .wav, .flac, .ogg\n"
    done = run("Hi.", "-o", "x.wav", "--no-such-flag")
    assert done.returncode == 2 and "unrecognized arguments: --no-such-flag" in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_freed_memory_is_given_back_after_each_piece(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from fastpitch_tpu import cli, heap

    if sys.platform == "linux":  # glibc: the functions the CLI calls are there
        assert heap._libc() is not None
    calls: list[str] = []
    monkeypatch.setattr(cli, "release_freed_memory", lambda: calls.append("trim"))
    text = "One sentence here. " * 40  # longer than one bucket: several pieces
    assert cli.main([text, "-o", str(tmp_path / "long.wav"), "--fastpitch", str(FASTPITCH),
                     "--hifigan", str(HIFIGAN), "--backend", "torch", "--no-progress"]) == 0
    # the heap trimmed after loading and after each piece
    assert len(calls) > 2
