"""Damaged checkpoints of every format the loaders read: random bytes, and real checkpoint files
with bits flipped, cut short, chunks spliced in and ranges zeroed.

The property: :func:`load_fastpitch` / :func:`load_hifigan` either give a model (a mutation may
land in the weights and still load) or raise :class:`CheckpointError` with a one-line message that
names the file and a reason. No other exception escapes. Runs are derandomized, so CI sees the
same examples every time.
"""

from __future__ import annotations

import functools
import io
import json
import tarfile
import tempfile
import warnings
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")
hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from archives import tar_members  # noqa: E402
from fastpitch_tpu.checkpoints import (  # noqa: E402
    export_fastpitch,
    export_hifigan,
    load_fastpitch,
    load_hifigan,
    read_nemo_archive,
)
from fastpitch_tpu.errors import CheckpointError  # noqa: E402
from fastpitch_tpu.models import FastPitch, HiFiGAN  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
DLE_FASTPITCH = FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt"
NEMO_FASTPITCH = next((FIXTURES / "fastpitch" / "nemo_single").glob("*.nemo"))
DLE_HIFIGAN = FIXTURES / "hifigan" / "dle_hifigan_gen_checkpoint_v1small.pt"
NEMO_HIFIGAN = FIXTURES / "hifigan" / "nemo_hifigan_v1small.nemo"
JIK876 = FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"

