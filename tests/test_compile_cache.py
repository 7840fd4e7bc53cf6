"""Shipping a compile cache: ``fastpitch-tpu cache export / import / info``, an archive made for
another machine ignored with a warning, a damaged or hostile one refused with nothing written,
and imported files that no longer match the machine left unused by the jax backend."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import logging
import random
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest

from fastpitch_tpu.cli import main
from fastpitch_tpu.compile_cache import (
    CacheArchiveError,
    describe_cache,
    export_cache,
    import_cache,
)
from fastpitch_tpu.compile_cache import manifest as cache_manifest
from fastpitch_tpu.compile_cache.archive import FORMAT, MANIFEST_NAME, Limits
from fastpitch_tpu.compile_cache.manifest import IMPORTS_FILE, foreign_entry, machine_facts

FIXTURES = Path(__file__).parent / "fixtures"

FILES = {
    "graphs/0123abcd/0-1-64.jaxexport": b"graph " * 300,
    "graphs/0123abcd/1-512-1-64.jaxexport": random.Random(0).randbytes(5000),
    "voices/k1/voice.json": b'{"sample_rate": 22050}',
    "jit_call-0a0f-cache": random.Random(1).randbytes(3000),
    "fxgraph/ab/entry": b"",
}


@pytest.fixture()
def cache(tmp_path: Path) -> Path:
    """A cache folder with entries of each kind, and what an export leaves out: others'
    temporary files and locks, a link, an import's staging folder and records."""
    root = tmp_path / "cache"
    for rel, blob in FILES.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(blob)
    (root / "graphs" / "0123abcd" / ".0-2-64.jaxexport.5f3c.tmp").write_bytes(b"half")
    (root / ".lockfile").write_bytes(b"")
    (root / "link").symlink_to(tmp_path)
    (root / ".fastpitch-import-0000").mkdir()
    (root / ".fastpitch-import-0000" / "x").write_bytes(b"x")
    return root


