"""FastPitch (Łańcucki, 2021): symbol ids in, mel spectrogram out, with explicit per-symbol
durations, pitch and (optionally) energy.

Inference runs in three stages, which the static-shape engine compiles separately:

1. :meth:`FastPitch.encode` — symbols → encoder states → durations, pitch (and energy), with the
   pitch / energy embeddings added back into the encoder states (``[batch, tokens, d_model]``);
2. :func:`regulate_length` — every token state repeated for its number of frames (rounded
   ``duration / pace``), into ``[batch, frames, d_model]``;
3. :meth:`FastPitch.decode` — decoder transformer and a linear projection to mel bands.

:meth:`FastPitch.infer` chains them with dynamic shapes. Parameter names follow the layout shared
by DeepLearningExamples' FastPitch 1.1 and NeMo's ``FastPitchModule`` (``encoder.layers.<i>...``,
``duration_predictor.layers.<i>.conv``, ``pitch_emb``, ``proj`` ...), which makes their state dicts
load directly (:mod:`fastpitch_tpu.checkpoints`).

Units: durations are in mel frames; pitch is per symbol and normalized, ``(hz - mean) / std``
with the statistics of the training data (:attr:`FastPitch.pitch_stats`); energy is per symbol, in
whatever scale the checkpoint was trained with (``log(1 + mean frame energy)`` for the references).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

import torch
from torch import Tensor, nn

from fastpitch_tpu.models.sequence_conv import SequenceConv1d
from fastpitch_tpu.models.transformer import (
    ConditionalInput,
    ConditionalLayerNorm,
    FFTransformer,
    check_condition_types,
)

__all__ = [
    "LJSPEECH_PITCH_STATS",
    "FFTConfig",
    "FastPitch",
    "FastPitchConfig",
    "FastPitchOutput",
    "PredictorConfig",
    "TokenFeatures",
    "regulate_length",
]

LJSPEECH_PITCH_STATS = (218.14, 67.24)
"""Mean and standard deviation (Hz) of LJSpeech's pitch: the fallback when a checkpoint stores no
statistics of its own (as DeepLearningExamples does)."""

PitchTransform = Callable[[Tensor, Tensor, float, float], Tensor]
"""``f(pitch, lengths, mean, std) -> pitch``: normalized ``[batch, tokens]`` pitch, the number of
valid tokens per row and the statistics, as DeepLearningExamples' ``pitch_transform``."""


@dataclass(frozen=True)
class FFTConfig:
    """One feed-forward transformer stack (the encoder or the decoder)."""

    n_layer: int = 6
    n_head: int = 1
    d_head: int = 64
    d_inner: int = 1536
    kernel_size: tuple[int, int] = (3, 3)
    dropout: float = 0.1
    dropatt: float = 0.1
    dropemb: float = 0.0
    pre_lnorm: bool = False
    condition_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_condition_types(self.condition_types)
        for name in ("n_layer", "n_head", "d_head", "d_inner"):
            if getattr(self, name) < 1:
                raise ValueError(f"FastPitch config: {name} must be positive")


@dataclass(frozen=True)
class PredictorConfig:
    """A per-token predictor: ``n_layers`` × (conv, ReLU, layer norm), then a linear map."""

    filter_size: int = 256
    kernel_size: int = 3
    n_layers: int = 2
    dropout: float = 0.1
    condition_types: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_condition_types(self.condition_types)
        if self.n_layers < 1 or self.filter_size < 1 or self.kernel_size < 1:
            raise ValueError("FastPitch config: predictor sizes must be positive")


def _default_predictor() -> PredictorConfig:
    return PredictorConfig()


