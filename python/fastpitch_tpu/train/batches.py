"""Training batches: utterances padded into a :class:`~fastpitch_tpu.train.step.Batch`, and the
endless length-bucketed stream of them that DataLoader workers make."""

from __future__ import annotations

import random
from collections.abc import Iterator

import numpy as np
import torch

from fastpitch_tpu.train.dataset import DatasetInfo, Utterance
from fastpitch_tpu.train.step import Batch

__all__ = ["BatchStream", "collate", "length_bucketed_batches"]


def collate(items: list[Utterance], info: DatasetInfo, mean: float, std: float) -> Batch:
    b = len(items)
    n = max(len(u.ids) for u in items)
    t = max(u.mel.shape[1] for u in items)
    ids = np.full((b, n), info.padding_idx, np.int64)
    mel = np.zeros((b, items[0].mel.shape[0], t), np.float32)
    pitch = np.zeros((b, t), np.float32)
    voiced = np.zeros((b, t), bool)
    energy = np.zeros((b, t), np.float32)
    for i, u in enumerate(items):
        k, f = len(u.ids), u.mel.shape[1]
        ids[i, :k] = u.ids
        mel[i, :, :f] = u.mel
        v = u.pitch_hz > 0
        voiced[i, :f] = v
        pitch[i, :f] = np.where(v, (u.pitch_hz - mean) / std, 0.0)
        energy[i, :f] = np.log1p(u.energy)
    return Batch(
        ids=torch.from_numpy(ids),
        text_lengths=torch.tensor([len(u.ids) for u in items]),
        mel=torch.from_numpy(mel),
        mel_lengths=torch.tensor([u.mel.shape[1] for u in items]),
        pitch=torch.from_numpy(pitch), voiced=torch.from_numpy(voiced),
        energy=torch.from_numpy(energy),
    )


def length_bucketed_batches(items: list[Utterance], batch_size: int, rng: random.Random
             ) -> Iterator[list[Utterance]]:
    """Endless length-bucketed batches: sort by length, cut into batches, shuffle the batches."""
    while True:
        order = sorted(range(len(items)), key=lambda i: (items[i].mel.shape[1], rng.random()))
        groups = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
        rng.shuffle(groups)
        for g in groups:
            yield [items[i] for i in g]


class BatchStream(torch.utils.data.IterableDataset[Batch]):
    """Collated training batches, made in DataLoader worker processes (padding) while
    the device trains; worker ``i`` of ``k`` makes every ``k``-th batch of one shared order."""

    def __init__(self, items: list[Utterance], info: DatasetInfo, batch_size: int,
                 seed: int) -> None:
        self.items = items
        self.info = info
        self.batch_size = batch_size
        self.seed = seed

    def __iter__(self) -> Iterator[Batch]:
        worker = torch.utils.data.get_worker_info()
        index, count = (worker.id, worker.num_workers) if worker is not None else (0, 1)
        for n, group in enumerate(length_bucketed_batches(self.items, self.batch_size,
                                                          random.Random(self.seed))):
            if n % count == index:
                yield collate(group, self.info, self.info.pitch_mean, self.info.pitch_std)
