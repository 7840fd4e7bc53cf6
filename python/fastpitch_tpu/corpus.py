"""Corpus synthesis: a text file (one utterance per line) → audio shards and a manifest.

``OUTDIR/shards/NNNNNN/`` holds one 16-bit WAV per line (``LLLLLLLLL.wav``, the 1-based line
number), ``OUTDIR/shards/NNNNNN.jsonl`` that shard's manifest rows (``id``, ``text``, ``path``,
``duration``, ``sha256`` of the WAV file; ``error`` instead for a line that cannot be spoken),
and ``OUTDIR/manifest.jsonl`` every row in line order once the job ends. Blank lines are skipped.

A shard is written into a temporary folder that is renamed into place when complete, and its
manifest is written (atomically) after that: a shard counts as done exactly when its manifest
exists. A rerun skips done shards and redoes the others from scratch, so a worker killed mid-shard
loses nothing and duplicates nothing. ``OUTDIR/corpus.json`` records the input's sha256 and the
shard size; a rerun with another input or shard size is refused.

Locally, one :class:`~fastpitch_tpu.engine.Synthesizer` spreads batches over every device
(``devices="all"``). With Ray (``ray_address``), Ray Data maps the shards over an actor pool, one
actor per accelerator (or per ``workers``), each with its own Synthesizer; Ray restarts a dead
actor and reruns its shard.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fastpitch_tpu.atomic_files import write_atomic
from fastpitch_tpu.engine import SynthesisOptions, Synthesizer

__all__ = ["CorpusSpec", "CorpusStats", "synthesize_corpus"]


@dataclass(frozen=True)
class CorpusSpec:
    """How every worker builds its synthesizer (sent to Ray workers as is)."""

    fastpitch: str = "default"
    hifigan: str | None = None
    frontend: str | None = None
    backend: str = "auto"
    dtype: str = "auto"
    devices: str | tuple[str, ...] | None = "all"
    """Per worker: ``"all"`` local devices, a tuple of devices, or None (the default one)."""
    cache_dir: str | None = None
    options: SynthesisOptions = field(default_factory=SynthesisOptions)

    def synthesizer(self) -> Synthesizer:
        return Synthesizer(self.fastpitch, self.hifigan, frontend=self.frontend,
                           backend=self.backend, dtype=self.dtype, cache_dir=self.cache_dir,
                           devices=self.devices, defaults=self.options)


@dataclass
class CorpusStats:
    lines: int = 0
    """Non-blank input lines."""
    done_before: int = 0
    """Lines in shards finished by an earlier run (skipped)."""
    spoken: int = 0
    """Lines with audio in the manifest."""
    failed: int = 0
    """Lines with an error in the manifest."""
    audio_seconds: float = 0.0
    wall_seconds: float = 0.0


@dataclass(frozen=True)
class _Shard:
    index: int
    ids: tuple[int, ...]
    texts: tuple[str, ...]


def _shard_dir(out: Path, index: int) -> Path:
    return out / "shards" / f"{index:06d}"


def _manifest_path(out: Path, index: int) -> Path:
    return out / "shards" / f"{index:06d}.jsonl"


def _read_rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def write_shard(synth: Synthesizer, out: Path, shard: _Shard) -> list[dict[str, Any]]:
    """Speak one shard into place (see the module doc); returns its manifest rows."""
    manifest = _manifest_path(out, shard.index)
    if manifest.exists():
        return _read_rows(manifest)
    tmp = out / "shards" / f".{shard.index:06d}.{uuid.uuid4().hex}.tmp"
    tmp.mkdir(parents=True)
    # Which process is writing (for diagnosis: a leftover folder names the process that died).
    (tmp / ".writer").write_text(f"{os.getpid()}\n")
    results = synth.synthesize_requests([(t, synth.defaults) for t in shard.texts])
    rows: list[dict[str, Any]] = []
    for line, text, result in zip(shard.ids, shard.texts, results):
        if isinstance(result, Exception):
            rows.append({"id": line, "text": text, "error": f"{type(result).__name__}: {result}"})
            continue
        name = f"{line:09d}.wav"
        data = result.to_wav_bytes()
        (tmp / name).write_bytes(data)
        rows.append({"id": line, "text": text, "path": f"shards/{shard.index:06d}/{name}",
                     "duration": round(result.duration, 6),
                     "sha256": hashlib.sha256(data).hexdigest()})
    (tmp / ".writer").unlink()
    final = _shard_dir(out, shard.index)
    if final.exists():  # left by a run that died between the rename and the manifest
        shutil.rmtree(final)
    os.replace(tmp, final)
    write_atomic(manifest, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return rows


def _shards(lines: Sequence[str], shard_lines: int) -> list[_Shard]:
    pairs = [(i, " ".join(t.split())) for i, t in enumerate(lines, start=1)]
    pairs = [(i, t) for i, t in pairs if t]
    return [_Shard(k // shard_lines, tuple(i for i, _ in pairs[k:k + shard_lines]),
                   tuple(t for _, t in pairs[k:k + shard_lines]))
            for k in range(0, len(pairs), shard_lines)]


def _check_folder(out: Path, digest: str, shard_lines: int) -> None:
    meta = out / "corpus.json"
    mine = {"input_sha256": digest, "shard_lines": shard_lines}
    if meta.exists():
        theirs = json.loads(meta.read_text(encoding="utf-8"))
        if {k: theirs.get(k) for k in mine} != mine:
            raise ValueError(f"{out} holds a corpus of another input or shard size "
                             f"({theirs}); use a new folder")
    else:
        out.mkdir(parents=True, exist_ok=True)
        write_atomic(meta, json.dumps(mine, indent=1) + "\n")
    (out / "shards").mkdir(exist_ok=True)
    _remove_unfinished(out)  # of a run that died


def _remove_unfinished(out: Path) -> None:
    for stale in (out / "shards").glob(".*.tmp"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            stale.unlink(missing_ok=True)


def synthesize_corpus(
    input_path: str | os.PathLike[str], out: str | os.PathLike[str], *,
    spec: CorpusSpec | None = None, shard_lines: int = 1000, ray_address: str | None = None,
    workers: int | None = None, progress: bool = True,
) -> CorpusStats:
    """Synthesize every line of ``input_path`` into ``out`` (see the module doc); resumable.

    ``ray_address``: None runs here; ``"local"`` starts a Ray cluster on this machine; any other
    value is passed to ``ray.init`` (``"auto"``, ``"ray://host:10001"`` ...). ``workers``: Ray
    actors (default: one per GPU in the cluster, else 2).
    """
    from tqdm import tqdm

    if shard_lines < 1:
        raise ValueError("shard_lines must be positive")
    spec = spec or CorpusSpec()
    src = Path(input_path)
    data = src.read_bytes()
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError as e:
        raise ValueError(f"{src}: not UTF-8 text ({e})") from None
    dst = Path(out)
    _check_folder(dst, hashlib.sha256(data).hexdigest(), shard_lines)
    shards = _shards(lines, shard_lines)
    todo = [s for s in shards if not _manifest_path(dst, s.index).exists()]
    stats = CorpusStats(lines=sum(len(s.ids) for s in shards))
    stats.done_before = stats.lines - sum(len(s.ids) for s in todo)
    started = time.monotonic()
    with tqdm(total=stats.lines, initial=stats.done_before, desc="corpus", unit="line",
              disable=not progress, smoothing=0.1) as bar:
        made = 0.0
        for n_lines, seconds in _run(todo, dst, spec, ray_address, workers):
            made += seconds
            bar.update(n_lines)
            rate = made / max(time.monotonic() - started, 1e-9)
            bar.set_postfix_str(f"{rate:.1f} audio-s/s")
    _remove_unfinished(dst)  # of workers that died (their shards were redone)
    rows = [r for s in shards for r in _read_rows(_manifest_path(dst, s.index))]
    write_atomic(dst / "manifest.jsonl",
                 "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    stats.spoken = sum(1 for r in rows if "path" in r)
    stats.failed = sum(1 for r in rows if "error" in r)
    stats.audio_seconds = sum(float(r.get("duration", 0.0)) for r in rows)
    stats.wall_seconds = time.monotonic() - started
    return stats


def _run(todo: list[_Shard], out: Path, spec: CorpusSpec, ray_address: str | None,
         workers: int | None) -> Iterator[tuple[int, float]]:
    """``(lines, audio seconds)`` per finished shard."""
    if not todo:
        return
    if ray_address is None:
        synth = spec.synthesizer()
        for shard in todo:
            rows = write_shard(synth, out, shard)
            yield len(rows), sum(float(r.get("duration", 0.0)) for r in rows)
        return
    yield from _run_ray(todo, out, spec, ray_address, workers)


class _ShardWriter:
    """A Ray Data actor: one Synthesizer on the actor's accelerator (or CPU)."""

    def __init__(self, out: str, spec: dict[str, Any]) -> None:
        options = SynthesisOptions(**spec.pop("options"))
        devices = spec.pop("devices")
        self.out = Path(out)
        self.synth = CorpusSpec(**spec, devices=tuple(devices) if isinstance(devices, list)
                                else devices, options=options).synthesizer()

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[Any]]:
        lines: list[int] = []
        seconds: list[float] = []
        for index, ids, texts in zip(batch["index"], batch["ids"], batch["texts"]):
            shard = _Shard(int(index), tuple(int(i) for i in ids), tuple(str(t) for t in texts))
            rows = write_shard(self.synth, self.out, shard)
            lines.append(len(rows))
            seconds.append(sum(float(r.get("duration", 0.0)) for r in rows))
        return {"lines": lines, "seconds": seconds}