@dataclass(frozen=True)
class FastPitchConfig:
    """Architecture of a FastPitch model plus the audio settings of the mels it was trained on.

    The defaults are DeepLearningExamples' FastPitch 1.1 (46 M parameters with energy) for
    LJSpeech. ``frontend`` names the :class:`~fastpitch_tpu.TextFrontend` flavor whose symbol
    ids the model was trained on, when known.
    """

    n_symbols: int = 148
    padding_idx: int = 0
    d_model: int = 384
    n_mel_channels: int = 80
    encoder: FFTConfig = field(default_factory=FFTConfig)
    decoder: FFTConfig = field(default_factory=FFTConfig)
    duration_predictor: PredictorConfig = field(default_factory=_default_predictor)
    pitch_predictor: PredictorConfig = field(default_factory=_default_predictor)
    energy_predictor: PredictorConfig | None = None
    pitch_embedding_kernel_size: int = 3
    energy_embedding_kernel_size: int = 3
    n_speakers: int = 1
    speaker_emb_weight: float = 1.0
    min_token_duration: float = 0.0
    max_token_duration: float = 75.0
    pitch_mean: float | None = None
    pitch_std: float | None = None
    sample_rate: int = 22050
    hop_length: int = 256
    win_length: int = 1024
    n_fft: int = 1024
    mel_fmin: float = 0.0
    mel_fmax: float | None = 8000.0
    frontend: str | None = None

    def __post_init__(self) -> None:
        if self.n_symbols < 1 or not 0 <= self.padding_idx < self.n_symbols:
            raise ValueError(
                f"FastPitch config: padding_idx {self.padding_idx} must be a symbol id below "
                f"n_symbols {self.n_symbols}"
            )
        if self.d_model < 2 or self.d_model % 2:
            raise ValueError("FastPitch config: d_model must be a positive even number")
        if self.n_speakers < 1:
            raise ValueError("FastPitch config: n_speakers must be at least 1")
        for name in ("pitch_embedding_kernel_size", "energy_embedding_kernel_size"):
            if getattr(self, name) % 2 == 0:
                raise ValueError(f"FastPitch config: {name} must be odd")
        uses_speaker = any(
            c.condition_types for c in (self.encoder, self.decoder, self.duration_predictor,
                                        self.pitch_predictor, self.energy_predictor)
            if c is not None
        )
        if uses_speaker and self.n_speakers < 2:
            raise ValueError("FastPitch config: condition types need n_speakers > 1")

    @property
    def multi_speaker(self) -> bool:
        return self.n_speakers > 1

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict; :meth:`from_dict` reads it back."""
        out = asdict(self)
        for key in ("encoder", "decoder"):
            out[key]["kernel_size"] = list(out[key]["kernel_size"])
        for key in ("encoder", "decoder", "duration_predictor", "pitch_predictor",
                    "energy_predictor"):
            if out[key] is not None:
                out[key]["condition_types"] = list(out[key]["condition_types"])
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FastPitchConfig:
        """Inverse of :meth:`to_dict`. Unknown keys are an error (a typo must not pass)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"FastPitch config: unknown keys {unknown}")
        kwargs: dict[str, Any] = dict(data)
        for key in ("encoder", "decoder"):
            if key in kwargs:
                sub = dict(kwargs[key])
                if "kernel_size" in sub:
                    sub["kernel_size"] = _kernel_pair(sub["kernel_size"])
                sub["condition_types"] = tuple(sub.get("condition_types", ()))
                kwargs[key] = FFTConfig(**sub)
        for key in ("duration_predictor", "pitch_predictor", "energy_predictor"):
            if kwargs.get(key) is not None:
                sub = dict(kwargs[key])
                sub["condition_types"] = tuple(sub.get("condition_types", ()))
                kwargs[key] = PredictorConfig(**sub)
        return cls(**kwargs)

    def replace(self, **changes: Any) -> FastPitchConfig:
        return replace(self, **changes)


def _kernel_pair(value: Any) -> tuple[int, int]:
    if isinstance(value, int):
        return (value, value)
    a, b = value
    return (int(a), int(b))


@dataclass
class TokenFeatures:
    """Output of :meth:`FastPitch.encode` (all ``[batch, tokens, ...]``)."""

    hidden: Tensor
    """Encoder states with pitch (and energy) embeddings added: ``[batch, tokens, d_model]``."""
    mask: Tensor
    """``[batch, tokens, 1]`` booleans, true on real symbols."""
    log_durations: Tensor
    """Predicted ``log(1 + frames)``: ``[batch, tokens]``."""
    durations: Tensor
    """Predicted frames (unrounded, clamped to the configured range, 0 on padding)."""
    pitch: Tensor
    """Normalized pitch used for the embedding (predicted, transformed, or given)."""
    energy: Tensor | None
    """Energy used for the embedding (predicted or given); None without an energy predictor."""
    cond: Tensor | None
    """Speaker conditioning ``[batch, 1, d_model]`` for the decoder, or None."""


