"""Training data: (audio, text) pairs → compact shards of symbol ids, log-mels, pitch and energy.

Sources (a folder):

- ``metadata.jsonl``: one JSON object per line with ``id``, ``text``, ``audio`` (a path relative
  to the folder) and optionally a pitch track ``f0_hz`` (list, 0 = unvoiced) with its hop
  ``f0_hop_s`` (seconds) — e.g. a teacher voice's own f0;
- or LJSpeech's layout: ``metadata.csv`` (``id|text|normalized text``) and ``wavs/<id>.wav``.

Each utterance is resampled to the vocoder's rate (22,050 Hz), analysed with
:func:`fastpitch_tpu.audio.mel_spectrogram` (the HiFi-GAN V1 settings), its text encoded by our
Rust frontend; pitch per mel frame comes from the given track (linearly interpolated, unvoiced
kept unvoiced) or from librosa's pYIN; energy per frame is the L2 norm of the mel magnitudes.
The shards (``shard-NNNN.npz``) keep mels in float16; ``dataset.json`` records the settings and
the pitch statistics over voiced frames (stored later in the trained voice's config).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["DatasetInfo", "Utterance", "build_dataset", "load_dataset", "read_sources",
           "resample"]

SAMPLE_RATE = 22050
HOP = 256
SHARD_SIZE = 500


@dataclass
class Utterance:
    id: str
    text: str
    ids: NDArray[np.int16]
    mel: NDArray[np.float16]
    """``[80, T]`` natural-log mel."""
    pitch_hz: NDArray[np.float32]
    """``[T]`` Hz, 0 where unvoiced."""
    energy: NDArray[np.float32]
    """``[T]``."""


@dataclass
class DatasetInfo:
    frontend: str
    n_symbols: int
    padding_idx: int
    sample_rate: int
    hop_length: int
    pitch_mean: float
    pitch_std: float
    utterances: int
    seconds: float
    shards: list[str]
    skipped: int = 0


def read_sources(folder: Path) -> list[dict[str, Any]]:
    """The (id, text, audio path[, f0]) records of a source folder (see the module doc)."""
    jsonl = folder / "metadata.jsonl"
    if jsonl.is_file():
        out = []
        for n, line in enumerate(jsonl.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                rec["audio"] = str(folder / rec["audio"])
                rec["id"], rec["text"] = str(rec["id"]), str(rec["text"])
            except (json.JSONDecodeError, KeyError, TypeError) as e:
                raise ValueError(f"{jsonl}:{n}: expected id, text and audio ({e})") from None
            out.append(rec)
        return out
    csv = folder / "metadata.csv"
    if csv.is_file():
        out = []
        for line in csv.read_text(encoding="utf-8").splitlines():
            parts = line.split("|")
            if len(parts) >= 2:
                text = parts[2] if len(parts) > 2 and parts[2] else parts[1]
                out.append({"id": parts[0], "text": text,
                            "audio": str(folder / "wavs" / f"{parts[0]}.wav")})
        return out
    raise FileNotFoundError(f"{folder}: no metadata.jsonl or metadata.csv")


def resample(audio: NDArray[np.float32], rate: int, to: int = SAMPLE_RATE) -> NDArray[np.float32]:
    """``audio`` at ``rate`` Hz resampled to ``to`` Hz (polyphase filter)."""
    if rate == to:
        return audio
    from scipy.signal import resample_poly

    g = math.gcd(rate, to)
    out: NDArray[np.float32] = resample_poly(audio, to // g, rate // g).astype(np.float32)
    return out


def trim_silence(audio: NDArray[np.float32], top_db: float, margin_s: float = 0.05
                 ) -> tuple[int, int]:
    """``(start, end)`` sample bounds of ``audio`` without its leading and trailing silence:
    frames (1024 samples, hop 256) quieter than ``top_db`` below the loudest frame, keeping
    at least ``margin_s`` of the silence on each side. The whole clip if nothing is that loud."""
    if len(audio) < 1024:
        return 0, len(audio)
    frames = np.lib.stride_tricks.sliding_window_view(audio, 1024)[::HOP]
    rms = np.sqrt(np.mean(frames.astype(np.float64) ** 2, axis=1))
    if rms.max() <= 0:
        return 0, len(audio)
    loud = np.flatnonzero(rms > rms.max() * 10 ** (-top_db / 20))
    if len(loud) == 0:
        return 0, len(audio)
    margin = int(margin_s * SAMPLE_RATE)
    start = max(0, int(loud[0]) * HOP - margin)
    end = min(len(audio), int(loud[-1]) * HOP + 1024 + margin)
    return start, end


def _pitch_from_track(f0: NDArray[np.float64], hop_s: float, n_frames: int,
                      offset_s: float = 0.0) -> NDArray[np.float32]:
    """Interpolate a pitch track to mel frame centres (the audio starting ``offset_s`` into the
    track); a frame is voiced if its nearest track points on both sides are."""
    centres = offset_s + (np.arange(n_frames) * HOP + HOP / 2) / SAMPLE_RATE
    pos = centres / hop_s
    lo = np.clip(np.floor(pos).astype(int), 0, len(f0) - 1)
    hi = np.clip(lo + 1, 0, len(f0) - 1)
    w = np.clip(pos - lo, 0, 1)
    voiced = (f0[lo] > 0) & (f0[hi] > 0)
    values = (1 - w) * f0[lo] + w * f0[hi]
    return np.where(voiced, values, 0.0).astype(np.float32)


def _pitch_pyin(audio: NDArray[np.float32], n_frames: int) -> NDArray[np.float32]:
    try:
        import librosa
    except ImportError as e:
        raise ImportError("pitch from audio needs librosa: pip install 'fastpitch-tpu[train]' "
                          "(or give f0_hz tracks in metadata.jsonl)") from e
    f0, voiced, _ = librosa.pyin(audio, fmin=65.0, fmax=1000.0, sr=SAMPLE_RATE,
                                 frame_length=1024, hop_length=HOP, center=True)
    f0 = np.where(voiced, np.nan_to_num(f0), 0.0)
    out = np.zeros(n_frames, np.float32)
    out[: min(n_frames, len(f0))] = f0[:n_frames]
    return out


def _process(rec: dict[str, Any], frontend_name: str, trim_db: float | None = None
             ) -> Utterance | None:
    import soundfile
    import torch

    from fastpitch_tpu.audio import mel_spectrogram
    from fastpitch_tpu.frontend import TextFrontend

    try:
        audio, rate = soundfile.read(rec["audio"], dtype="float32", always_2d=True)
    except (OSError, RuntimeError) as e:  # soundfile's LibsndfileError is a RuntimeError
        raise ValueError(f"{rec['audio']}: not readable audio ({e})") from None
    audio = resample(audio.mean(axis=1), int(rate))
    start = 0
    if trim_db:
        start, end = trim_silence(audio, trim_db)
        audio = audio[start:end]
    audio = audio[: len(audio) // HOP * HOP]
    ids = TextFrontend(frontend_name).encode(rec["text"])
    n_frames = len(audio) // HOP
    if len(ids) == 0 or n_frames < len(ids):
        return None  # nothing to say, or too short to give each symbol a frame
    with torch.no_grad():
        mel = mel_spectrogram(torch.from_numpy(audio)[None])[0].numpy()
    if "f0_hz" in rec:
        pitch = _pitch_from_track(np.asarray(rec["f0_hz"], np.float64),
                                  float(rec.get("f0_hop_s", 0.0125)), n_frames,
                                  start / SAMPLE_RATE)
    else:
        pitch = _pitch_pyin(audio, n_frames)
    energy = np.linalg.norm(np.exp(mel), axis=0).astype(np.float32)
    return Utterance(rec["id"], rec["text"], ids.astype(np.int16), mel.astype(np.float16),
                     pitch, energy)


def _worker_init() -> None:
    """One thread per worker process: PyTorch's own thread pool in every process would
    oversubscribe the cores many times over."""
    import torch

    torch.set_num_threads(1)


def _save_shard(path: Path, items: list[Utterance]) -> None:
    frames = np.array([u.mel.shape[1] for u in items], np.int64)
    tokens = np.array([len(u.ids) for u in items], np.int64)
    np.savez(
        path,
        ids=np.concatenate([u.ids for u in items]), tokens=tokens,
        mel=np.concatenate([u.mel for u in items], axis=1), frames=frames,
        pitch=np.concatenate([u.pitch_hz for u in items]).astype(np.float16),
        energy=np.concatenate([u.energy for u in items]).astype(np.float16),
        id=np.array([u.id for u in items]), text=np.array([u.text for u in items]),
    )


def build_dataset(source: str | os.PathLike[str], out: str | os.PathLike[str], *,
                  frontend: str = "nemo_arpabet", jobs: int = 1, trim_db: float | None = 40.0,
                  progress: bool = True) -> DatasetInfo:
    """Process every record of ``source`` into shards in ``out`` (see the module doc).
    ``trim_db``: cut leading and trailing silence quieter than this many dB below the loudest
    frame (keeping 50 ms); None or 0 keeps the audio whole."""
    import contextlib
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tqdm import tqdm

    from fastpitch_tpu.frontend import TextFrontend

    src, dst = Path(source), Path(out)
    dst.mkdir(parents=True, exist_ok=True)
    records = read_sources(src)
    if not records:
        raise ValueError(f"{src}: no utterances")
    fe = TextFrontend(frontend)
    shards: list[str] = []
    batch: list[Utterance] = []
    skipped = 0
    seconds = 0.0
    voiced_sum = voiced_sq = voiced_n = 0.0
    count = 0

    def flush() -> None:
        if batch:
            name = f"shard-{len(shards):04d}.npz"
            _save_shard(dst / name, batch)
            shards.append(name)
            batch.clear()

    # Worker processes are spawned, not forked: a fork of a process running PyTorch's thread
    # pools can hang. One job runs in this process.
    pool = ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_worker_init) if jobs > 1 else None
    args = (records, [frontend] * len(records), [trim_db] * len(records))
    results = pool.map(_process, *args, chunksize=8) if pool else map(_process, *args)
    with contextlib.ExitStack() as stack, \
            tqdm(total=len(records), desc="dataset", unit="utt", disable=not progress) as bar:
        if pool is not None:
            stack.enter_context(pool)
        for utt in results:
            bar.update(1)
            if utt is None:
                skipped += 1
                continue
            voiced = utt.pitch_hz[utt.pitch_hz > 0].astype(np.float64)
            voiced_sum += voiced.sum()
            voiced_sq += (voiced**2).sum()
            voiced_n += len(voiced)
            seconds += utt.mel.shape[1] * HOP / SAMPLE_RATE
            count += 1
            batch.append(utt)
            if len(batch) == SHARD_SIZE:
                flush()
    flush()
    if count == 0:
        raise ValueError(f"{src}: no usable utterance ({skipped} skipped)")
    mean = voiced_sum / max(voiced_n, 1)
    std = math.sqrt(max(voiced_sq / max(voiced_n, 1) - mean**2, 1e-6))
    info = DatasetInfo(frontend, len(fe.vocab), int(fe.pad_id), SAMPLE_RATE, HOP, mean, std,
                       count, seconds, shards, skipped)
    (dst / "dataset.json").write_text(json.dumps(asdict(info), indent=1))
    return info


def load_dataset(folder: str | os.PathLike[str]) -> tuple[DatasetInfo, list[Utterance]]:
    """Every utterance of a built dataset, in memory."""
    path = Path(folder)
    info = DatasetInfo(**json.loads((path / "dataset.json").read_text()))
    items: list[Utterance] = []
    for name in info.shards:
        with np.load(path / name) as z:
            items.extend(_unpack(z))
    return info, items


def _unpack(z: Any) -> Iterator[Utterance]:
    # Each z[key] reads the whole array from the file: read every array once.
    arrays = {key: z[key] for key in ("ids", "tokens", "mel", "frames", "pitch", "energy", "id",
                                      "text")}
    t_off = f_off = 0
    for i, (n_tok, n_fr) in enumerate(zip(arrays["tokens"], arrays["frames"])):
        n_tok, n_fr = int(n_tok), int(n_fr)
        yield Utterance(str(arrays["id"][i]), str(arrays["text"][i]),
                        arrays["ids"][t_off:t_off + n_tok],
                        arrays["mel"][:, f_off:f_off + n_fr],
                        arrays["pitch"][f_off:f_off + n_fr].astype(np.float32),
                        arrays["energy"][f_off:f_off + n_fr].astype(np.float32))
        t_off += n_tok
        f_off += n_fr
