"""The CPU backend's tiled vocoder: a long mel vocoded in tiles with a halo of the generator's
receptive field gives the audio of one pass (float rounding aside), padding included."""

from __future__ import annotations

import pytest
import torch

from fastpitch_tpu.backends.torch_backend import _TiledVocoder
from fastpitch_tpu.models.hifigan import HiFiGAN, HiFiGANConfig

SHAPES = {
    "v1": HiFiGANConfig(upsample_initial_channel=64),  # V1's layers, fewer channels
    "v3": HiFiGANConfig(resblock=2, upsample_rates=(8, 8, 4), upsample_kernel_sizes=(16, 16, 8),
                        upsample_initial_channel=64, resblock_kernel_sizes=(3, 5, 7),
                        resblock_dilation_sizes=((1, 2), (2, 6), (3, 12))),
}


def _model(cfg: HiFiGANConfig) -> HiFiGAN:
    torch.manual_seed(0)
    return HiFiGAN(cfg).eval()


@pytest.mark.parametrize("version", sorted(SHAPES))
def test_tiles_give_the_one_pass_audio(version: str) -> None:
    model = _model(SHAPES[version])
    tiled = _TiledVocoder(model, model.config)
    frames = 2 * tiled.TILE + 75  # three tiles, the last one short
    mel = torch.randn(3, 80, frames) - 4
    lengths = torch.tensor([frames, frames - tiled.TILE - 20, 30])  # one row ends in tile 2
    with torch.inference_mode():
        whole = model(mel, lengths)
        got = tiled(mel, lengths)
        assert got.shape == whole.shape
        torch.testing.assert_close(got, whole, rtol=0, atol=2e-5 * float(whole.abs().max()))
        # short input: one pass, unchanged
        short = mel[..., : tiled.TILE]
        torch.testing.assert_close(tiled(short, None), model(short), rtol=0, atol=0)


def test_a_halo_short_of_the_receptive_field_would_show() -> None:
    """The check above has teeth: with too little context the tiles' seams differ."""
    model = _model(SHAPES["v1"])
    tiled = _TiledVocoder(model, model.config)
    assert tiled.halo >= 15  # V1's receptive field is about 14.4 frames each side
    tiled.halo = 2
    mel = torch.randn(1, 80, 2 * tiled.TILE + 40) - 4
    with torch.inference_mode():
        whole = model(mel)
        got = tiled(mel)
    assert float((got - whole).abs().max()) > 1e-3 * float(whole.abs().max())