@dataclass
class FastPitchOutput:
    """Output of :meth:`FastPitch.infer`."""

    mel: Tensor
    """``[batch, n_mel_channels, frames]`` natural-log mel; frames past ``mel_lengths`` are
    padding."""
    mel_lengths: Tensor
    """``[batch]`` number of valid frames per row."""
    durations: Tensor
    """``[batch, tokens]`` predicted (unrounded) durations, in frames at pace 1."""
    log_durations: Tensor
    pitch: Tensor
    """``[batch, tokens]`` normalized pitch that conditioned the decoder."""
    energy: Tensor | None


class Predictor(nn.Module):
    """Per-token regression head (durations, pitch or energy)."""

    def __init__(self, d_in: int, cfg: PredictorConfig) -> None:
        super().__init__()
        self.cond_input = ConditionalInput(d_in, d_in, cfg.condition_types)
        self.layers = nn.ModuleList(
            _ConvReLUNorm(d_in if i == 0 else cfg.filter_size, cfg.filter_size, cfg.kernel_size,
                          cfg.dropout, d_in, cfg.condition_types)
            for i in range(cfg.n_layers)
        )
        self.fc = nn.Linear(cfg.filter_size, 1)

    def forward(self, x: Tensor, mask: Tensor, cond: Tensor | None,
                isolate_padding: bool = False) -> Tensor:
        maskf = mask.to(x.dtype)
        h = self.cond_input(x, cond) * maskf
        for layer in self.layers:
            h = layer(h, cond)
            if isolate_padding:
                h = h * maskf
        out: Tensor = (self.fc(h) * maskf).squeeze(-1)
        return out


class _ConvReLUNorm(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel_size: int, dropout: float, cond_dim: int,
                 condition_types: tuple[str, ...]) -> None:
        super().__init__()
        self.conv = SequenceConv1d(c_in, c_out, kernel_size, padding=kernel_size // 2)
        self.norm = ConditionalLayerNorm(c_out, cond_dim, condition_types)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, cond: Tensor | None) -> Tensor:
        """``x`` ``[batch, time, c_in]`` → ``[batch, time, c_out]``."""
        h = torch.relu(self.conv.over_time(x))
        out: Tensor = self.dropout(self.norm(h, cond))
        return out


def regulate_length(
    durations: Tensor, hidden: Tensor, pace: float | Tensor = 1.0, max_frames: int | None = None
) -> tuple[Tensor, Tensor]:
    """Repeat each token state for its number of frames.

    ``durations`` ``[batch, tokens]`` (float or int) are divided by ``pace`` and rounded half up;
    returns ``frames`` ``[batch, max_frames or longest, d]`` (zero past each row's length) and the
    lengths ``[batch]``. With ``max_frames`` the output has exactly that many frames; rows longer
    than that are cut and their lengths clamped (callers that must not lose audio check first).
    """
    reps = torch.floor(durations.float() / pace + 0.5).long()
    ends = torch.cumsum(reps, dim=1)  # [b, t]
    lengths = ends[:, -1]
    n_frames = int(lengths.max().item()) if max_frames is None else max_frames
    frame = torch.arange(n_frames, device=hidden.device)
    # Token of frame f: how many tokens end at or before f.
    token = (ends[:, None, :] <= frame[None, :, None]).sum(-1)  # [b, f]
    token = token.clamp(max=hidden.shape[1] - 1)
    frames = torch.gather(hidden, 1, token[..., None].expand(-1, -1, hidden.shape[2]))
    valid = frame[None, :] < lengths[:, None]
    frames = frames * valid[..., None].to(frames.dtype)
    if max_frames is not None:
        lengths = lengths.clamp(max=max_frames)
    return frames, lengths


