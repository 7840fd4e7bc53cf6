"""Malformed, hostile and mismatched FastPitch checkpoints, and FastPitch hub downloads."""

from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from archives import Payload, tar_members, write_tar  # noqa: E402
from fastpitch_tpu import checkpoints  # noqa: E402
from fastpitch_tpu.checkpoints import load_fastpitch  # noqa: E402
from fastpitch_tpu.errors import CheckpointDownloadError, CheckpointError  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "fastpitch"
DLE = FIXTURES / "dle_single" / "FastPitch_checkpoint_1000.pt"
NEMO = FIXTURES / "nemo_single" / "nemo_fastpitch_single.nemo"


def dle_checkpoint() -> dict[str, Any]:
    obj: dict[str, Any] = torch.load(DLE, map_location="cpu", weights_only=True)
    return obj




@pytest.mark.parametrize("source", [DLE, NEMO])
def test_truncated(tmp_path: Path, source: Path) -> None:
    path = tmp_path / f"truncated{source.suffix}"
    data = source.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=path.name):
        load_fastpitch(path)


def test_missing_and_unexpected_keys(tmp_path: Path) -> None:
    ckpt = dle_checkpoint()
    del ckpt["state_dict"]["proj.bias"]
    ckpt["state_dict"]["decoder.extra.weight"] = torch.zeros(2)
    path = tmp_path / "keys.pt"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError) as info:
        load_fastpitch(path)
    message = str(info.value)
    assert "missing keys: proj.bias" in message
    assert "unexpected keys: decoder.extra.weight" in message


def test_wrong_shapes(tmp_path: Path) -> None:
    path = tmp_path / "shapes.pt"
    torch.save(dle_checkpoint(), path)
    with pytest.raises(CheckpointError,
                       match=r"shape mismatches: .*encoder.layers.0.dec_attn.o_net.weight"):
        load_fastpitch(path, config={"encoder": {"d_head": 8}})


def test_not_fastpitch(tmp_path: Path) -> None:
    path = tmp_path / "vocoder.pt"
    torch.save({"generator": {"conv_pre.weight": torch.zeros(1)}}, path)
    with pytest.raises(CheckpointError, match="not a FastPitch checkpoint"):
        load_fastpitch(path)


def test_invalid_config_override(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="invalid FastPitch config"):
        load_fastpitch(DLE, config={"padding_idx": 500})



@pytest.mark.parametrize("container", ["dle", "nemo"])
def test_code_executing_pickle_is_refused(tmp_path: Path, container: str) -> None:
    marker = tmp_path / "pwned"
    payload = {"state_dict": {"encoder.word_emb.weight": Payload(str(marker))}}
    if container == "dle":
        path = tmp_path / "evil.pt"
        torch.save(payload, path)
    else:
        buf = io.BytesIO()
        torch.save(payload["state_dict"], buf)
        files = tar_members(NEMO)
        files["model_weights.ckpt"] = buf.getvalue()
        path = tmp_path / "evil.nemo"
        write_tar(path, files, mode="w:gz")
    with pytest.raises(CheckpointError, match=r"refused to load.*references io\.open"):
        load_fastpitch(path)
    assert not marker.exists()


@pytest.mark.parametrize("name", ["../model_config.yaml", "/etc/model_weights.ckpt", "a/../../b"])
def test_nemo_path_traversal(tmp_path: Path, name: str) -> None:
    files = tar_members(NEMO)
    files[name] = b"x"
    path = tmp_path / "traversal.nemo"
    write_tar(path, files, mode="w:gz")
    with pytest.raises(CheckpointError, match="unsafe path"):
        load_fastpitch(path)
    assert not (tmp_path.parent / "model_config.yaml").exists()


def test_nemo_symlink(tmp_path: Path) -> None:
    link = tarfile.TarInfo("model_weights.ckpt")
    link.type = tarfile.SYMTYPE
    link.linkname = "/etc/passwd"
    files = tar_members(NEMO)
    del files["model_weights.ckpt"]
    path = tmp_path / "link.nemo"
    write_tar(path, files, extra=[link], mode="w:gz")
    with pytest.raises(CheckpointError, match="is a link"):
        load_fastpitch(path)


def test_nemo_config_without_fastpitch(tmp_path: Path) -> None:
    files = tar_members(NEMO)
    files["model_config.yaml"] = b"generator: {resblock: 1}\n"
    path = tmp_path / "hifigan_like.nemo"
    write_tar(path, files, mode="w:gz")
    with pytest.raises(CheckpointError, match="no FastPitch input_fft section"):
        load_fastpitch(path)


def test_unknown_name_lists_hub_names() -> None:
    with pytest.raises(FileNotFoundError, match="nvidia/tts_en_fastpitch"):
        load_fastpitch("no/such/voice")


def test_hub_name_of_the_wrong_kind() -> None:
    with pytest.raises(CheckpointError, match="is a hifigan checkpoint"):
        load_fastpitch("nvidia/tts_hifigan")


@pytest.mark.usefixtures("offline")
def test_offline_download_says_how_to_pass_a_file() -> None:
    with pytest.raises(CheckpointDownloadError, match=r"load_fastpitch\('/path/to/file'\)"):
        load_fastpitch("nvidia/tts_en_fastpitch")


def test_dle_ngc_zip_is_downloaded_checked_and_unpacked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The DeepLearningExamples hub entries are zips holding the checkpoint (as NGC serves
    them): the zip is downloaded, pinned by sha256 and the member extracted once."""
    monkeypatch.setenv("FASTPITCH_TPU_CACHE", str(tmp_path / "cache"))
    archive = tmp_path / "ngc.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("nvidia_fastpitch_210824.pt", DLE.read_bytes())
        zf.writestr("README.txt", "NGC")
    entry = checkpoints.HUB["nvidia/fastpitch_pyt_fp32_ckpt_v1_1"]
    local = checkpoints.HubEntry(archive.as_uri(), entry.filename, "fastpitch", entry.member)
    monkeypatch.setitem(checkpoints.HUB, "nvidia/fastpitch_pyt_fp32_ckpt_v1_1", local)
    first = load_fastpitch("nvidia/fastpitch_pyt_fp32_ckpt_v1_1")
    extracted = tmp_path / "cache" / "nvidia_fastpitch_210824.pt"
    assert extracted.read_bytes() == DLE.read_bytes()
    second = load_fastpitch("nvidia/fastpitch_pyt_fp32_ckpt_v1_1")
    assert first.config == second.config
    # A corrupted cached zip is caught by the recorded digest.
    cached_zip = tmp_path / "cache" / entry.filename
    cached_zip.write_bytes(b"corrupt")
    extracted.unlink()
    with pytest.raises(CheckpointDownloadError, match="sha256 mismatch"):
        load_fastpitch("nvidia/fastpitch_pyt_fp32_ckpt_v1_1")
