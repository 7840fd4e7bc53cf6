"""Malformed, hostile and mismatched checkpoints; downloads. Nothing may execute, every failure is a
CheckpointError (ValueError) or CheckpointDownloadError (OSError) naming the problem."""

from __future__ import annotations

import io
import pickle
import tarfile
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from archives import Payload, tar_members, write_tar  # noqa: E402
from fastpitch_tpu import checkpoints  # noqa: E402
from fastpitch_tpu.checkpoints import load_hifigan, read_nemo_archive  # noqa: E402
from fastpitch_tpu.errors import CheckpointDownloadError, CheckpointError  # noqa: E402
from fastpitch_tpu.models import HiFiGANConfig  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures" / "hifigan"
DLE = FIXTURES / "dle_hifigan_gen_checkpoint_v1small.pt"
NEMO = FIXTURES / "nemo_hifigan_v1small.nemo"


def dle_checkpoint() -> dict[str, Any]:
    obj: dict[str, Any] = torch.load(DLE, map_location="cpu", weights_only=True)
    return obj


def test_errors_subclass_stdlib() -> None:
    assert issubclass(CheckpointError, ValueError)
    assert issubclass(CheckpointDownloadError, OSError)


def test_truncated_file(tmp_path: Path) -> None:
    path = tmp_path / "truncated.pt"
    data = DLE.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated.pt"):
        load_hifigan(path)


def test_truncated_nemo(tmp_path: Path) -> None:
    path = tmp_path / "truncated.nemo"
    data = NEMO.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated.nemo"):
        load_hifigan(path)


def test_not_a_checkpoint(tmp_path: Path) -> None:
    path = tmp_path / "notes.pt"
    path.write_text("hello")
    with pytest.raises(CheckpointError, match="not a readable PyTorch checkpoint"):
        load_hifigan(path)
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(CheckpointError, match="safetensors"):
        load_hifigan(bad)


def test_missing_and_unexpected_keys(tmp_path: Path) -> None:
    ckpt = dle_checkpoint()
    gen = ckpt["generator"]
    del gen["conv_post.bias"]
    gen["extra.weight"] = torch.zeros(3)
    path = tmp_path / "keys.pt"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError) as info:
        load_hifigan(path)
    message = str(info.value)
    assert "missing keys: conv_post.bias" in message
    assert "unexpected keys: extra.weight" in message


def test_wrong_shapes(tmp_path: Path) -> None:
    ckpt = dle_checkpoint()
    ckpt["config"] = {**ckpt["config"], "upsample_initial_channel": 16}
    path = tmp_path / "shapes.pt"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match=r"shape mismatches: .*conv_pre.weight: checkpoint"):
        load_hifigan(path)


def test_wrong_config(tmp_path: Path) -> None:
    ckpt = dle_checkpoint()
    ckpt["config"] = {"resblock": "1"}
    path = tmp_path / "config.pt"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="missing upsample_rates"):
        load_hifigan(path)


def test_no_config(tmp_path: Path) -> None:
    ckpt = dle_checkpoint()
    del ckpt["config"]
    path = tmp_path / "noconfig.pt"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="pass config="):
        load_hifigan(path)


def test_weight_norm_half_pair(tmp_path: Path) -> None:
    ckpt = dle_checkpoint()
    del ckpt["generator"]["conv_pre.weight_v"]
    path = tmp_path / "half.pt"
    torch.save(ckpt, path)
    with pytest.raises(CheckpointError, match="conv_pre.weight_g has no matching"):
        load_hifigan(path)



@pytest.mark.parametrize("container", ["torch", "raw_pickle", "nemo"])
def test_code_executing_pickle_is_refused(tmp_path: Path, container: str) -> None:
    marker = tmp_path / "pwned"
    payload = {"generator": {"conv_pre.weight": Payload(str(marker))}}
    path = tmp_path / "evil.pt"
    if container == "torch":
        torch.save(payload, path)
    elif container == "raw_pickle":
        path.write_bytes(pickle.dumps(payload, protocol=2))
    else:
        buf = io.BytesIO()
        torch.save(payload, buf)
        path = tmp_path / "evil.nemo"
        write_tar(path, {"model_config.yaml": b"generator: {}\n",
                         "model_weights.ckpt": buf.getvalue()})
    with pytest.raises(CheckpointError, match=r"refused to load.*references io\.open"):
        load_hifigan(path)
    assert not marker.exists()


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    evil = f"!!python/object/apply:os.system ['touch {marker}']\n".encode()
    path = tmp_path / "evil_yaml.nemo"
    write_tar(path, {"model_config.yaml": evil, "model_weights.ckpt": b""})
    with pytest.raises(CheckpointError, match="not valid YAML"):
        read_nemo_archive(path)
    assert not marker.exists()




@pytest.mark.parametrize("name", ["../model_config.yaml", "/tmp/model_config.yaml",
                                  "sub/../../x", "C:/evil"])
def test_nemo_path_traversal(tmp_path: Path, name: str) -> None:
    files = tar_members(NEMO)
    files[name] = b"x"
    path = tmp_path / "traversal.nemo"
    write_tar(path, files)
    with pytest.raises(CheckpointError, match="unsafe path"):
        load_hifigan(path)


