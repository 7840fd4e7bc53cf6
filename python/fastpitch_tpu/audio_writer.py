"""Audio files written piece by piece, atomically: the samples go to a temporary file beside the
target as they are produced (memory does not grow with the length), and the finished file
replaces the target in one rename. A run that fails or is interrupted removes its temporary file
and the folders it made, so that no part of a file is ever left under the target's name.

The temporary file is made when the writer is created, before any audio exists: a target that
cannot be written is reported before the work, not after it.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from fastpitch_tpu.audio import Audio

__all__ = ["FORMATS", "AudioFileWriter", "check_format", "prepare_folder", "remove_made"]

FORMATS: dict[str, tuple[str, str]] = {
    ".wav": ("WAV", "PCM_16"),
    ".flac": ("FLAC", "PCM_16"),
    ".ogg": ("OGG", "VORBIS"),
}
"""File suffix → (libsndfile format, subtype) of the files the writer makes."""


def check_format(path: str | os.PathLike[str]) -> tuple[str, str]:
    """The (format, subtype) for ``path``'s suffix; ``ValueError`` for one that cannot be
    written here."""
    import soundfile

    suffix = Path(path).suffix.lower()
    available = soundfile.available_formats()
    usable = [s for s, (fmt, _) in FORMATS.items() if fmt in available]
    if suffix not in usable:
        shown = f"'{suffix}' files" if suffix else "files without a suffix"
        raise ValueError(f"cannot write {shown} ({path}); use {', '.join(usable)}")
    return FORMATS[suffix]


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns those made, the deepest first."""
    missing: list[Path] = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        _remove_folders(missing)
        raise OSError(f"cannot make the folder {folder}: {e.strerror or e}") from None
    return missing


def _remove_folders(folders: list[Path]) -> None:
    for folder in folders:  # the deepest first; only while still empty
        try:
            folder.rmdir()
        except OSError:
            return


def prepare_folder(folder: str | os.PathLike[str]) -> list[Path]:
    """Make ``folder`` (with its parents) and check that files can be written in it; returns the
    folders made, the deepest first, for :func:`remove_made` after a failure. ``OSError`` with
    a one-line message where it cannot be made or written."""
    target = Path(folder)
    if target.exists() and not target.is_dir():
        raise OSError(f"{target} exists and is not a folder")
    made = _make_folders(target)
    probe = target / f".write-test.{uuid.uuid4().hex}.tmp"
    try:
        probe.open("xb").close()
    except OSError as e:
        _remove_folders(made)
        raise OSError(f"cannot write in {target}: {e.strerror or e}") from None
    probe.unlink(missing_ok=True)
    return made


def remove_made(folders: list[Path]) -> None:
    """Remove the folders :func:`prepare_folder` made, where they are still empty."""
    _remove_folders(folders)


class AudioFileWriter:
    """One mono audio file (WAV, FLAC or OGG by ``path``'s suffix) written piece by piece.

    Creating it makes the missing folders and the temporary file (``OSError`` / ``ValueError``
    with a one-line message where the target cannot be written); :meth:`open` starts the audio
    at a sample rate; :meth:`write` appends samples; :meth:`commit` finishes the file under its
    name. As a context manager it commits on success and :meth:`discard`\\ s on any exception
    (``KeyboardInterrupt`` included).
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.format, self.subtype = check_format(self.path)
        if self.path.is_dir():
            raise OSError(f"{self.path} is a folder")
        self._made = _make_folders(self.path.parent)
        self._tmp = self.path.with_name(f".{self.path.name}.{uuid.uuid4().hex}.tmp")
        try:
            self._tmp.open("xb").close()
        except OSError as e:
            _remove_folders(self._made)
            raise OSError(f"cannot write {self.path}: {e.strerror or e}") from None
        self._file: Any = None
        self.frames = 0
        """Samples written so far."""
        self.sample_rate: int | None = None

    def open(self, sample_rate: int) -> None:
        """Start the audio at ``sample_rate`` Hz (once, before the first :meth:`write`)."""
        import soundfile

        if self._file is not None:
            raise RuntimeError("the writer is already open")
        self._file = soundfile.SoundFile(str(self._tmp), "w", samplerate=sample_rate,
                                         channels=1, format=self.format, subtype=self.subtype)
        self.sample_rate = sample_rate

    def write(self, audio: Audio) -> None:
        """Append ``audio`` (at the writer's sample rate)."""
        if self._file is None:
            raise RuntimeError("open() the writer first")
        if audio.sample_rate != self.sample_rate:
            raise ValueError(f"audio at {audio.sample_rate} Hz written to a file at "
                             f"{self.sample_rate} Hz")
        # 16-bit formats get the samples Audio.save writes (rounded, clipped); the others
        # their float samples.
        self._file.write(audio.to_int16() if self.subtype == "PCM_16" else audio.samples)
        self.frames += len(audio)

    def write_silence(self, seconds: float) -> None:
        """Append ``seconds`` of silence."""
        if self.sample_rate is None:
            raise RuntimeError("open() the writer first")
        n = int(round(seconds * self.sample_rate))
        if n > 0:
            self.write(Audio(np.zeros(n, np.float32), self.sample_rate))

    @property
    def duration(self) -> float:
        """Seconds written so far."""
        return self.frames / self.sample_rate if self.sample_rate else 0.0

    def commit(self) -> Path:
        """Finish the file and give it its name."""
        if self._file is None:
            raise RuntimeError("nothing was written")
        self._file.close()
        self._file = None
        os.replace(self._tmp, self.path)
        return self.path

    def discard(self) -> None:
        """Remove the temporary file (and the folders made for it, if empty): no file is left."""
        if self._file is not None:
            try:
                self._file.close()
            except Exception:  # the file is removed anyway
                pass
            self._file = None
        self._tmp.unlink(missing_ok=True)
        _remove_folders(self._made)

    def __enter__(self) -> AudioFileWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is None:
            try:
                self.commit()
            except BaseException:
                self.discard()
                raise
        else:
            self.discard()