class FastPitch(nn.Module):
    """The FastPitch acoustic model for inference (and training with external durations)."""

    pitch_mean: Tensor
    pitch_std: Tensor

    def __init__(self, config: FastPitchConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        d = c.d_model
        enc, dec = c.encoder, c.decoder
        self.encoder = FFTransformer(
            enc.n_layer, enc.n_head, d, enc.d_head, enc.d_inner, enc.kernel_size, enc.dropout,
            enc.dropatt, enc.dropemb, enc.pre_lnorm, enc.condition_types,
            n_embed=c.n_symbols, padding_idx=c.padding_idx,
        )
        self.decoder = FFTransformer(
            dec.n_layer, dec.n_head, d, dec.d_head, dec.d_inner, dec.kernel_size, dec.dropout,
            dec.dropatt, dec.dropemb, dec.pre_lnorm, dec.condition_types,
        )
        self.speaker_emb = nn.Embedding(c.n_speakers, d) if c.multi_speaker else None
        self.duration_predictor = Predictor(d, c.duration_predictor)
        self.pitch_predictor = Predictor(d, c.pitch_predictor)
        k = c.pitch_embedding_kernel_size
        self.pitch_emb = SequenceConv1d(1, d, k, padding=(k - 1) // 2)
        self.energy_predictor: Predictor | None = None
        if c.energy_predictor is not None:
            self.energy_predictor = Predictor(d, c.energy_predictor)
            k = c.energy_embedding_kernel_size
            self.energy_emb = SequenceConv1d(1, d, k, padding=(k - 1) // 2)
        self.proj = nn.Linear(d, c.n_mel_channels)
        # Pitch statistics (Hz) of the training data, as the reference checkpoints store them.
        self.register_buffer("pitch_mean", torch.zeros(1))
        self.register_buffer("pitch_std", torch.zeros(1))

    # ---------------------------------------------------------------------------------------

    @property
    def pitch_stats(self) -> tuple[float, float]:
        """``(mean, std)`` in Hz: the stored buffers, else the config, else LJSpeech's."""
        std = float(self.pitch_std[0])
        if std > 0:
            return float(self.pitch_mean[0]), std
        if self.config.pitch_std:
            return float(self.config.pitch_mean or 0.0), float(self.config.pitch_std)
        return LJSPEECH_PITCH_STATS

    def speaker_conditioning(self, speaker: int | Tensor | None, batch: int,
                             device: torch.device) -> Tensor | None:
        """``[batch, 1, d_model]`` speaker vector (None for single-speaker models)."""
        if self.speaker_emb is None:
            return None
        n = self.config.n_speakers
        if speaker is None:
            speaker = 0
        ids = torch.as_tensor(speaker, device=device, dtype=torch.long)
        if ids.dim() == 0:
            ids = ids.expand(batch)
        if ids.shape != (batch,):
            raise ValueError(f"speaker must be an int or a [{batch}] tensor, got {tuple(ids.shape)}")
        if not torch.compiler.is_compiling() and ids.device.type == "cpu":
            if bool(((ids < 0) | (ids >= n)).any()):
                raise ValueError(f"speaker ids must be in [0, {n}), got {ids.tolist()}")
        emb: Tensor = self.speaker_emb(ids)[:, None, :]
        return emb * self.config.speaker_emb_weight

    def encode(
        self,
        ids: Tensor,
        *,
        speaker: int | Tensor | None = None,
        pitch: Tensor | None = None,
        energy: Tensor | None = None,
        pitch_shift: float | Tensor = 0.0,
        pitch_scale: float | Tensor = 1.0,
        pitch_transform: PitchTransform | None = None,
        pitch_stats: tuple[float, float] | None = None,
        isolate_padding: bool = False,
    ) -> TokenFeatures:
        """Stage 1: ``ids`` ``[batch, tokens]`` (padded with ``padding_idx``) → token features.

        ``pitch`` / ``energy`` ``[batch, tokens]`` replace the predictions. Predicted pitch is
        changed as ``pitch * pitch_scale + pitch_shift / std`` (a shift in Hz; the scale widens
        the pitch range around the speaker's mean), then by ``pitch_transform`` if given.
        ``pitch_stats`` overrides :attr:`pitch_stats` (traced graphs pass constants).

        With ``isolate_padding`` the padded positions are zeroed between the predictors' layers
        and in the pitch / energy fed to their embeddings, which is what the convolutions of an
        unpadded sequence see: every row then gets exactly the result it would get alone. The
        references do not do this (their padded rows in a batch are slightly affected by the
        padding), so it is off for parity and on in the engine.
        """
        cfg = self.config
        mask = (ids != cfg.padding_idx)[..., None]
        cond = self.speaker_conditioning(speaker, ids.shape[0], ids.device)
        iso = isolate_padding
        x = self.encoder(self.encoder.word_emb(ids), mask, cond, iso)
        log_dur = self.duration_predictor(x, mask, cond, iso)
        dur = torch.clamp(torch.exp(log_dur) - 1.0, cfg.min_token_duration,
                          cfg.max_token_duration) * mask.squeeze(-1).to(log_dur.dtype)
        if pitch is None:
            pitch = self.pitch_predictor(x, mask, cond, iso)
            scaled = not (isinstance(pitch_scale, float) and pitch_scale == 1.0)
            shifted = not (isinstance(pitch_shift, float) and pitch_shift == 0.0)
            if scaled or shifted or pitch_transform is not None:
                mean, std = self.pitch_stats if pitch_stats is None else pitch_stats
                if scaled:
                    pitch = pitch * pitch_scale
                if shifted:
                    pitch = pitch + pitch_shift / std
                if pitch_transform is not None:
                    pitch = pitch_transform(pitch, mask.sum(dim=(1, 2)), mean, std)
        maskf = mask.squeeze(-1).to(x.dtype)
        if iso:
            pitch = pitch * maskf
        x = x + self.pitch_emb.over_time(pitch[:, :, None].to(x.dtype))
        if self.energy_predictor is not None:
            if energy is None:
                energy = self.energy_predictor(x, mask, cond, iso)
            elif iso:
                energy = energy * maskf
            x = x + self.energy_emb.over_time(energy[:, :, None].to(x.dtype))
        elif energy is not None:
            raise ValueError("this model has no energy predictor; energy cannot be given")
        return TokenFeatures(x, mask, log_dur, dur, pitch, energy,
                             cond if cfg.decoder.condition_types else None)

    def decode(self, frames: Tensor, lengths: Tensor, cond: Tensor | None = None,
               isolate_padding: bool = False) -> Tensor:
        """Stage 3: ``frames`` ``[batch, n, d_model]`` + valid lengths → mel ``[batch, mels, n]``."""
        n = frames.shape[1]
        mask = (torch.arange(n, device=frames.device)[None, :] < lengths[:, None])[..., None]
        hidden = self.decoder(frames, mask, cond, isolate_padding)
        out: Tensor = self.proj(hidden).transpose(1, 2)
        return out

    def infer(
        self,
        ids: Tensor,
        *,
        speaker: int | Tensor | None = None,
        pace: float = 1.0,
        durations: Tensor | None = None,
        pitch: Tensor | None = None,
        energy: Tensor | None = None,
        pitch_shift: float = 0.0,
        pitch_scale: float = 1.0,
        pitch_transform: PitchTransform | None = None,
        max_frames: int | None = None,
    ) -> FastPitchOutput:
        """All three stages with dynamic shapes. ``durations`` ``[batch, tokens]`` (frames at
        pace 1) replace the predicted ones; see :meth:`encode` for the other options."""
        if not pace > 0:
            raise ValueError(f"pace must be positive, got {pace}")
        feats = self.encode(ids, speaker=speaker, pitch=pitch, energy=energy,
                            pitch_shift=pitch_shift, pitch_scale=pitch_scale,
                            pitch_transform=pitch_transform)
        dur = feats.durations if durations is None else durations
        frames, lengths = regulate_length(dur, feats.hidden, pace, max_frames)
        mel = self.decode(frames, lengths, feats.cond)
        return FastPitchOutput(mel, lengths, feats.durations, feats.log_durations, feats.pitch,
                               feats.energy)

    def forward(self, ids: Tensor, **kwargs: Any) -> FastPitchOutput:
        return self.infer(ids, **kwargs)