FUZZ = settings(derandomize=True, database=None, deadline=None, max_examples=40,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


# --------------------------------------------------------------------------------------------
# The real files, and the parts of them a mutation is applied to


@dataclass(frozen=True)
class Part:
    """What a mutation changes: a file of the case, or a piece inside it (``get`` takes it out of
    the file's bytes, ``put`` writes a changed piece back)."""

    label: str
    file: str
    get: Callable[[bytes], bytes] = lambda data: data
    put: Callable[[bytes, bytes], bytes] = lambda data, piece: piece


@dataclass(frozen=True)
class Case:
    """Files of one checkpoint format (the first is passed to ``load``) and what it gives."""

    files: dict[str, bytes]
    load: Callable[[Path], Any]
    model: type
    parts: tuple[Part, ...]

    @property
    def main(self) -> str:
        return next(iter(self.files))


def zip_member(data: bytes, suffix: str) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return next(n for n in z.namelist() if n.endswith(suffix))


def zip_get(suffix: str) -> Callable[[bytes], bytes]:
    def get(data: bytes) -> bytes:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            return z.read(zip_member(data, suffix))
    return get


def zip_put(suffix: str) -> Callable[[bytes, bytes], bytes]:
    """The zip (a PyTorch checkpoint) with one member replaced, others kept in order."""
    def put(data: bytes, piece: bytes) -> bytes:
        target = zip_member(data, suffix)
        out = io.BytesIO()
        with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
            for info in src.infolist():
                dst.writestr(info, piece if info.filename == target else src.read(info))
        return out.getvalue()
    return put


def tar_bytes(files: dict[str, bytes], mode: str = "w:gz") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode=mode) as tar:
        for name, blob in files.items():
            info = tarfile.TarInfo(f"./{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return out.getvalue()


def tar_get(member: str, inner: str | None = None) -> Callable[[bytes], bytes]:
    """A member of a .nemo archive; with ``inner``, the member of the zip inside it."""
    def get(data: bytes) -> bytes:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            f = tar.extractfile(f"./{member}")
            assert f is not None
            blob = f.read()
        return blob if inner is None else zip_get(inner)(blob)
    return get


def tar_put(member: str, inner: str | None = None) -> Callable[[bytes, bytes], bytes]:
    def put(data: bytes, piece: bytes) -> bytes:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "archive.nemo"
            path.write_bytes(data)
            files = tar_members(path)
        files[member] = piece if inner is None else zip_put(inner)(files[member], piece)
        return tar_bytes(files)
    return put


def safetensors_header(data: bytes) -> bytes:
    return data[: 8 + int.from_bytes(data[:8], "little")]


def torch_bytes(obj: object) -> bytes:
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def nemo_parts(name: str) -> tuple[Part, ...]:
    return (
        Part("whole file", name),
        Part("model_config.yaml", name, tar_get("model_config.yaml"),
             tar_put("model_config.yaml")),
        Part("weights pickle", name, tar_get("model_weights.ckpt", "data.pkl"),
             tar_put("model_weights.ckpt", "data.pkl")),
        Part("weights zip", name, tar_get("model_weights.ckpt"), tar_put("model_weights.ckpt")),
    )


def torch_parts(name: str) -> tuple[Part, ...]:
    return (Part("whole file", name),
            Part("pickle", name, zip_get("data.pkl"), zip_put("data.pkl")))


def safetensors_parts(name: str) -> tuple[Part, ...]:
    return (Part("whole file", name),
            Part("header", name, safetensors_header,
                 lambda data, piece: piece + data[len(safetensors_header(data)):]))


@functools.cache
def cases() -> dict[str, Case]:
    """Every format: the fixtures as they are, the others written from them (small files)."""
    nemo = tar_members(NEMO_FASTPITCH)  # re-packed with ./ names like NeMo's own archives
    nemo_fp = tar_bytes(nemo)
    nemo_hg = tar_bytes(tar_members(NEMO_HIFIGAN))
    config, weights = read_nemo_archive(NEMO_FASTPITCH)
    lightning = torch_bytes({"state_dict": weights, "hyper_parameters": config, "epoch": 1})
    with tempfile.TemporaryDirectory() as tmp:
        export_fastpitch(load_fastpitch(DLE_FASTPITCH), Path(tmp) / "f.safetensors")
        export_hifigan(load_hifigan(DLE_HIFIGAN), Path(tmp) / "h.safetensors")
        fp_safetensors = (Path(tmp) / "f.safetensors").read_bytes()
        hg_safetensors = (Path(tmp) / "h.safetensors").read_bytes()
    jik876 = {"generator_v1small": JIK876.read_bytes(),
              "config.json": (JIK876.parent / "config.json").read_bytes()}
    return {
        "dle_fastpitch.pt": Case({"FastPitch_checkpoint_1000.pt": DLE_FASTPITCH.read_bytes()},
                                 load_fastpitch, FastPitch,
                                 torch_parts("FastPitch_checkpoint_1000.pt")),
        "nemo_fastpitch.nemo": Case({"fastpitch.nemo": nemo_fp}, load_fastpitch, FastPitch,
                                    nemo_parts("fastpitch.nemo")),
        "nemo_fastpitch.ckpt": Case({"fastpitch.ckpt": lightning}, load_fastpitch, FastPitch,
                                    torch_parts("fastpitch.ckpt")),
        "fastpitch.safetensors": Case({"fastpitch.safetensors": fp_safetensors}, load_fastpitch,
                                      FastPitch, safetensors_parts("fastpitch.safetensors")),
        "dle_hifigan.pt": Case({"hifigan_gen.pt": DLE_HIFIGAN.read_bytes()}, load_hifigan,
                               HiFiGAN, torch_parts("hifigan_gen.pt")),
        "nemo_hifigan.nemo": Case({"hifigan.nemo": nemo_hg}, load_hifigan, HiFiGAN,
                                  nemo_parts("hifigan.nemo")),
        "jik876_generator": Case(jik876, load_hifigan, HiFiGAN,
                                 (*torch_parts("generator_v1small"),
                                  Part("config.json", "config.json"))),
        "hifigan.safetensors": Case({"hifigan.safetensors": hg_safetensors}, load_hifigan,
                                    HiFiGAN, safetensors_parts("hifigan.safetensors")),
    }


CASE_NAMES = ["dle_fastpitch.pt", "nemo_fastpitch.nemo", "nemo_fastpitch.ckpt",
              "fastpitch.safetensors", "dle_hifigan.pt", "nemo_hifigan.nemo", "jik876_generator",
              "hifigan.safetensors"]


# --------------------------------------------------------------------------------------------
# Mutations

POSITION = st.integers(min_value=0, max_value=2**32)


@st.composite
def mutation(draw: st.DrawFn) -> Callable[[bytes], bytes]:
    """One of: flip 1-8 bits, truncate, copy a chunk over another place, zero a range."""
    kind = draw(st.sampled_from(["flip", "truncate", "splice", "zero"]))
    if kind == "flip":
        bits = draw(st.lists(POSITION, min_size=1, max_size=8))

        def flip(data: bytes) -> bytes:
            out = bytearray(data)
            for bit in bits:
                if out:
                    bit %= len(out) * 8
                    out[bit // 8] ^= 1 << (bit % 8)
            return bytes(out)
        return flip
    start, other = draw(POSITION), draw(POSITION)
    length = draw(st.integers(min_value=1, max_value=4096))
    if kind == "truncate":
        return lambda data: data[: start % max(len(data), 1)]
    if kind == "splice":
        def splice(data: bytes) -> bytes:
            if not data:
                return data
            a, b = start % len(data), other % len(data)
            return data[:a] + data[b:b + length] + data[a + length:]
        return splice

    def zero(data: bytes) -> bytes:
        a = start % max(len(data), 1)
        return data[:a] + bytes(len(data[a:a + length])) + data[a + length:]
    return zero


# --------------------------------------------------------------------------------------------
# The property


def assert_loads_or_fails_cleanly(case: Case, files: dict[str, bytes]) -> str:
    """Load; returns "loaded" or "CheckpointError" (shown by --hypothesis-show-statistics)."""
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in files.items():
            (Path(tmp) / name).write_bytes(data)
        path = Path(tmp) / case.main
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # PyTorch's deprecation notes on odd pickles
                model = case.load(path)
        except CheckpointError as e:
            message = str(e)
            assert len(message.splitlines()) == 1 and "\n" not in message, message
            assert message.startswith(str(path)), message
            reason = message[len(str(path)):].lstrip(":").strip()
            assert len(reason) > 3, message
            return "CheckpointError"
        assert isinstance(model, case.model)
        assert not model.training
        return "loaded"


@pytest.mark.parametrize("name", CASE_NAMES)
@FUZZ
@given(data=st.data())
def test_mutated_checkpoints_load_or_fail_with_one_line_checkpoint_error(
    name: str, data: st.DataObject
) -> None:
    case = cases()[name]
    chosen = data.draw(st.sampled_from(case.parts), label="part")
    files = dict(case.files)
    piece = chosen.get(files[chosen.file])
    for mutate in data.draw(st.lists(mutation(), min_size=1, max_size=3), label="mutations"):
        piece = mutate(piece)
    files[chosen.file] = chosen.put(files[chosen.file], piece)
    event(f"{chosen.label}: {assert_loads_or_fails_cleanly(case, files)}")


@pytest.mark.parametrize("name", CASE_NAMES)
@settings(FUZZ, max_examples=12)
@given(data=st.one_of(st.binary(max_size=2048),
                      st.binary(max_size=512).map(lambda b: b"PK\x03\x04" + b),  # zip
                      st.binary(max_size=512).map(lambda b: b"\x1f\x8b" + b),  # gzip
                      st.binary(max_size=512).map(lambda b: b"\x80\x02" + b)))  # pickle
def test_random_bytes_fail_with_one_line_checkpoint_error(name: str, data: bytes) -> None:
    case = cases()[name]
    event(assert_loads_or_fails_cleanly(case, {**case.files, case.main: data}))


@pytest.mark.parametrize("name", CASE_NAMES)
def test_unmodified_files_load(name: str) -> None:
    case = cases()[name]
    assert_loads_or_fails_cleanly(case, case.files)
    with tempfile.TemporaryDirectory() as tmp:
        for file, data in case.files.items():
            (Path(tmp) / file).write_bytes(data)
        assert isinstance(case.load(Path(tmp) / case.main), case.model)


@pytest.mark.parametrize("name", CASE_NAMES)
def test_empty_file(name: str) -> None:
    case = cases()[name]
    with pytest.raises(CheckpointError):
        with tempfile.TemporaryDirectory() as tmp:
            for file, data in {**case.files, case.main: b""}.items():
                (Path(tmp) / file).write_bytes(data)
            case.load(Path(tmp) / case.main)


# --------------------------------------------------------------------------------------------
# What the fuzzer found, pinned


def test_damaged_legacy_pickle_is_a_checkpoint_error(tmp_path: Path) -> None:
    # A file that is neither a zip nor a tar is read as a pre-1.6 PyTorch pickle; these three
    # bytes (protocol 2, then STOP on an empty stack) made its unpickler raise
    # IndexError('pop from empty list') out of load_fastpitch.
    path = tmp_path / "damaged.pt"
    path.write_bytes(b"\x80\x02.")
    with pytest.raises(CheckpointError, match=r"damaged\.pt: not a readable PyTorch checkpoint "
                       r"\(IndexError: pop from empty list\)$"):
        load_fastpitch(path)


def test_damaged_checkpoint_on_the_command_line_is_one_error_line(tmp_path: Path) -> None:
    from fastpitch_tpu.cli import main

    path = tmp_path / "damaged.pt"
    path.write_bytes(b"\x80\x02.")
    with pytest.raises(SystemExit) as info:
        main(["Hi.", "-o", str(tmp_path / "x.wav"), "--fastpitch", str(path), "--hifigan",
              str(JIK876), "--backend", "torch", "--dtype", "float32", "--cache-dir", ""])
    message = str(info.value.code)
    assert message.startswith("error: ") and "not a readable PyTorch checkpoint" in message
    assert "\n" not in message


def test_unreadable_archive_message_is_one_line(tmp_path: Path) -> None:
    # tarfile explains a file it cannot open over several lines (one per compression tried).
    path = tmp_path / "broken.nemo"
    path.write_bytes(b"no archive here " * 64)
    with pytest.raises(CheckpointError) as info:
        load_hifigan(path)
    assert "\n" not in str(info.value) and "not a readable .nemo (tar) archive" in str(info.value)


def test_yaml_value_errors_are_checkpoint_errors(tmp_path: Path) -> None:
    # yaml.safe_load raises ValueError (not a YAMLError) for an impossible date.
    files = tar_members(NEMO_HIFIGAN)
    files["model_config.yaml"] = b"generator: {}\ncreated: 2021-13-45\n"
    path = tmp_path / "date.nemo"
    path.write_bytes(tar_bytes(files))
    with pytest.raises(CheckpointError, match=r"model_config\.yaml: not valid YAML \(ValueError"):
        load_hifigan(path)


def test_state_dict_with_non_string_keys(tmp_path: Path) -> None:
    ckpt = torch.load(DLE_HIFIGAN, map_location="cpu", weights_only=True)
    ckpt["generator"][7] = torch.zeros(1)
    path = tmp_path / "int_key.pt"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="keys must be strings; found 7"):
        load_hifigan(path)


def test_config_asking_for_a_huge_model_fails_before_allocating(tmp_path: Path) -> None:
    # 10**6 channels: 32 TB of weights, checked against the file on the meta device first.
    ckpt = torch.load(DLE_HIFIGAN, map_location="cpu", weights_only=True)
    ckpt["config"] = {**ckpt["config"], "upsample_initial_channel": 10**6}
    path = tmp_path / "huge.pt"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match=r"shape mismatches: .*conv_pre\.weight"):
        load_hifigan(path)


