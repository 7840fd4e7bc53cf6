"""A training corpus spoken by an offline teacher voice: hibari-tts 0.2.1's "heart" voice.

hibari-tts (Apache-2.0, on PyPI) ships an int8 ONNX English voice distilled from Kokoro-82M's
af_heart (Apache-2.0), with its own offline G2P. Its graph already outputs the f0 track (12.5 ms
frames); we add the per-token durations (25 ms units) as an extra output so every line's
timing is checked (``600 × Σ durations`` samples at 24 kHz). Each text line becomes
``wavs/NNNNNN.wav`` (resampled to 22,050 Hz, 16-bit) and a ``metadata.jsonl`` row with ``id``,
``text``, ``audio``, ``seconds``, the teacher's phonemes, and ``f0_hz`` with ``f0_hop_s``, which
:func:`fastpitch_tpu.train.build_dataset` reads directly.

The whole line goes through the teacher's G2P at once (its own sentence splitting breaks
abbreviations such as "No. 1"); lines over 400 phonemes are spoken in clause-sized pieces. Work is
spread over ``jobs`` spawned processes; a rerun skips lines already written.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import sys
import time
import wave
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from fastpitch_tpu.atomic_files import write_atomic
from fastpitch_tpu.train.dataset import resample

__all__ = ["TEACHER_RATE", "generate"]

TEACHER_RATE = 24000
FRAME_S = 0.025
F0_HOP_S = 0.0125
UNVOICED_HZ = 40.0
MAX_PHONEMES = 400
_DURATIONS = "/Cast_32_output_0"  # int64 [L]: 25 ms frames per token (hibari 0.2.1's graph)

_worker: dict[str, Any] = {}


def _patched_model(path: str) -> bytes:
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(path)
    names = {o for node in model.graph.node for o in node.output}
    if _DURATIONS not in names:
        raise RuntimeError(f"{path}: no {_DURATIONS}; this needs hibari-tts 0.2.1")
    model.graph.node.append(helper.make_node("Identity", [_DURATIONS], ["durations"],
                                             name="expose_durations"))
    model.graph.output.append(helper.make_tensor_value_info("durations", TensorProto.INT64,
                                                            ["L"]))
    onnx.checker.check_model(model)
    data: bytes = model.SerializeToString()
    return data


def _init(model: bytes, rate: int, seed: int) -> None:
    import onnxruntime as ort
    from hibari import Hibari

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.log_severity_level = 3
    tts = Hibari(threads=1)
    tts.sess = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    _worker.update(tts=tts, rate=rate, seed=seed)


def _phonemes(tts: Any, text: str) -> list[str]:
    from hibari.tts import _CLAUSE

    vocab = tts.vocab
    ps = "".join(c for c in tts.g2p(text) if c in vocab).strip()
    if not ps:
        return []
    if len(ps) <= MAX_PHONEMES:
        return [ps]
    chunks: list[str] = []
    current = ""
    for part in _CLAUSE.split(ps):
        if current and len(current) + len(part) + 1 > MAX_PHONEMES:
            chunks.append(current)
            current = part
        else:
            current = f"{current} {part}" if current else part
    return chunks + ([current] if current else [])


def _speak(job: tuple[int, str, str]) -> dict[str, Any]:
    index, text, wav_path = job
    uid = f"{index:06d}"
    try:
        from hibari import dsp

        tts = _worker["tts"]
        rng = np.random.default_rng(_worker["seed"] + index)
        chunks = _phonemes(tts, text)
        if not chunks:
            return {"id": uid, "error": "no phonemes"}
        audio, f0s = [], []
        for ps in chunks:
            ids = tts.ids(ps)
            out = tts.sess.run(None, {"ids": np.asarray([ids], np.int64),
                                      "speed": np.asarray([1.0], np.float32)})
            lh, theta, ln, lr, phi, f0 = (o[0] for o in out[:6])
            samples = dsp.synth(lh, theta, ln, lr, phi, f0, rng)
            if 600 * int(out[6].sum()) != len(samples) or 300 * len(f0) != len(samples):
                return {"id": uid, "error": "the teacher's durations do not match its audio"}
            audio.append(samples)
            f0s.append(f0)
        wav = resample(np.concatenate(audio).astype(np.float32), TEACHER_RATE, _worker["rate"])
        pcm = (np.clip(wav, -1.0, 1.0) * 32767.0).round().astype("<i2")
        tmp = wav_path + ".part"
        with wave.open(tmp, "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(_worker["rate"])
            w.writeframes(pcm.tobytes())
        os.replace(tmp, wav_path)
        f0_all = np.concatenate(f0s)
        f0_all = np.where(f0_all < UNVOICED_HZ, 0.0, f0_all)
        return {"id": uid, "text": text, "audio": f"wavs/{uid}.wav",
                "seconds": round(len(pcm) / _worker["rate"], 5),
                "teacher_phonemes": " ".join(chunks),
                "f0_hz": [round(float(x), 1) for x in f0_all], "f0_hop_s": F0_HOP_S}
    except Exception as e:  # reported in failures.jsonl; the other lines go on
        return {"id": uid, "error": f"{type(e).__name__}: {e}"}


def _read_done(meta: Path, wavs: Path) -> dict[str, dict[str, Any]]:
    done: dict[str, dict[str, Any]] = {}
    if meta.exists():
        for line in meta.read_text(encoding="utf-8").splitlines():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue  # a torn last line after a crash
            if (wavs / f"{row['id']}.wav").exists():
                done[row["id"]] = row
    return done


def generate(lines: Iterable[str], out: str | os.PathLike[str], *, jobs: int = 1,
             rate: int = 22050, seed: int = 1234, normalize: str | None = None,
             progress: bool = True) -> dict[str, float]:
    """Speak every non-empty line (numbered from 1) into ``out``; returns counts and speed.

    ``normalize`` names a :class:`~fastpitch_tpu.TextFrontend` flavor whose normalizer runs on
    each line first (the metadata keeps the normalized text, which is what was spoken).
    """
    try:
        from hibari.voices import voice_path
    except ImportError as e:
        raise ImportError("the teacher voice needs hibari-tts 0.2.1 and onnx: "
                          "pip install 'fastpitch-tpu[teacher]'") from e
    from tqdm import tqdm

    folder = Path(out)
    wavs = folder / "wavs"
    wavs.mkdir(parents=True, exist_ok=True)
    meta = folder / "metadata.jsonl"
    numbered = [(i, " ".join(line.split())) for i, line in enumerate(lines, start=1)]
    numbered = [(i, t) for i, t in numbered if t]
    if normalize:
        from fastpitch_tpu.frontend import TextFrontend

        fe = TextFrontend(normalize)
        numbered = [(i, fe.normalize(t)) for i, t in numbered]
    done = _read_done(meta, wavs)
    todo = [(i, t, str(wavs / f"{i:06d}.wav")) for i, t in numbered if f"{i:06d}" not in done]
    model = _patched_model(str(voice_path("heart")))
    failures: list[dict[str, Any]] = []
    seconds = 0.0
    start = time.perf_counter()
    pool = None
    if jobs > 1:
        pool = multiprocessing.get_context("spawn").Pool(jobs, _init, (model, rate, seed))
        results: Iterator[dict[str, Any]] = pool.imap_unordered(_speak, todo, chunksize=8)
    else:
        _init(model, rate, seed)
        results = map(_speak, todo)
    try:
        with open(meta, "a", encoding="utf-8") as f, \
                tqdm(total=len(todo), desc="teacher", unit="line", disable=not progress) as bar:
            for row in results:
                bar.update(1)
                if "error" in row:
                    failures.append(row)
                    continue
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
                done[row["id"]] = row
                seconds += row["seconds"]
    finally:
        if pool is not None:
            pool.close()
            pool.join()
    wall = time.perf_counter() - start
    write_atomic(meta, "".join(json.dumps(done[k], ensure_ascii=False) + "\n"
                               for k in sorted(done)))
    (folder / "failures.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in failures), encoding="utf-8")
    if failures:
        print(f"{len(failures)} lines failed (see {folder / 'failures.jsonl'})", file=sys.stderr)
    return {"lines": len(done), "spoken": len(todo) - len(failures), "failed": len(failures),
            "audio_seconds": seconds, "wall_seconds": wall,
            "realtime_factor": seconds / wall if wall else 0.0}
