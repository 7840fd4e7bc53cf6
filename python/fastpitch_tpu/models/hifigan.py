"""HiFi-GAN generator (Kong et al., 2020) for inference: mel spectrogram in, waveform out.

The weights are plain convolution weights: checkpoints trained with weight normalization are folded
when they are loaded (:mod:`fastpitch_tpu.checkpoints`), so the forward pass is convolutions,
leaky ReLUs and a final tanh, nothing else. The module names (``conv_pre``, ``ups.<i>``,
``resblocks.<i>.<j>.convs1.<k>`` ..., ``conv_post``) follow the nested layout that NeMo and
DeepLearningExamples use, which makes their state dicts load after weight-norm folding.

Shapes: :meth:`HiFiGAN.forward` takes ``mel`` as ``[batch, num_mels, frames]`` (natural-log mel
magnitudes, as :func:`fastpitch_tpu.audio.mel_spectrogram` computes them) and returns audio as
``[batch, frames * hop_length]`` in ``[-1, 1]`` (the references' channel axis of size 1 is dropped).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["HiFiGAN", "HiFiGANConfig", "ResBlock1", "ResBlock2"]

LEAKY_SLOPE = 0.1
"""Negative slope of the leaky ReLUs inside the generator (the last one before ``conv_post`` uses
PyTorch's default 0.01, as in the published models)."""

# Aliases accepted by HiFiGANConfig.from_dict: the key names jik876's config.json,
# DeepLearningExamples' checkpoint config and NeMo's model_config.yaml use for the same field.
_ALIASES: dict[str, tuple[str, ...]] = {
    "num_mels": ("num_mels", "n_mel_channels", "initial_input_size", "nfilt"),
    "sampling_rate": ("sampling_rate", "sample_rate"),
    "n_fft": ("n_fft", "filter_length"),
    "hop_size": ("hop_size", "hop_length", "n_window_stride"),
    "win_size": ("win_size", "win_length", "n_window_size"),
    "fmin": ("fmin", "mel_fmin", "lowfreq"),
    "fmax": ("fmax", "mel_fmax", "highfreq"),
}
_ARCHITECTURE = (
    "resblock",
    "upsample_rates",
    "upsample_kernel_sizes",
    "upsample_initial_channel",
    "resblock_kernel_sizes",
    "resblock_dilation_sizes",
)


def _ints(values: Any, name: str) -> tuple[int, ...]:
    if not isinstance(values, Sequence) or isinstance(values, str):
        raise ValueError(f"HiFi-GAN config: {name} must be a list of integers, got {values!r}")
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
            raise ValueError(f"HiFi-GAN config: {name} must hold positive integers, got {values!r}")
        out.append(v)
    return tuple(out)


@dataclass(frozen=True)
class HiFiGANConfig:
    """Architecture of a HiFi-GAN generator plus the mel analysis it was trained on.

    ``resblock`` is 1 (three dilated convolution pairs per block, V1/V2) or 2 (two dilated
    convolutions, V3). The audio fields are not used by the network; they describe the mel
    spectrograms it expects (:func:`fastpitch_tpu.audio.mel_spectrogram` parameters).
    """

    resblock: int = 1
    upsample_rates: tuple[int, ...] = (8, 8, 2, 2)
    upsample_kernel_sizes: tuple[int, ...] = (16, 16, 4, 4)
    upsample_initial_channel: int = 512
    resblock_kernel_sizes: tuple[int, ...] = (3, 7, 11)
    resblock_dilation_sizes: tuple[tuple[int, ...], ...] = field(
        default=((1, 3, 5), (1, 3, 5), (1, 3, 5))
    )
    num_mels: int = 80
    sampling_rate: int = 22050
    n_fft: int = 1024
    hop_size: int = 256
    win_size: int = 1024
    fmin: float = 0.0
    fmax: float | None = 8000.0

    def __post_init__(self) -> None:
        if self.resblock not in (1, 2):
            raise ValueError(f"HiFi-GAN config: resblock must be 1 or 2, got {self.resblock!r}")
        if len(self.upsample_rates) != len(self.upsample_kernel_sizes) or not self.upsample_rates:
            raise ValueError(
                "HiFi-GAN config: upsample_rates and upsample_kernel_sizes must be non-empty and "
                f"of equal length, got {self.upsample_rates} and {self.upsample_kernel_sizes}"
            )
        if len(self.resblock_kernel_sizes) != len(self.resblock_dilation_sizes):
            raise ValueError(
                "HiFi-GAN config: resblock_kernel_sizes and resblock_dilation_sizes must have "
                "equal length"
            )
        need = 3 if self.resblock == 1 else 2
        for d in self.resblock_dilation_sizes:
            if len(d) < need:
                raise ValueError(
                    f"HiFi-GAN config: resblock {self.resblock} needs {need} dilations per "
                    f"kernel, got {d}"
                )
        if self.upsample_initial_channel % (2 ** len(self.upsample_rates)):
            raise ValueError(
                "HiFi-GAN config: upsample_initial_channel must be divisible by "
                f"2**{len(self.upsample_rates)}"
            )
        if self.hop_size != self.hop_length:
            raise ValueError(
                f"HiFi-GAN config: hop_size {self.hop_size} differs from the product of "
                f"upsample_rates {self.hop_length}"
            )

    @property
    def hop_length(self) -> int:
        """Audio samples per mel frame: the product of the upsampling rates."""
        return math.prod(self.upsample_rates)

    @property
    def receptive_frames(self) -> float:
        """How many mel frames on each side of a frame can reach its audio (an upper bound):
        ``conv_pre``'s half width, each upsampling's kernel, the widest residual block of each
        stage (its convolutions' half widths summed) and ``conv_post``'s, each in frames."""
        frames = 3.0  # conv_pre: kernel 7
        scale = 1
        for rate, kernel in zip(self.upsample_rates, self.upsample_kernel_sizes):
            frames += kernel / (rate * scale)
            scale *= rate
            widest = 0
            for k, dilations in zip(self.resblock_kernel_sizes, self.resblock_dilation_sizes):
                convs = dilations[:3] if self.resblock == 1 else dilations[:2]
                reach = sum((k - 1) * d // 2 for d in convs)
                if self.resblock == 1:
                    reach += len(convs) * (k - 1) // 2  # the undilated second convolutions
                widest = max(widest, reach)
            frames += widest / scale
        return frames + 3.0 / scale  # conv_post: kernel 7

    @classmethod
    def v1(cls) -> HiFiGANConfig:
        """The published V1 generator (upsample_initial_channel 512, ResBlock1)."""
        return cls()

    @classmethod
    def v2(cls) -> HiFiGANConfig:
        """The published V2 generator (V1 with upsample_initial_channel 128)."""
        return cls(upsample_initial_channel=128)

    @classmethod
    def v3(cls) -> HiFiGANConfig:
        """The published V3 generator (three upsamplings, ResBlock2)."""
        return cls(
            resblock=2,
            upsample_rates=(8, 8, 4),
            upsample_kernel_sizes=(16, 16, 8),
            upsample_initial_channel=256,
            resblock_kernel_sizes=(3, 5, 7),
            resblock_dilation_sizes=((1, 2), (2, 6), (3, 12)),
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> HiFiGANConfig:
        """Build a config from jik876 ``config.json``, a DeepLearningExamples checkpoint's
        ``config`` or NeMo's generator + preprocessor settings (flattened into one mapping).

        The six architecture fields are required; audio fields fall back to the 22,050 Hz
        defaults; other keys (training settings) are ignored.
        """
        missing = [k for k in _ARCHITECTURE if k not in data]
        if missing:
            raise ValueError(f"HiFi-GAN config: missing {', '.join(missing)}")
        try:
            resblock = int(str(data["resblock"]))
        except ValueError:
            raise ValueError(
                f"HiFi-GAN config: resblock must be 1 or 2, got {data['resblock']!r}") from None
        dilations = data["resblock_dilation_sizes"]
        if not isinstance(dilations, Sequence) or isinstance(dilations, str):
            raise ValueError("HiFi-GAN config: resblock_dilation_sizes must be a list of lists")
        kwargs: dict[str, Any] = {
            "resblock": resblock,
            "upsample_rates": _ints(data["upsample_rates"], "upsample_rates"),
            "upsample_kernel_sizes": _ints(data["upsample_kernel_sizes"], "upsample_kernel_sizes"),
            "upsample_initial_channel": int(data["upsample_initial_channel"]),
            "resblock_kernel_sizes": _ints(data["resblock_kernel_sizes"], "resblock_kernel_sizes"),
            "resblock_dilation_sizes": tuple(
                _ints(d, "resblock_dilation_sizes") for d in dilations
            ),
        }
        kwargs["hop_size"] = math.prod(kwargs["upsample_rates"])
        for name, aliases in _ALIASES.items():
            for alias in aliases:
                # fmax: an explicit null means the Nyquist frequency (NeMo's highfreq: null).
                if data.get(alias) is not None or (name == "fmax" and alias in data):
                    kwargs[name] = data[alias]
                    break
        for name in ("num_mels", "sampling_rate", "n_fft", "hop_size", "win_size"):
            kwargs[name] = int(kwargs.get(name, getattr(cls, name)))
        kwargs["fmin"] = float(kwargs.get("fmin", 0.0))
        fmax = kwargs.get("fmax", 8000.0)
        kwargs["fmax"] = None if fmax is None else float(fmax)
        return cls(**kwargs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (lists for tuples); :meth:`from_dict` reads it back."""
        d = asdict(self)
        return {
            k: [list(x) for x in v] if k == "resblock_dilation_sizes" else
            list(v) if isinstance(v, tuple) else v
            for k, v in d.items()
        }


def _same_padding(kernel_size: int, dilation: int) -> int:
    return (kernel_size * dilation - dilation) // 2


def _masked(x: Tensor, mask: Tensor | None) -> Tensor:
    return x if mask is None else x * mask


def _conv(conv: nn.Module, x: Tensor) -> Tensor:
    """``conv`` (a ``Conv1d`` or ``ConvTranspose1d``) applied to ``x``: ``[batch, channels,
    time]``, or ``[batch, channels, 1, time]`` (the 2-D form, computed as the same convolution
    over a height of 1)."""
    assert isinstance(conv, (nn.Conv1d, nn.ConvTranspose1d))
    if x.dim() == 3:
        out: Tensor = conv(x)
        return out
    weight = conv.weight.unsqueeze(2)
    stride, dilation = (1, conv.stride[0]), (1, conv.dilation[0])
    padding = (0, int(conv.padding[0]))
    if isinstance(conv, nn.ConvTranspose1d):
        return F.conv_transpose2d(x, weight, conv.bias, stride=stride, padding=padding,
                                  dilation=dilation)
    return F.conv2d(x, weight, conv.bias, stride=stride, padding=padding, dilation=dilation)


class ResBlock1(nn.Module):
    """Residual block of V1/V2: pairs of (dilated conv, conv), each pair added to its input."""

    def __init__(self, channels: int, kernel_size: int, dilation: Sequence[int]) -> None:
        super().__init__()
        self.convs1 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, dilation=d,
                      padding=_same_padding(kernel_size, d))
            for d in dilation[:3]
        )
        self.convs2 = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, padding=_same_padding(kernel_size, 1))
            for _ in dilation[:3]
        )

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        for c1, c2 in zip(self.convs1, self.convs2):
            y = _masked(_conv(c1, F.leaky_relu(x, LEAKY_SLOPE)), mask)
            y = _masked(_conv(c2, F.leaky_relu(y, LEAKY_SLOPE)), mask)
            x = x + y
        return x


class ResBlock2(nn.Module):
    """Residual block of V3: dilated convolutions, each added to its input."""

    def __init__(self, channels: int, kernel_size: int, dilation: Sequence[int]) -> None:
        super().__init__()
        self.convs = nn.ModuleList(
            nn.Conv1d(channels, channels, kernel_size, dilation=d,
                      padding=_same_padding(kernel_size, d))
            for d in dilation[:2]
        )

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        for c in self.convs:
            x = x + _masked(_conv(c, F.leaky_relu(x, LEAKY_SLOPE)), mask)
        return x


class HiFiGAN(nn.Module):
    """HiFi-GAN generator: ``[batch, num_mels, frames]`` mel -> ``[batch, frames * hop]`` audio.

    Build it from a :class:`HiFiGANConfig`; load weights with
    :func:`fastpitch_tpu.checkpoints.load_hifigan` (or ``load_state_dict`` with plain,
    weight-norm-folded weights in this module's key layout).
    """

    def __init__(self, config: HiFiGANConfig) -> None:
        super().__init__()
        self.config = config
        c0 = config.upsample_initial_channel
        self.conv_pre = nn.Conv1d(config.num_mels, c0, 7, padding=3)
        self.ups = nn.ModuleList(
            nn.ConvTranspose1d(c0 // 2**i, c0 // 2 ** (i + 1), k, u, padding=(k - u) // 2)
            for i, (u, k) in enumerate(zip(config.upsample_rates, config.upsample_kernel_sizes))
        )
        block = ResBlock1 if config.resblock == 1 else ResBlock2
        self.resblocks = nn.ModuleList(
            nn.ModuleList(
                block(c0 // 2 ** (i + 1), k, d)
                for k, d in zip(config.resblock_kernel_sizes, config.resblock_dilation_sizes)
            )
            for i in range(len(config.upsample_rates))
        )
        self.conv_post = nn.Conv1d(c0 // 2 ** len(config.upsample_rates), 1, 7, padding=3)

    @property
    def hop_length(self) -> int:
        """Audio samples per mel frame."""
        return self.config.hop_length

    def forward(self, mel: Tensor, lengths: Tensor | None = None) -> Tensor:
        """``mel`` ``[batch, num_mels, frames]`` → audio ``[batch, frames * hop]``.

        ``mel`` may also come in the 2-D form ``[batch, num_mels, 1, frames]``: every layer then
        runs as the same convolution over a height of 1, in whatever memory format ``mel`` has
        (a backend may pick channels-last, where cuDNN needs no layout conversions). The
        arithmetic is the same either way.

        With ``lengths`` (valid frames per row), every activation past a row's length is zeroed
        at each resolution, which is exactly what the convolutions of an unpadded input see
        (zero padding): the audio inside each row's length is then the same as if that row had
        been vocoded alone, whatever the padding; past it the audio is 0.
        """
        two_d = mel.dim() == 4 and mel.shape[2] == 1
        if not (mel.dim() == 3 or two_d) or mel.shape[1] != self.config.num_mels:
            raise ValueError(
                f"HiFiGAN expects mel of shape [batch, {self.config.num_mels}, frames] (or "
                f"[batch, {self.config.num_mels}, 1, frames]), got {tuple(mel.shape)}"
            )
        frames = mel.shape[-1]
        mask = None
        if lengths is not None:
            mask = self._mask(lengths, frames, 1, mel)
            mel = mel * mask
        x = _masked(_conv(self.conv_pre, mel), mask)
        scale = 1
        for up, group, rate in zip(self.ups, self.resblocks, self.config.upsample_rates):
            scale *= rate
            if lengths is not None:
                mask = self._mask(lengths, frames * scale, scale, mel)
            x = _masked(_conv(up, F.leaky_relu(x, LEAKY_SLOPE)), mask)
            assert isinstance(group, nn.ModuleList)
            acc = group[0](x, mask)
            for block in group[1:]:
                acc = acc + block(x, mask)
            x = acc / len(group)
        x = torch.tanh(_conv(self.conv_post, F.leaky_relu(x)))
        return _masked(x, mask).reshape(x.shape[0], -1)

    @staticmethod
    def _mask(lengths: Tensor, size: int, scale: int, like: Tensor) -> Tensor:
        """``[batch, 1, size]`` (``[batch, 1, 1, size]`` for the 2-D form) of ones inside each
        row's length, in ``like``'s dtype."""
        steps = torch.arange(size, device=lengths.device)
        valid = (steps[None, :] < lengths[:, None] * scale).to(like.dtype)
        return valid.reshape(valid.shape[0], *([1] * (like.dim() - 2)), size)
