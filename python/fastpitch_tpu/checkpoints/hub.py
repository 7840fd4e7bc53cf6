"""Downloading published checkpoints into a local cache, checked by sha256.

Names in :data:`HUB` point at NVIDIA's published files (Hugging Face for NeMo's ``.nemo`` files,
NGC for DeepLearningExamples' zips, whose checkpoint is extracted from the zip after the download).
Without network access every download fails with a
:class:`~fastpitch_tpu.errors.CheckpointDownloadError` that says how to pass a local file instead.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import platformdirs

from fastpitch_tpu.checkpoints.files import MAX_ARCHIVE_MEMBER_BYTES
from fastpitch_tpu.errors import CheckpointDownloadError, CheckpointError

__all__ = ["HUB", "HubEntry", "cache_dir", "download", "fetch_hub"]


@dataclass(frozen=True)
class HubEntry:
    """A downloadable checkpoint.

    ``kind`` is ``"fastpitch"`` or ``"hifigan"``; ``filename`` is its name in the cache;
    ``member`` is the checkpoint's path inside a downloaded zip (DeepLearningExamples' NGC
    archives), None when the download is the checkpoint itself. Without a published ``sha256``,
    the digest of the first download is recorded beside the cached file and every later use is
    checked against it.
    """

    url: str
    filename: str
    kind: str
    member: str | None = None
    sha256: str | None = None


_NGC = "https://api.ngc.nvidia.com/v2/models/nvidia"

HUB: dict[str, HubEntry] = {
    "nvidia/tts_en_fastpitch": HubEntry(
        "https://huggingface.co/nvidia/tts_en_fastpitch/resolve/main/tts_en_fastpitch.nemo",
        "tts_en_fastpitch.nemo", "fastpitch",
    ),
    "nvidia/tts_en_fastpitch_ipa": HubEntry(
        f"{_NGC}/nemo/tts_en_fastpitch/versions/IPA_1.13.0/files/tts_en_fastpitch_align_ipa.nemo",
        "tts_en_fastpitch_align_ipa.nemo", "fastpitch",
    ),
    "nvidia/tts_en_fastpitch_multispeaker": HubEntry(
        f"{_NGC}/nemo/tts_en_multispeaker_fastpitchhifigan/versions/1.10.0/files/"
        "tts_en_fastpitch_multispeaker.nemo",
        "tts_en_fastpitch_multispeaker.nemo", "fastpitch",
    ),
    "nvidia/tts_hifigan": HubEntry(
        "https://huggingface.co/nvidia/tts_hifigan/resolve/main/tts_hifigan.nemo",
        "tts_hifigan.nemo", "hifigan",
    ),
    "nvidia/tts_en_hifitts_hifigan_ft_fastpitch": HubEntry(
        f"{_NGC}/nemo/tts_en_multispeaker_fastpitchhifigan/versions/1.10.0/files/"
        "tts_en_hifitts_hifigan_ft_fastpitch.nemo",
        "tts_en_hifitts_hifigan_ft_fastpitch.nemo", "hifigan",
    ),
    "nvidia/fastpitch_pyt_fp32_ckpt_v1_1": HubEntry(
        f"{_NGC}/fastpitch_pyt_fp32_ckpt_v1_1/versions/21.05.0/zip",
        "fastpitch_pyt_fp32_ckpt_v1_1_21.05.0.zip", "fastpitch", "nvidia_fastpitch_210824.pt",
    ),
    "nvidia/dle/hifigan__pyt_ckpt_ds-ljs22khz": HubEntry(
        f"{_NGC}/dle/hifigan__pyt_ckpt_ds-ljs22khz/versions/21.08.0_amp/zip",
        "hifigan__pyt_ckpt_ds-ljs22khz_21.08.0_amp.zip", "hifigan",
        "hifigan_gen_checkpoint_6500.pt",
    ),
    "nvidia/dle/hifigan__pyt_ckpt_mode-finetune_ds-ljs22khz": HubEntry(
        f"{_NGC}/dle/hifigan__pyt_ckpt_mode-finetune_ds-ljs22khz/versions/21.08.0_amp/zip",
        "hifigan__pyt_ckpt_mode-finetune_ds-ljs22khz_21.08.0_amp.zip", "hifigan",
        "hifigan_gen_checkpoint_10000_ft.pt",
    ),
}
"""Checkpoint names accepted by :func:`~fastpitch_tpu.checkpoints.load_fastpitch` and
:func:`~fastpitch_tpu.checkpoints.load_hifigan` (by ``kind``). The DeepLearningExamples names are
the NGC model paths of ``scripts/download_models.sh``."""


def cache_dir() -> Path:
    """Where downloads go: ``$FASTPITCH_TPU_CACHE`` or the platform's user cache folder."""
    env = os.environ.get("FASTPITCH_TPU_CACHE")
    return Path(env) if env else Path(platformdirs.user_cache_dir("fastpitch_tpu")) / "checkpoints"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fetch(url: str, dest: Path) -> None:
    """Download ``url`` to ``dest`` (replaced atomically); tests replace this function."""
    with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (scheme checked)
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as out:
                total = 0
                for block in iter(lambda: response.read(1 << 20), b""):
                    total += len(block)
                    if total > MAX_ARCHIVE_MEMBER_BYTES:
                        raise CheckpointDownloadError(f"{url}: larger than the download limit")
                    out.write(block)
            os.replace(tmp, dest)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)


