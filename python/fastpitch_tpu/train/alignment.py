"""Learned text-to-mel alignment for training FastPitch without external durations.

This is the unsupervised alignment of FastPitch 1.1 / RAD-TTS ("One TTS Alignment To Rule Them
All", Badlani et al., 2021): a small convolutional attention scores every (mel frame, symbol)
pair by a scaled squared distance between projections of the mel frame and of the symbol
embedding; a beta-binomial prior favours the diagonal; a CTC-style forward-sum loss makes the
soft alignment monotonic; the hard alignment (the most likely monotonic path, found by dynamic
programming) gives each symbol its number of frames, and a binarization loss pulls the soft
alignment towards it.

All functions take padded batches with explicit lengths; nothing here depends on a backend.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor, nn

__all__ = [
    "AlignmentEncoder",
    "beta_binomial_prior",
    "binarization_loss",
    "durations_from_alignment",
    "forward_sum_loss",
    "monotonic_alignment",
]


def beta_binomial_prior(n_tokens: int, n_frames: int, scaling: float = 1.0) -> Tensor:
    """``[n_frames, n_tokens]`` prior: frame ``i`` (1-based) of ``M`` follows a beta-binomial
    distribution over the ``N`` tokens with ``a = scaling * i`` and ``b = scaling * (M + 1 - i)``
    (its support ``0..N`` cut to ``0..N-1``), so that early frames favour early tokens."""
    n = torch.arange(n_tokens, dtype=torch.float64)
    i = torch.arange(1, n_frames + 1, dtype=torch.float64)[:, None]
    a = scaling * i
    b = scaling * (n_frames + 1 - i)
    big_n = float(n_tokens)

    def log_beta(x: Tensor, y: Tensor) -> Tensor:
        return torch.lgamma(x) + torch.lgamma(y) - torch.lgamma(x + y)

    log_choose = (math.lgamma(big_n + 1) - torch.lgamma(n + 1) - torch.lgamma(big_n - n + 1))
    log_pmf = log_choose[None, :] + log_beta(n[None, :] + a, big_n - n[None, :] + b) \
        - log_beta(a, b)
    return log_pmf.exp().float()


def _conv(c_in: int, c_out: int, kernel: int) -> nn.Conv1d:
    conv = nn.Conv1d(c_in, c_out, kernel, padding=kernel // 2)
    nn.init.xavier_uniform_(conv.weight, gain=nn.init.calculate_gain("linear"))
    return conv


class AlignmentEncoder(nn.Module):
    """Soft alignment between mel frames and symbols.

    ``forward(mel [B, n_mels, T], text_emb [B, d, N], text_mask [B, N] (True on symbols),
    prior [B, T, N])`` returns ``(soft [B, 1, T, N], log_prob [B, 1, T, N])``: ``log_prob`` is
    the per-frame log-softmax over symbols plus the log prior (before masking), ``soft`` its
    softmax over the real symbols.
    """

    def __init__(self, n_mels: int = 80, n_text: int = 384, n_att: int = 80,
                 temperature: float = 0.0005) -> None:
        super().__init__()
        self.temperature = temperature
        self.key_proj = nn.Sequential(_conv(n_text, 2 * n_text, 3), nn.ReLU(),
                                      _conv(2 * n_text, n_att, 1))
        self.query_proj = nn.Sequential(_conv(n_mels, 2 * n_mels, 3), nn.ReLU(),
                                        _conv(2 * n_mels, n_mels, 1), nn.ReLU(),
                                        _conv(n_mels, n_att, 1))

    def forward(self, mel: Tensor, text_emb: Tensor, text_mask: Tensor,
                prior: Tensor | None = None) -> tuple[Tensor, Tensor]:
        keys = self.key_proj(text_emb)      # [B, C, N]
        queries = self.query_proj(mel)      # [B, C, T]
        # Squared distances, -temperature scaled: [B, T, N].
        dist = (queries.transpose(1, 2)[:, :, None, :] - keys.transpose(1, 2)[:, None, :, :])
        scores = -self.temperature * dist.pow(2).sum(-1)
        log_prob = F.log_softmax(scores, dim=2)
        if prior is not None:
            log_prob = log_prob + torch.log(prior + 1e-8)
        masked = log_prob.masked_fill(~text_mask[:, None, :], -float("inf"))
        soft = torch.softmax(masked, dim=2)
        return soft[:, None], log_prob[:, None]


def forward_sum_loss(log_prob: Tensor, text_lengths: Tensor, mel_lengths: Tensor,
                     blank_logprob: float = -1.0) -> Tensor:
    """Mean over the batch of the CTC loss of the soft alignment: each frame emits a symbol,
    the symbols in order, every symbol at least once (a blank column makes it a CTC problem)."""
    padded = F.pad(log_prob.squeeze(1), (1, 0), value=blank_logprob)  # [B, T, N + 1]
    total = log_prob.new_zeros(())
    batch = log_prob.shape[0]
    for b in range(batch):
        n, t = int(text_lengths[b]), int(mel_lengths[b])
        target = torch.arange(1, n + 1, device=log_prob.device)[None]
        item = F.log_softmax(padded[b, :t, : n + 1], dim=-1)[:, None]  # [T, 1, N + 1]
        total = total + F.ctc_loss(item, target, input_lengths=torch.tensor([t]),
                                   target_lengths=torch.tensor([n]), zero_infinity=True)
    return total / batch


def monotonic_alignment(log_prob: NDArray[np.float32], text_lengths: NDArray[np.int64],
                        mel_lengths: NDArray[np.int64]) -> NDArray[np.float32]:
    """Most likely monotonic path (every frame one symbol, symbols in order, each at least one
    frame, starting at the first and ending at the last): ``[B, T, N]`` of 0/1.

    ``log_prob`` ``[B, T, N]``; a frame advances by at most one symbol. The dynamic programme
    runs over the whole batch at once, frame by frame.
    """
    batch, frames, tokens = log_prob.shape
    t_lens = np.asarray(mel_lengths, np.int64)
    n_lens = np.asarray(text_lengths, np.int64)
    for b in range(batch):
        if t_lens[b] < n_lens[b] or n_lens[b] == 0:
            raise ValueError(f"item {b}: {t_lens[b]} frames cannot cover {n_lens[b]} symbols")
    lp = log_prob.astype(np.float64)
    lp = np.where(np.arange(tokens)[None, None, :] < n_lens[:, None, None], lp, -np.inf)
    score = np.full((batch, tokens), -np.inf)
    score[:, 0] = lp[:, 0, 0]
    came_from_prev = np.zeros((batch, frames, tokens), dtype=bool)
    blocked = np.full((batch, 1), -np.inf)
    for t in range(1, frames):
        move = np.concatenate([blocked, score[:, :-1]], axis=1)
        came_from_prev[:, t] = move > score
        score = np.maximum(score, move) + lp[:, t]
    out = np.zeros((batch, frames, tokens), dtype=np.float32)
    for b in range(batch):
        n = int(n_lens[b]) - 1
        prev = came_from_prev[b]
        for t in range(int(t_lens[b]) - 1, -1, -1):
            out[b, t, n] = 1.0
            if t > 0 and prev[t, n]:
                n -= 1
    return out


def durations_from_alignment(hard: Tensor) -> Tensor:
    """Frames per symbol ``[B, N]`` from a hard alignment ``[B, (1,) T, N]``."""
    if hard.dim() == 4:
        hard = hard.squeeze(1)
    return hard.sum(dim=1)


def binarization_loss(hard: Tensor, soft: Tensor) -> Tensor:
    """Pulls the soft alignment towards the hard one: mean of ``-log soft`` on the hard path."""
    on_path = soft[hard == 1].clamp(min=1e-12)
    return -torch.log(on_path).sum() / hard.sum().clamp(min=1)
