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
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import NDArray
from torch import Tensor, nn

__all__ = [
    "AlignmentEncoder",
    "batch_beta_binomial_prior",
    "beta_binomial_prior",
    "binarization_loss",
    "durations_from_alignment",
    "forward_sum_loss",
    "hard_alignment",
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


def batch_beta_binomial_prior(text_lengths: Tensor, mel_lengths: Tensor, n_tokens: int,
                              n_frames: int, scaling: float = 1.0) -> Tensor:
    """:func:`beta_binomial_prior` of every item of a padded batch at once, on the lengths'
    device: ``[B, n_frames, n_tokens]``, each item's prior in its top-left corner, zero
    elsewhere."""
    dev = text_lengths.device
    big_n = text_lengths.to(dev, torch.float64)[:, None, None]          # [B, 1, 1]
    big_m = mel_lengths.to(dev, torch.float64)[:, None, None]
    n = torch.arange(n_tokens, dtype=torch.float64, device=dev)[None, None, :]
    i = torch.arange(1, n_frames + 1, dtype=torch.float64, device=dev)[None, :, None]
    valid = (n < big_n) & (i <= big_m)
    a = scaling * i
    b = (scaling * (big_m + 1 - i)).clamp(min=scaling)  # positive also past the item's frames
    k = torch.minimum(n, big_n)                          # keeps lgamma's arguments positive

    def log_beta(x: Tensor, y: Tensor) -> Tensor:
        return torch.lgamma(x) + torch.lgamma(y) - torch.lgamma(x + y)

    log_choose = torch.lgamma(big_n + 1) - torch.lgamma(k + 1) - torch.lgamma(big_n - k + 1)
    log_pmf = log_choose + log_beta(k + a, big_n - k + b) - log_beta(a, b)
    return torch.where(valid, log_pmf.exp(), torch.zeros((), dtype=torch.float64,
                                                         device=dev)).float()


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
        # Squared distances |q|^2 + |k|^2 - 2 q.k, in float32 (cancellation would ruin them in
        # bf16), -temperature scaled: [B, T, N].
        with torch.autocast(mel.device.type, enabled=False):
            q = queries.float().transpose(1, 2)
            k = keys.float()
            dist = (q.pow(2).sum(-1, keepdim=True) + k.pow(2).sum(1, keepdim=True)
                    - 2.0 * torch.bmm(q, k)).clamp(min=0.0)
            scores = -self.temperature * dist
        log_prob = F.log_softmax(scores, dim=2)
        if prior is not None:
            log_prob = log_prob + torch.log(prior + 1e-8)
        masked = log_prob.masked_fill(~text_mask[:, None, :], -float("inf"))
        soft = torch.softmax(masked, dim=2)
        return soft[:, None], log_prob[:, None]


def forward_sum_loss(log_prob: Tensor, text_lengths: Tensor, mel_lengths: Tensor,
                     blank_logprob: float = -1.0) -> Tensor:
    """Mean over the batch of the CTC loss of the soft alignment (per item divided by its number
    of symbols): each frame emits a symbol, the symbols in order, every symbol at least once (a
    blank column makes it a CTC problem). One batched CTC call; columns past an item's symbols
    get a log-probability so low that they take no probability mass."""
    scores = F.pad(log_prob.squeeze(1).float(), (1, 0), value=blank_logprob)  # [B, T, N + 1]
    batch, _, classes = scores.shape
    column = torch.arange(classes, device=scores.device)
    lengths = text_lengths.to(scores.device)
    scores = scores.masked_fill(column[None, None, :] > lengths[:, None, None], -1e4)
    targets = column[1:].expand(batch, classes - 1)
    return F.ctc_loss(F.log_softmax(scores, dim=-1).transpose(0, 1), targets,
                      input_lengths=mel_lengths.to(scores.device), target_lengths=lengths,
                      reduction="mean", zero_infinity=True)


def monotonic_alignment(log_prob: NDArray[np.float32], text_lengths: NDArray[np.int64],
                        mel_lengths: NDArray[np.int64]) -> NDArray[np.float32]:
    """Most likely monotonic path (every frame one symbol, symbols in order, each at least one
    frame, starting at the first and ending at the last): ``[B, T, N]`` of 0/1.

    ``log_prob`` ``[B, T, N]``; a frame advances by at most one symbol; on a tie the path stays
    on its symbol. Compiled with numba (items in parallel) when it is installed, else a dynamic
    programme over the whole batch at once, frame by frame, in numpy; both give the same paths.
    """
    t_lens = np.asarray(mel_lengths, np.int64)
    n_lens = np.asarray(text_lengths, np.int64)
    for b in range(log_prob.shape[0]):
        if t_lens[b] < n_lens[b] or n_lens[b] == 0:
            raise ValueError(f"item {b}: {t_lens[b]} frames cannot cover {n_lens[b]} symbols")
        if t_lens[b] > log_prob.shape[1] or n_lens[b] > log_prob.shape[2]:
            raise ValueError(f"item {b}: lengths beyond the {log_prob.shape[1:]} scores")
    compiled = _compiled_alignment()
    if compiled is not None:
        out = np.zeros(log_prob.shape, dtype=np.float32)
        compiled(np.ascontiguousarray(log_prob, dtype=np.float32), t_lens, n_lens, out)
        return out
    return _alignment_numpy(log_prob, t_lens, n_lens)


def _alignment_numpy(log_prob: NDArray[np.float32], t_lens: NDArray[np.int64],
                     n_lens: NDArray[np.int64]) -> NDArray[np.float32]:
    batch, frames, tokens = log_prob.shape
    lp = np.where(np.arange(tokens)[None, None, :] < n_lens[:, None, None],
                  log_prob.astype(np.float64), -np.inf)
    score = np.full((batch, tokens), -np.inf)
    score[:, 0] = lp[:, 0, 0]
    move = np.full((batch, tokens), -np.inf)
    came_from_prev = np.zeros((batch, frames, tokens), dtype=bool)
    for t in range(1, frames):
        move[:, 1:] = score[:, :-1]
        np.greater(move, score, out=came_from_prev[:, t])
        np.maximum(score, move, out=score)
        score += lp[:, t]
    out = np.zeros((batch, frames, tokens), dtype=np.float32)
    items = np.arange(batch)
    n = n_lens - 1
    for t in range(frames - 1, -1, -1):
        active = t < t_lens
        out[items[active], t, n[active]] = 1.0
        if t > 0:
            n = n - (active & came_from_prev[items, t, n])
    return out


_COMPILED: list[Any] = []


def _compiled_alignment() -> Any:
    """The numba version of the dynamic programme (compiled on first use), or None."""
    if not _COMPILED:
        try:
            import numba
        except ImportError:
            _COMPILED.append(None)
        else:
            _COMPILED.append(numba.njit(parallel=True, cache=False)(
                _alignment_kernel(numba.prange)))
    return _COMPILED[0]


def _alignment_kernel(prange: Any) -> Any:
    def kernel(lp: Any, t_lens: Any, n_lens: Any, out: Any) -> None:  # pragma: no cover
        for b in prange(lp.shape[0]):
            frames, tokens = t_lens[b], n_lens[b]
            score = np.full(tokens, -np.inf)
            came_from_prev = np.zeros((frames, tokens), dtype=np.bool_)
            score[0] = lp[b, 0, 0]
            for t in range(1, frames):
                for n in range(tokens - 1, -1, -1):
                    stay = score[n]
                    move = score[n - 1] if n > 0 else -np.inf
                    if move > stay:
                        came_from_prev[t, n] = True
                        score[n] = move + lp[b, t, n]
                    else:
                        score[n] = stay + lp[b, t, n]
            n = tokens - 1
            for t in range(frames - 1, -1, -1):
                out[b, t, n] = 1.0
                if t > 0 and came_from_prev[t, n]:
                    n -= 1

    return kernel


@torch.no_grad()
def hard_alignment(soft: Tensor, text_lengths: Tensor, mel_lengths: Tensor) -> Tensor:
    """The most likely monotonic path (:func:`monotonic_alignment`) through a soft alignment
    ``[B, 1, T, N]``: ``[B, T, N]`` of 0/1 on ``soft``'s device."""
    log_soft = torch.log(soft.squeeze(1).float().clamp(min=1e-12)).cpu().numpy()
    hard = monotonic_alignment(log_soft, text_lengths.cpu().numpy(), mel_lengths.cpu().numpy())
    return torch.from_numpy(hard).to(soft.device)


def durations_from_alignment(hard: Tensor) -> Tensor:
    """Frames per symbol ``[B, N]`` from a hard alignment ``[B, (1,) T, N]``."""
    if hard.dim() == 4:
        hard = hard.squeeze(1)
    return hard.sum(dim=1)


def binarization_loss(hard: Tensor, soft: Tensor) -> Tensor:
    """Pulls the soft alignment towards the hard one: mean of ``-log soft`` on the hard path."""
    on_path = soft[hard == 1].clamp(min=1e-12)
    return -torch.log(on_path).sum() / hard.sum().clamp(min=1)