def download(url: str, filename: str | None = None, sha256: str | None = None) -> Path:
    """Download ``url`` (https or file) into :func:`cache_dir` once; return the cached path.

    With ``sha256`` the file must match it; without, the digest of the first download is stored
    in ``<file>.sha256`` and later uses must match it. A mismatch deletes the file and raises
    :class:`CheckpointDownloadError`, as does any network failure.
    """
    scheme = urllib.parse.urlparse(url).scheme
    if scheme not in ("https", "file"):
        raise CheckpointDownloadError(f"{url}: only https:// and file:// URLs are downloaded")
    name = filename or Path(urllib.parse.urlparse(url).path).name or "checkpoint"
    dest = cache_dir() / name
    pin = dest.with_name(dest.name + ".sha256")
    if not dest.exists():
        try:
            dest.parent.mkdir(parents=True, exist_ok=True)
            _fetch(url, dest)
        except CheckpointDownloadError:
            raise
        except (urllib.error.URLError, OSError, ValueError) as e:
            raise CheckpointDownloadError(
                f"could not download {url} ({e}). Without network access, download it on another "
                f"machine and pass the local file instead (load_fastpitch('/path/to/file') or "
                f"load_hifigan('/path/to/file')), or copy it to {dest}"
            ) from e
    digest = _sha256(dest)
    expected = sha256 or (pin.read_text().strip() if pin.exists() else None)
    if expected is not None and digest != expected.lower():
        dest.unlink()
        raise CheckpointDownloadError(
            f"{url}: sha256 mismatch (expected {expected}, got {digest}); the file was deleted"
        )
    if expected is None:
        pin.write_text(digest + "\n")
    return dest


def _extract_member(archive: Path, member: str) -> Path:
    """Extract one file from a downloaded zip next to it (the path is checked, never trusted)."""
    dest = archive.with_name(PurePosixPath(member).name)
    if dest.exists():
        return dest
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = [i for i in zf.infolist() if PurePosixPath(i.filename).name == dest.name
                     and not i.is_dir()]
            if not infos:
                raise CheckpointError(f"{archive}: the zip holds no {member}")
            info = infos[0]
            if info.file_size > MAX_ARCHIVE_MEMBER_BYTES:
                raise CheckpointError(f"{archive}: {member} is over the size limit")
            fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out, zf.open(info) as src:
                    for block in iter(lambda: src.read(1 << 20), b""):
                        out.write(block)
                os.replace(tmp, dest)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
    except (zipfile.BadZipFile, OSError, EOFError) as e:
        raise CheckpointError(f"{archive}: not a readable zip archive ({e})") from e
    return dest


def fetch_hub(name: str, kind: str, sha256: str | None = None) -> Path:
    """Local path of the hub checkpoint ``name`` (downloaded and checked on first use)."""
    entry = HUB[name]
    if entry.kind != kind:
        raise CheckpointError(f"{name} is a {entry.kind} checkpoint, not a {kind} one")
    path = download(entry.url, entry.filename, sha256 or entry.sha256)
    return _extract_member(path, entry.member) if entry.member else path