@pytest.mark.parametrize("kind", [tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.CHRTYPE,
                                  tarfile.FIFOTYPE])
def test_nemo_links_and_devices(tmp_path: Path, kind: bytes) -> None:
    info = tarfile.TarInfo("model_config.yaml")
    info.type = kind
    info.linkname = "/etc/passwd"
    files = tar_members(NEMO)
    del files["model_config.yaml"]
    path = tmp_path / "link.nemo"
    write_tar(path, files, extra=[info])
    with pytest.raises(CheckpointError, match="link|special file"):
        load_hifigan(path)


def test_nemo_member_size_limit(tmp_path: Path) -> None:
    path = tmp_path / "plain.nemo"
    write_tar(path, tar_members(NEMO))
    read_nemo_archive(path)  # uncompressed archives are read too
    with pytest.raises(CheckpointError, match="over the 100-byte limit"):
        read_nemo_archive(path, max_member_bytes=100)


def test_nemo_missing_member(tmp_path: Path) -> None:
    files = tar_members(NEMO)
    del files["model_weights.ckpt"]
    path = tmp_path / "partial.nemo"
    write_tar(path, files)
    with pytest.raises(CheckpointError, match="no model_weights.ckpt"):
        load_hifigan(path)


def test_unknown_name() -> None:
    with pytest.raises(FileNotFoundError, match="lj, ljspeech"):
        load_hifigan("no/such_vocoder")


def test_hub_download_from_file_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FASTPITCH_TPU_CACHE", str(tmp_path / "cache"))
    digest = checkpoints.hub._sha256(NEMO)
    entry = checkpoints.HubEntry(NEMO.resolve().as_uri(), "tts_hifigan.nemo", "hifigan", sha256=digest)
    monkeypatch.setitem(checkpoints.hub.HUB, "nvidia/tts_hifigan", entry)
    model = load_hifigan("nvidia/tts_hifigan")
    assert model.config.upsample_initial_channel == 8
    assert (tmp_path / "cache" / "tts_hifigan.nemo").is_file()
    # A cached file that no longer matches its digest is deleted and reported.
    (tmp_path / "cache" / "tts_hifigan.nemo").write_bytes(b"tampered")
    with pytest.raises(CheckpointDownloadError, match="sha256 mismatch"):
        load_hifigan("nvidia/tts_hifigan")
    assert not (tmp_path / "cache" / "tts_hifigan.nemo").exists()


def test_url_without_digest_is_pinned_on_first_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FASTPITCH_TPU_CACHE", str(tmp_path / "cache"))
    load_hifigan(DLE.resolve().as_uri())
    pin = tmp_path / "cache" / (DLE.name + ".sha256")
    assert pin.read_text().strip() == checkpoints.hub._sha256(DLE)
    with pytest.raises(CheckpointDownloadError, match="sha256 mismatch"):
        load_hifigan(DLE.resolve().as_uri(), sha256="0" * 64)


@pytest.mark.usefixtures("offline")
def test_download_failure_explains_offline_use() -> None:
    with pytest.raises(CheckpointDownloadError, match=r"pass the local file.*tts_hifigan.nemo"):
        load_hifigan("nvidia/tts_hifigan")
    with pytest.raises(CheckpointDownloadError, match="only https"):
        load_hifigan("http://example.com/x.pt")


def test_config_from_jik876_json_is_required_fields_only() -> None:
    cfg = HiFiGANConfig.from_dict({**HiFiGANConfig.v3().to_dict(), "batch_size": 16,
                                   "resblock": "2", "learning_rate": 2e-4})
    assert cfg == HiFiGANConfig.v3()


def test_parametrization_weight_norm_keys(tmp_path: Path) -> None:
    # Checkpoints written with torch.nn.utils.parametrizations.weight_norm (newer PyTorch):
    # <module>.parametrizations.weight.original0 (magnitude) / original1 (direction).
    from torch.nn.utils.parametrizations import weight_norm

    from fastpitch_tpu.checkpoints import export_hifigan
    from fastpitch_tpu.models import HiFiGAN

    plain = load_hifigan(DLE)
    wrapped = load_hifigan(DLE)
    for module in wrapped.modules():
        if isinstance(module, (torch.nn.Conv1d, torch.nn.ConvTranspose1d)):
            weight_norm(module)
    state = wrapped.state_dict()
    assert "conv_pre.parametrizations.weight.original0" in state
    path = tmp_path / "parametrized.pt"
    torch.save({"generator": state, "config": plain.config.to_dict()}, path)
    mel = torch.randn(1, 80, 5)
    with torch.no_grad():
        assert torch.allclose(load_hifigan(path)(mel), plain(mel), atol=1e-5)
    # Our own format holds plain weights only.
    export_hifigan(plain, tmp_path / "ours.safetensors")
    assert isinstance(load_hifigan(tmp_path / "ours.safetensors"), HiFiGAN)


def test_frontend_import_does_not_need_torch() -> None:
    import subprocess
    import sys

    code = "import sys, fastpitch_tpu; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