def _run_ray(todo: list[_Shard], out: Path, spec: CorpusSpec, address: str,
             workers: int | None) -> Iterator[tuple[int, float]]:
    try:
        import ray
    except ImportError as e:
        raise ImportError("--ray needs Ray: pip install 'fastpitch-tpu[ray]'") from e
    if not ray.is_initialized():
        ray.init(address=None if address == "local" else address, ignore_reinit_error=True,
                 log_to_driver=False, logging_level=logging.WARNING)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # ours counts lines and audio seconds
    logging.getLogger("ray.data").setLevel(logging.WARNING)
    gpus = int(ray.cluster_resources().get("GPU", 0))  # type: ignore[no-untyped-call]
    count = workers or gpus or 2
    # Each actor drives the device Ray gives it (CUDA_VISIBLE_DEVICES): one device per actor.
    remote_spec = asdict(spec)
    remote_spec["devices"] = None
    items = [{"index": s.index, "ids": list(s.ids), "texts": list(s.texts)} for s in todo]
    ds = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        _ShardWriter, fn_constructor_args=(str(out.resolve()), remote_spec), batch_size=1,
        concurrency=count, num_gpus=1 if gpus else 0, num_cpus=1, batch_format="numpy")
    for row in ds.iter_rows():
        yield int(row["lines"]), float(row["seconds"])