def test_expanded_tensor_is_refused(tmp_path: Path) -> None:
    # Four bytes of data viewed as 10**9 elements would make the model that big.
    ckpt = torch.load(DLE_HIFIGAN, map_location="cpu", weights_only=True)
    ckpt["generator"]["conv_post.bias"] = torch.zeros(1).expand(10**9)
    path = tmp_path / "expanded.pt"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="more elements than its stored data"):
        load_hifigan(path)


def test_gap_in_layer_numbers(tmp_path: Path) -> None:
    ckpt = torch.load(DLE_FASTPITCH, map_location="cpu", weights_only=True)
    state = ckpt["state_dict"]
    prefix = next(k for k in state if ".layers.1." in k and "dec_attn.qkv_net" in k)
    for key in [k for k in state if k.startswith(prefix.split(".layers.")[0] + ".layers.1.")]:
        state[key.replace(".layers.1.", ".layers.7.")] = state.pop(key)
    path = tmp_path / "gap.pt"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match=r"gap\.pt: .*layers numbered up to 7"):
        load_fastpitch(path)


def test_a_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="is a folder"):
        load_fastpitch(tmp_path)
    with pytest.raises(CheckpointError, match="is a folder"):
        load_hifigan(tmp_path)


def test_json_of_the_config_sidecar(tmp_path: Path) -> None:
    (tmp_path / "generator_v1small").write_bytes(JIK876.read_bytes())
    config = json.loads((JIK876.parent / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**config, "upsample_rates": "8x8"}))
    with pytest.raises(CheckpointError) as info:
        load_hifigan(tmp_path / "generator_v1small")
    assert "\n" not in str(info.value)
