"""Feed-forward transformer blocks of FastPitch, with optional speaker conditioning.

A block is self-attention followed by a two-convolution feed-forward net, each with a residual
connection and a layer norm (post-norm by default). Conditioning (a ``[batch, 1, dim]`` speaker
vector) can enter three ways, named as in NeMo's configs:

- ``"add"``: added to the block stack's input (projected first if its width differs);
- ``"concat"``: concatenated to the input and projected back to the model width;
- ``"layernorm"``: every layer norm loses its own scale and shift and takes them from two linear
  maps of the conditioning vector instead.

Masks are ``[batch, time, 1]`` booleans, true on valid positions. Padded keys get no attention
and padded positions are zeroed after every sub-layer; with ``isolate_padding`` also inside the
feed-forward net, so that padding cannot reach valid outputs at all.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from fastpitch_tpu.models.sequence_conv import SequenceConv1d

__all__ = [
    "CONDITION_TYPES",
    "ConditionalInput",
    "ConditionalLayerNorm",
    "FFTransformer",
    "sinusoid_positions",
]

CONDITION_TYPES = ("add", "concat", "layernorm")


def check_condition_types(types: Sequence[str]) -> tuple[str, ...]:
    unknown = [t for t in types if t not in CONDITION_TYPES]
    if unknown:
        raise ValueError(f"unknown condition types {unknown}; supported: {list(CONDITION_TYPES)}")
    return tuple(types)


def sinusoid_positions(length: int, dim: int, device: torch.device | None = None) -> Tensor:
    """``[length, dim]`` sinusoid position table: sines in the first half, cosines in the second.

    Always computed in float32 (half precision would blur positions beyond a few hundred).
    """
    pos = torch.arange(length, device=device, dtype=torch.float32)
    inv_freq = 1.0 / (10000.0 ** (torch.arange(0.0, dim, 2.0, device=device) / dim))
    angles = pos[:, None] * inv_freq[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class ConditionalLayerNorm(nn.Module):
    """Layer norm over the last axis; with ``"layernorm"`` conditioning, its scale and shift are
    linear functions of the conditioning vector (parameters ``cond_weight`` / ``cond_bias``)."""

    def __init__(self, dim: int, cond_dim: int, condition_types: Sequence[str] = ()) -> None:
        super().__init__()
        self.conditional = "layernorm" in condition_types
        self.dim = dim
        if self.conditional:
            self.cond_weight = nn.Linear(cond_dim, dim)
            self.cond_bias = nn.Linear(cond_dim, dim)
        else:
            self.weight = nn.Parameter(torch.ones(dim))
            self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, x: Tensor, cond: Tensor | None = None) -> Tensor:
        # The casts keep reduced-precision inputs in their dtype on every backend.
        if not self.conditional:
            return F.layer_norm(x, (self.dim,), self.weight, self.bias).to(x.dtype)
        if cond is None:
            raise ValueError("this layer norm is speaker-conditioned: a speaker is required")
        y = F.layer_norm(x, (self.dim,))
        scale: Tensor = self.cond_weight(cond)
        shift: Tensor = self.cond_bias(cond)
        return (y * scale + shift).to(x.dtype)


class ConditionalInput(nn.Module):
    """Adds (``"add"``) and/or concatenates-and-projects (``"concat"``) a conditioning vector."""

    def __init__(self, dim: int, cond_dim: int, condition_types: Sequence[str] = ()) -> None:
        super().__init__()
        self.add = "add" in condition_types
        self.concat = "concat" in condition_types
        if self.add and cond_dim != dim:
            self.add_proj = nn.Linear(cond_dim, dim)
        if self.concat:
            self.concat_proj = nn.Linear(dim + cond_dim, dim)

    @property
    def active(self) -> bool:
        return self.add or self.concat

    def forward(self, x: Tensor, cond: Tensor | None) -> Tensor:
        if not self.active:
            return x
        if cond is None:
            raise ValueError("this block is speaker-conditioned: a speaker is required")
        if self.add:
            x = x + (self.add_proj(cond) if hasattr(self, "add_proj") else cond)
        if self.concat:
            x = self.concat_proj(torch.cat([x, cond.expand(-1, x.shape[1], -1)], dim=-1))
        return x


class SelfAttention(nn.Module):
    """Multi-head self-attention with one fused q/k/v projection (``qkv_net``) and an output
    projection without bias (``o_net``), followed by residual + layer norm."""

    def __init__(self, n_head: int, d_model: int, d_head: int, dropout: float, dropatt: float,
                 pre_lnorm: bool, condition_types: Sequence[str]) -> None:
        super().__init__()
        self.n_head = n_head
        self.d_head = d_head
        self.scale = 1.0 / d_head**0.5
        self.pre_lnorm = pre_lnorm
        self.qkv_net = nn.Linear(d_model, 3 * n_head * d_head)
        self.o_net = nn.Linear(n_head * d_head, d_model, bias=False)
        self.layer_norm = ConditionalLayerNorm(d_model, d_model, condition_types)
        self.drop = nn.Dropout(dropout)
        self.dropatt = nn.Dropout(dropatt)

    def forward(self, x: Tensor, mask: Tensor, cond: Tensor | None) -> Tensor:
        b, t, _ = x.shape
        h = self.layer_norm(x, cond) if self.pre_lnorm else x
        q, k, v = self.qkv_net(h).view(b, t, 3, self.n_head, self.d_head).permute(2, 0, 3, 1, 4)
        scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale  # [b, heads, t, t]
        # Keys outside the mask get no weight; a large finite negative (rather than -inf) keeps
        # an all-padding row finite.
        key_ok = mask.squeeze(-1)[:, None, None, :]
        scores = scores.masked_fill(~key_ok, torch.finfo(scores.dtype).min)
        probs = self.dropatt(torch.softmax(scores, dim=-1).to(v.dtype))
        out = torch.matmul(probs, v).transpose(1, 2).reshape(b, t, self.n_head * self.d_head)
        out = self.drop(self.o_net(out))
        residual: Tensor = x + out
        if self.pre_lnorm:
            return residual
        normed: Tensor = self.layer_norm(residual, cond)
        return normed


class ConvFeedForward(nn.Module):
    """Two 1-D convolutions with a ReLU between them (``CoreNet.0`` / ``CoreNet.2``), then
    residual + layer norm."""

    def __init__(self, d_model: int, d_inner: int, kernel_size: tuple[int, int], dropout: float,
                 pre_lnorm: bool, condition_types: Sequence[str]) -> None:
        super().__init__()
        k1, k2 = kernel_size
        self.CoreNet = nn.Sequential(
            SequenceConv1d(d_model, d_inner, k1, padding=k1 // 2),
            nn.ReLU(),
            SequenceConv1d(d_inner, d_model, k2, padding=k2 // 2),
            nn.Dropout(dropout),
        )
        self.layer_norm = ConditionalLayerNorm(d_model, d_model, condition_types)
        self.pre_lnorm = pre_lnorm

    def forward(self, x: Tensor, cond: Tensor | None, inner_mask: Tensor | None = None) -> Tensor:
        h = self.layer_norm(x, cond) if self.pre_lnorm else x
        conv1, relu, conv2, drop = self.CoreNet
        assert isinstance(conv1, SequenceConv1d) and isinstance(conv2, SequenceConv1d)
        inner = relu(conv1.over_time(h))
        if inner_mask is not None:
            inner = inner * inner_mask
        out: Tensor = drop(conv2.over_time(inner))
        if self.pre_lnorm:
            return x + out
        normed: Tensor = self.layer_norm(x + out, cond)
        return normed


class TransformerLayer(nn.Module):
    def __init__(self, n_head: int, d_model: int, d_head: int, d_inner: int,
                 kernel_size: tuple[int, int], dropout: float, dropatt: float, pre_lnorm: bool,
                 condition_types: Sequence[str]) -> None:
        super().__init__()
        self.dec_attn = SelfAttention(n_head, d_model, d_head, dropout, dropatt, pre_lnorm,
                                      condition_types)
        self.pos_ff = ConvFeedForward(d_model, d_inner, kernel_size, dropout, pre_lnorm,
                                      condition_types)

    def forward(self, x: Tensor, mask: Tensor, cond: Tensor | None,
                isolate_padding: bool = False) -> Tensor:
        maskf = mask.to(x.dtype)
        x = self.dec_attn(x, mask, cond) * maskf
        inner_mask = maskf if isolate_padding else None
        out: Tensor = self.pos_ff(x, cond, inner_mask) * maskf
        return out


class FFTransformer(nn.Module):
    """A stack of :class:`TransformerLayer` over ``[batch, time, d_model]`` inputs, with sinusoid
    positions added on valid positions and optional conditioning (see the module docstring).

    With ``n_embed`` it also owns the symbol embedding (``word_emb``) used by the encoder.
    """

    def __init__(self, n_layer: int, n_head: int, d_model: int, d_head: int, d_inner: int,
                 kernel_size: tuple[int, int], dropout: float = 0.0, dropatt: float = 0.0,
                 dropemb: float = 0.0, pre_lnorm: bool = False,
                 condition_types: Sequence[str] = (), n_embed: int | None = None,
                 padding_idx: int | None = None) -> None:
        super().__init__()
        condition_types = check_condition_types(condition_types)
        self.d_model = d_model
        if n_embed is not None:
            self.word_emb = nn.Embedding(n_embed, d_model, padding_idx=padding_idx)
        self.cond_input = ConditionalInput(d_model, d_model, condition_types)
        self.drop = nn.Dropout(dropemb)
        self.layers = nn.ModuleList(
            TransformerLayer(n_head, d_model, d_head, d_inner, kernel_size, dropout, dropatt,
                             pre_lnorm, condition_types)
            for _ in range(n_layer)
        )

    def forward(self, x: Tensor, mask: Tensor, cond: Tensor | None = None,
                isolate_padding: bool = False) -> Tensor:
        """With ``isolate_padding`` the hidden activations of the feed-forward convolutions are
        zeroed on padded positions too, so that valid positions get exactly what an unpadded
        sequence gives (the references leave them, which lets padding reach the last valid
        positions of a padded row)."""
        pos = sinusoid_positions(x.shape[1], self.d_model, x.device).to(x.dtype)
        x = x + pos[None] * mask.to(x.dtype)
        x = self.drop(self.cond_input(x, cond))
        for layer in self.layers:
            x = layer(x, mask, cond, isolate_padding)
        return x
