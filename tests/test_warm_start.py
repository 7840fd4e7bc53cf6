"""Starting from a warm cache: the jax backend keeps the converted weights beside the models'
facts, so a process that finds them (and the saved graphs) synthesizes without loading the
checkpoints or importing PyTorch, with the same audio; models are loaded only when a new shape
must be traced; damaged or stale entries are rebuilt."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

if not (importlib.util.find_spec("jax") and importlib.util.find_spec("torchax")):
    pytest.skip("needs jax and torchax", allow_module_level=True)

from fastpitch_tpu.engine import Buckets, Synthesizer  # noqa: E402
from fastpitch_tpu.model_source import ModelSource, VoiceInfo  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
FASTPITCH = FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt"
HIFIGAN = FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"
TEXT = "Printing, in the only sense with which we are at present concerned."

# One process: build a synthesizer on the cache folder, speak, report what it imported.
SCRIPT = """
import json, sys
import numpy as np
from fastpitch_tpu.engine import Buckets, Synthesizer
cache, fastpitch, hifigan, out = sys.argv[1:5]
s = Synthesizer(fastpitch, hifigan, backend="jax", dtype="float32", cache_dir=cache,
                buckets=Buckets(tokens=(64,), batch=(1,), frames=(512,)))
audio = s.synthesize(%r)
np.save(out, audio.samples)
print(json.dumps({"torch": "torch" in sys.modules, "torchax": "torchax" in sys.modules,
                  "loaded": s._source.loaded, "sample_rate": audio.sample_rate}))
""" % TEXT


def _process(cache: Path, out: Path, fastpitch: Path = FASTPITCH) -> dict[str, object]:
    env = dict(os.environ, JAX_PLATFORMS="cpu")  # the package as this process imports it
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(cache), str(fastpitch),
                           str(HIFIGAN), str(out)], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    report: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    return report


def test_a_warm_process_runs_without_pytorch(tmp_path: Path) -> None:
    cold = _process(tmp_path / "cache", tmp_path / "cold.npy")
    assert cold["torch"] and cold["loaded"]
    warm = _process(tmp_path / "cache", tmp_path / "warm.npy")
    assert warm == {"torch": False, "torchax": False, "loaded": False,
                    "sample_rate": cold["sample_rate"]}
    assert np.array_equal(np.load(tmp_path / "warm.npy"), np.load(tmp_path / "cold.npy"))


def _synth(cache: Path, buckets: Buckets, fastpitch: Path = FASTPITCH) -> Synthesizer:
    return Synthesizer(str(fastpitch), str(HIFIGAN), backend="jax", dtype="float32",
                       buckets=buckets, cache_dir=str(cache))


SMALL = Buckets(tokens=(64,), batch=(1,), frames=(512,))


def test_a_new_shape_loads_the_models_to_trace_it(tmp_path: Path) -> None:
    reference = _synth(tmp_path, SMALL).synthesize(TEXT)
    warm = _synth(tmp_path, Buckets(tokens=(64,), batch=(1, 2), frames=(512,)))
    assert not warm._source.loaded
    assert warm.synthesize(TEXT).samples.tobytes() == reference.samples.tobytes()
    assert not warm._source.loaded  # batch 1 came from the saved graphs
    both = warm.synthesize([TEXT, TEXT])  # batch bucket 2: traced now
    assert warm._source.loaded
    for audio in both:
        np.testing.assert_allclose(audio.samples, reference.samples, atol=1e-4)
    assert warm.fastpitch.config.n_symbols == warm.info.n_symbols


def _ready_files(cache: Path) -> list[Path]:
    return sorted((cache / "voices").glob("*/jax-*.safetensors"))


def test_damaged_converted_weights_are_converted_again(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    reference = _synth(tmp_path, SMALL).synthesize(TEXT)
    [weights] = _ready_files(tmp_path)
    weights.write_bytes(b"not a safetensors file")
    s = _synth(tmp_path, SMALL)
    assert "ignoring the converted weights" in caplog.text
    assert s._source.loaded
    assert s.synthesize(TEXT).samples.tobytes() == reference.samples.tobytes()
    assert weights.read_bytes() != b"not a safetensors file"  # replaced by a good one
    assert not _synth(tmp_path, SMALL)._source.loaded


def test_a_changed_checkpoint_is_not_mistaken_for_the_cached_one(tmp_path: Path) -> None:
    copy = tmp_path / "fastpitch.pt"
    copy.write_bytes(FASTPITCH.read_bytes())
    _synth(tmp_path / "cache", SMALL, copy).synthesize(TEXT)
    stat = copy.stat()
    os.utime(copy, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # rewritten in place
    s = _synth(tmp_path / "cache", SMALL, copy)
    assert s._source.loaded  # a new folder: loaded and converted again
    assert len(list((tmp_path / "cache" / "voices").iterdir())) == 2


def test_models_passed_as_objects_or_by_hub_name_have_no_cache_folder(tmp_path: Path) -> None:
    from fastpitch_tpu.checkpoints import load_fastpitch

    model = load_fastpitch(FASTPITCH)
    assert ModelSource(model, str(HIFIGAN), pad_to=64, cache_dir=str(tmp_path)).folder is None
    assert ModelSource("nvidia/tts_en_fastpitch", str(HIFIGAN), pad_to=64,
                       cache_dir=str(tmp_path)).folder is None
    source = ModelSource(str(FASTPITCH), str(HIFIGAN), pad_to=64, cache_dir=str(tmp_path))
    assert source.folder is not None and not source.loaded
    info = source.info()
    assert source.loaded and (source.folder / "voice.json").is_file()
    again = ModelSource(str(FASTPITCH), str(HIFIGAN), pad_to=64, cache_dir=str(tmp_path))
    assert again.folder == source.folder
    assert again.info() == info and not again.loaded
    assert info == VoiceInfo.of(model, again.hifigan)