def _tree(root: Path) -> dict[str, bytes]:
    """The regular files under ``root`` (links not followed), by path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.is_symlink()}


def _software() -> dict[str, Any]:
    """This machine's facts without accelerators (an archive naming none is compared without
    querying any)."""
    return {**cache_manifest.software_facts(), "accelerators": {}}


def _manifest(files: dict[str, bytes], environment: dict[str, Any] | None = None,
              **entries: Any) -> dict[str, Any]:
    listed = {rel: {"size": len(blob), "sha256": hashlib.sha256(blob).hexdigest()}
              for rel, blob in files.items()}
    listed.update(entries)
    return {"format": FORMAT, "version": 1, "created": "2026-01-01T00:00:00+00:00",
            "environment": environment or _software(), "files": listed,
            "bytes": sum(map(len, files.values()))}


def _write_archive(path: Path, manifest: dict[str, Any], files: dict[str, bytes],
                   extra: list[tarfile.TarInfo] | None = None, compress: bool = False) -> Path:
    """An archive as the exporter writes it (the manifest, then ``cache/<file>``), with the
    members of ``extra`` (links, devices ...) after the files."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        blob = json.dumps(manifest).encode()
        info = tarfile.TarInfo(MANIFEST_NAME)
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
        for rel, data in files.items():
            info = tarfile.TarInfo(f"cache/{rel}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for member in extra or []:
            tar.addfile(member)
    path.write_bytes(gzip.compress(raw.getvalue()) if compress else raw.getvalue())
    return path


# -------------------------------------------------------------------------------------------
# Export and import


@pytest.mark.parametrize("name", ["cache.tar", "cache.tar.gz"])
def test_round_trip_gives_identical_files(cache: Path, tmp_path: Path, name: str) -> None:
    archive = tmp_path / name
    exported = export_cache(cache, archive)
    assert (exported.files, exported.bytes) == (len(FILES), sum(map(len, FILES.values())))
    assert exported.skipped == 1  # the link
    assert (archive.read_bytes()[:2] == b"\x1f\x8b") == name.endswith(".gz")
    fresh = tmp_path / "fresh"
    report = import_cache(archive, fresh)
    assert report.imported and (report.added, report.replaced, report.kept) == (len(FILES), 0, 0)
    copied = _tree(fresh)
    assert json.loads(copied.pop(IMPORTS_FILE))["imports"][0]["files"] == {
        rel: len(blob) for rel, blob in FILES.items()}
    assert copied == FILES  # no temporary file, lock, link or staging folder travelled
    again = import_cache(archive, fresh)  # identical files stay as they are
    assert (again.added, again.replaced, again.kept) == (0, 0, len(FILES))
    assert _tree(fresh) == {**copied, IMPORTS_FILE: (fresh / IMPORTS_FILE).read_bytes()}


def test_an_import_replaces_a_differing_file_and_keeps_the_others(cache: Path,
                                                                   tmp_path: Path) -> None:
    archive = export_cache(cache, tmp_path / "cache.tar").archive
    live = tmp_path / "live"
    (live / "voices" / "k1").mkdir(parents=True)
    (live / "voices" / "k1" / "voice.json").write_bytes(b"older")
    (live / "local-only").write_bytes(b"mine")
    report = import_cache(archive, live)
    assert (report.added, report.replaced) == (len(FILES) - 1, 1)
    assert (live / "voices" / "k1" / "voice.json").read_bytes() == FILES["voices/k1/voice.json"]
    assert (live / "local-only").read_bytes() == b"mine"


def test_an_interrupted_export_leaves_no_archive(cache: Path, tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from fastpitch_tpu.compile_cache import exporting as cache_export

    archive = tmp_path / "out" / "cache.tar"
    archive.parent.mkdir()
    archive.write_bytes(b"the previous archive")
    calls = []

    def interrupted(*args: Any) -> None:
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(cache_export, "_add", interrupted)
    with pytest.raises(KeyboardInterrupt):
        export_cache(cache, archive)
    assert [p.name for p in archive.parent.iterdir()] == ["cache.tar"]
    assert archive.read_bytes() == b"the previous archive"


def test_an_interrupted_import_writes_nothing(cache: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    from fastpitch_tpu.compile_cache import importing as cache_import

    archive = export_cache(cache, tmp_path / "cache.tar").archive
    write = cache_import._write_member
    calls = []

    def interrupted(*args: Any) -> None:
        calls.append(args)
        if len(calls) == 3:
            raise KeyboardInterrupt
        write(*args)

    monkeypatch.setattr(cache_import, "_write_member", interrupted)
    live = tmp_path / "live"
    with pytest.raises(KeyboardInterrupt):
        import_cache(archive, live)
    assert list(live.iterdir()) == []  # no file, no staging folder left


def test_a_file_written_during_the_export_fails_it(cache: Path, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from fastpitch_tpu.compile_cache import exporting as cache_export

    fingerprint = cache_export._fingerprint

    def then_written(path: Path) -> tuple[int, int, str]:
        found = fingerprint(path)
        if path.name == "voice.json":
            path.write_bytes(b'{"sample_rate": 44100}')
        return found

    monkeypatch.setattr(cache_export, "_fingerprint", then_written)
    with pytest.raises(OSError, match="changed while it was exported"):
        export_cache(cache, tmp_path / "cache.tar")
    assert not list(tmp_path.glob("*cache.tar*"))


def test_an_archive_for_another_machine_is_ignored_with_a_warning(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    other = _software()
    other["packages"] = {**other["packages"], "jax": "0.0.1"}
    other["accelerators"] = {}
    archive = _write_archive(tmp_path / "other.tar", _manifest(FILES, other), FILES)
    live = tmp_path / "live"
    with caplog.at_level(logging.WARNING, logger="fastpitch_tpu"):
        report = import_cache(archive, live)
    assert not report.imported
    assert any("jax 0.0.1 vs" in d for d in report.differences)
    assert "nothing imported" in caplog.text and "jax 0.0.1 vs" in caplog.text
    assert not live.exists()  # not even the folder

    forced = import_cache(archive, live, force=True)  # versions, never damage
    assert forced.imported and _tree(live).keys() == {*FILES, IMPORTS_FILE}
    record = json.loads((live / IMPORTS_FILE).read_text())["imports"][0]
    assert record["origin"]["packages"]["jax"] == "0.0.1"
    assert record["accepted"]["packages"] == cache_manifest.software_facts()["packages"]
    # accepted for this machine as it is: the jax backend may use them
    assert not foreign_entry(live / "graphs" / "0123abcd" / "0-1-64.jaxexport", levels=2)


def test_an_archive_for_another_accelerator_is_ignored(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cache_manifest._QUERIES, "jax",
                        (lambda: {"backend": "gpu", "device": "NVIDIA H200"}, lambda: False))
    made = {**_software(), "accelerators": {"jax": {"backend": "gpu", "device": "NVIDIA H100"}}}
    archive = _write_archive(tmp_path / "h100.tar", _manifest(FILES, made), FILES)
    report = import_cache(archive, tmp_path / "live")
    assert not report.imported
    assert report.differences == ("jax device gpu NVIDIA H100 vs gpu NVIDIA H200 here",)


def _member(name: str, kind: bytes, **fields: Any) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    for key, value in fields.items():
        setattr(info, key, value)
    return info


def _damaged_archives(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """Each damaged or hostile archive, and the words its refusal must hold."""
    good = _write_archive(tmp_path / "good.tar", _manifest(FILES), FILES).read_bytes()
    data_at = good.index(FILES["graphs/0123abcd/0-1-64.jaxexport"])
    flipped = bytearray(good)
    flipped[data_at + 10] ^= 0x01
    gz = bytearray(gzip.compress(good))
    gz[len(gz) // 2] ^= 0xFF
    one = {"a": b"data"}
    cases: dict[str, tuple[bytes | Path, str]] = {
        "truncated": (good[: data_at + 100], "damaged archive"),
        "truncated between files": (good[: good.index(FILES["voices/k1/voice.json"]) - 512],
                                    "missing"),
        "flipped byte": (bytes(flipped), "does not match its SHA-256"),
        "flipped byte, compressed": (bytes(gz), "damaged archive|does not match its SHA-256"),
        "not an archive": (b"hello" * 200, "damaged archive"),
        "empty": (b"", "damaged archive"),
    }
    hostile = {
        "traversal listed": (_manifest({"../x": b"data"}), {"../x": b"data"}, None, "unsafe path"),
        "traversal member": (_manifest(one), one,
                             [_member("cache/../../x", tarfile.REGTYPE)], "unsafe path"),
        "absolute path": (_manifest(one), one, [_member("/tmp/x", tarfile.REGTYPE)],
                          "unsafe path"),
        "symlink outside": (_manifest(one, None, link={"size": 0, "sha256": "0" * 64}), one,
                            [_member("cache/link", tarfile.SYMTYPE, linkname="/etc/passwd")],
                            "symbolic link"),
        "hard link": (_manifest(one), one,
                      [_member("cache/hard", tarfile.LNKTYPE, linkname="cache/a")], "hard link"),
        "device": (_manifest(one), one, [_member("cache/dev", tarfile.CHRTYPE, devmajor=1,
                                                 devminor=3)], "device"),
        "oversized": (_manifest(one, None, huge={"size": 1 << 50, "sha256": "0" * 64}), one,
                      None, "size"),
        "unlisted file": (_manifest(one), {**one, "b": b"extra"}, None, "not in the manifest"),
        "not ours": ({"format": "something else"}, one, None, "not a fastpitch-tpu"),
    }
    for name, (manifest, files, extra, words) in hostile.items():
        path = _write_archive(tmp_path / f"case-{len(cases)}.tar", manifest, files, extra)
        cases[name] = (path, words)
    out = {}
    for i, (name, (blob, words)) in enumerate(cases.items()):
        if isinstance(blob, bytes):
            path = tmp_path / f"case-{i}.tar"
            path.write_bytes(blob)
            blob = path
        out[name] = (blob, words)
    return out


def test_damaged_and_hostile_archives_are_refused_with_nothing_written(tmp_path: Path) -> None:
    cases = _damaged_archives(tmp_path)
    assert len(cases) == 15
    for name, (archive, words) in cases.items():
        live = tmp_path / "live" / name
        with pytest.raises(CacheArchiveError) as info:
            import_cache(archive, live, force=True)  # force never lets damage through
        message = str(info.value)
        assert re.search(words, message.split("nothing imported: ")[1]), (name, message)
        assert message.startswith(f"{archive}: refused, nothing imported") and "\n" not in message
        assert not live.exists() or _tree(live) == {}, name
        assert not (tmp_path / "x").exists() and not Path("/tmp/x").is_symlink()


def test_limits_refuse_an_archive_beyond_them(cache: Path, tmp_path: Path) -> None:
    archive = export_cache(cache, tmp_path / "cache.tar").archive
    for limits, words in ((Limits(file_bytes=4000), "size"), (Limits(files=2), "over the limit"),
                          (Limits(total_bytes=1000), "over the limit"),
                          (Limits(manifest_bytes=100), "manifest of")):
        with pytest.raises(CacheArchiveError, match=words):
            import_cache(archive, tmp_path / "live", limits=limits)
        assert _tree(tmp_path / "live") == {}


def test_a_file_in_the_way_stops_the_import_before_anything_moves(cache: Path,
                                                                  tmp_path: Path) -> None:
    archive = export_cache(cache, tmp_path / "cache.tar").archive
    live = tmp_path / "live"
    live.mkdir()
    (live / "voices").write_bytes(b"a file where a folder goes")
    with pytest.raises(OSError, match="in the way"):
        import_cache(archive, live)
    assert _tree(live) == {"voices": b"a file where a folder goes"}


# -------------------------------------------------------------------------------------------
# At use time


def _make_foreign(root: Path) -> None:
    """Rewrites the folder's import records as if this machine's jax had changed since."""
    records = json.loads((root / IMPORTS_FILE).read_text())
    for record in records["imports"]:
        record["accepted"]["packages"]["jax"] = "0.0.1"
    (root / IMPORTS_FILE).write_text(json.dumps(records))


def test_imported_files_that_no_longer_match_are_foreign(
        cache: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    archive = export_cache(cache, tmp_path / "cache.tar").archive
    live = tmp_path / "live"
    import_cache(archive, live)
    graph = live / "graphs" / "0123abcd" / "0-1-64.jaxexport"
    assert not foreign_entry(graph, levels=2)
    _make_foreign(live)
    with caplog.at_level(logging.WARNING, logger="fastpitch_tpu"):
        assert foreign_entry(graph, levels=2)
        assert foreign_entry(live / "voices" / "k1" / "voice.json", levels=2)
    assert caplog.text.count("imported for another machine") == 1  # once per folder
    assert "jax 0.0.1 vs" in caplog.text
    graph.write_bytes(b"traced again here")  # this machine's own now
    assert not foreign_entry(graph, levels=2)
    assert not foreign_entry(tmp_path / "x", levels=2)  # outside any cache: never
    # an export leaves out what is not valid here; `info` says why
    again = export_cache(live, tmp_path / "again.tar")
    assert again.files == 1 and again.skipped == 4  # the graph traced here travels
    summary = describe_cache(live)
    assert summary.imports[0][1] and "jax 0.0.1 vs" in summary.imports[0][1][0]


# -------------------------------------------------------------------------------------------
# The command line


def test_cli_export_import_info(cache: Path, tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    archive, live = tmp_path / "cache.tar", tmp_path / "live"
    assert main(["cache", "export", str(archive), "--cache-dir", str(cache)]) == 0
    assert f"{archive}: 5 files of {cache}" in capsys.readouterr().out
    assert main(["cache", "info", str(archive)]) == 0
    out = capsys.readouterr().out
    assert "a compile cache of 5 files" in out and "matches this machine" in out
    assert main(["-v", "cache", "import", str(archive), "--cache-dir", str(live)]) == 0
    assert "5 added, 0 replaced, 0 already there, of 5 files" in capsys.readouterr().out
    assert main(["cache", "info", "--cache-dir", str(live)]) == 0
    out = capsys.readouterr().out
    assert f"{live}: 6 files" in out and "graphs/ 2 files" in out
    assert f"imported 5 files from {archive}" in out and "matches this machine" in out


def test_cli_errors_are_one_line(cache: Path, tmp_path: Path) -> None:
    whole = export_cache(cache, tmp_path / "cache.tar").archive.read_bytes()
    damaged, cut = tmp_path / "damaged.tar", tmp_path / "cut.tar"
    damaged.write_bytes(whole[:3000])  # in the files
    cut.write_bytes(whole[:700])  # in the manifest, all that `info FILE` reads
    live, none = ["--cache-dir", str(tmp_path / "live")], ["--cache-dir", str(tmp_path / "none")]
    for argv, words in (
            (["import", str(damaged), *live], "refused, nothing imported"),
            (["import", str(tmp_path / "missing.tar"), *live], "no such archive"),
            (["info", str(cut)], "not a readable compile cache archive"),
            (["export", str(tmp_path / "x.tar"), *none], "no compile cache folder"),
            (["export", str(cache / "inside.tar"), "--cache-dir", str(cache)],
             "inside the cache folder"),
            (["export", str(tmp_path / "x.tar"), "--cache-dir", ""], "names no folder")):
        with pytest.raises(SystemExit) as info:
            main(["cache", *argv])
        message = str(info.value.code)
        assert message.startswith("error: ") and words in message and "\n" not in message
    assert _tree(tmp_path / "live") == {}
    assert not (tmp_path / "x.tar").exists() and not (cache / "inside.tar").exists()


def test_cli_exit_status_in_a_real_process(cache: Path, tmp_path: Path) -> None:
    other = {**_software(), "python": "cpython-2.7"}
    archive = _write_archive(tmp_path / "other.tar", _manifest(FILES, other), FILES)
    damaged = tmp_path / "damaged.tar"
    good = _write_archive(tmp_path / "good.tar", _manifest(FILES), FILES).read_bytes()
    damaged.write_bytes(good[: good.index(FILES["jit_call-0a0f-cache"]) + 100])

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "fastpitch_tpu", "cache", *args,
                               "--cache-dir", str(tmp_path / "live")],
                              capture_output=True, text=True, timeout=300)

    ignored = run("import", str(archive))
    assert ignored.returncode == 3
    assert ignored.stderr.startswith("warning: ") and "Python cpython-2.7 vs" in ignored.stderr
    assert "nothing imported" in ignored.stderr and ignored.stderr.count("\n") == 1
    refused = run("import", str(damaged))
    assert refused.returncode == 1 and refused.stderr.count("\n") == 1
    assert refused.stderr.startswith("error: ") and "nothing imported" in refused.stderr
    forced = run("import", str(archive), "--force")
    assert forced.returncode == 0 and "5 added" in forced.stdout
    assert "as forced" in forced.stderr


# -------------------------------------------------------------------------------------------
# A real cache


def test_a_shipped_jax_cache_is_loaded_not_traced(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    import numpy as np
    from jax import export

    from fastpitch_tpu.engine import Buckets, Synthesizer

    def synth(folder: Path) -> Synthesizer:
        return Synthesizer(FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt",
                           FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small",
                           backend="jax", dtype="float32", cache_dir=str(folder),
                           buckets=Buckets(tokens=(64,), batch=(1,), frames=(512,)))

    made = tmp_path / "made"
    first = synth(made)
    assert first.warmup(progress=False) == 2
    reference = first.synthesize("Printing, in the only sense.").samples
    archive = export_cache(made, tmp_path / "cache.tar").archive
    shipped = tmp_path / "shipped"
    assert import_cache(archive, shipped).imported
    traced: list[object] = []
    real_export = export.export

    def counting(*args: Any, **kwargs: Any) -> Any:
        traced.append(args)
        return real_export(*args, **kwargs)

    monkeypatch.setattr(export, "export", counting)
    second = synth(shipped)
    assert second.warmup(progress=False) == 2
    assert traced == []  # the shipped graphs were loaded
    assert not second._source.loaded  # the shipped weights too: no checkpoint was read
    assert np.array_equal(second.synthesize("Printing, in the only sense.").samples, reference)

    _make_foreign(shipped)  # as if this machine's versions had changed since the import
    with caplog.at_level(logging.WARNING, logger="fastpitch_tpu"):
        third = synth(shipped)
        assert third.warmup(progress=False) == 2
    assert len(traced) == 2 and third._source.loaded  # traced and converted again
    assert caplog.text.count("imported for another machine") == 1
    assert machine_facts()["packages"]["jax"] != "0.0.1"
