"""The server's batcher with a stand-in engine: the batching window is used only while requests
come together, batches stay within max_batch, failures stay with their request."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from fastpitch_tpu.audio import Audio
from fastpitch_tpu.engine import SynthesisOptions
from fastpitch_tpu.server.batcher import Batcher


class StandIn:
    sample_rate = 22050

    def __init__(self) -> None:
        self.batches: list[int] = []
        self.release = threading.Event()
        self.release.set()

    def warmup(self, progress: bool = False) -> int:
        return 0

    def synthesize_requests(self, requests: list[tuple[str, Any]]) -> list[Any]:
        self.release.wait()
        self.batches.append(len(requests))
        return [ValueError("bad") if text == "bad" else Audio(np.zeros(10, np.float32), 22050)
                for text, _ in requests]


@pytest.fixture
def stand_in() -> StandIn:
    return StandIn()


def _batcher(synth: StandIn, wait_ms: float, max_batch: int = 4) -> Batcher:
    b = Batcher(synth, max_batch=max_batch, max_wait_ms=wait_ms,  # type: ignore[arg-type]
                max_queue=64)
    b.start()
    return b


def test_a_lone_request_after_a_lone_batch_does_not_wait(stand_in: StandIn) -> None:
    b = _batcher(stand_in, wait_ms=3000)
    try:
        # The first batch may wait (nothing is known yet); it turns out to be alone.
        b.submit("one", SynthesisOptions()).future.result(10)
        t0 = time.monotonic()
        b.submit("two", SynthesisOptions()).future.result(10)
        assert time.monotonic() - t0 < 1.5  # far below the 3 s window
        assert stand_in.batches[-1] == 1
    finally:
        b.stop(10)


def test_requests_that_come_together_are_batched(stand_in: StandIn) -> None:
    b = _batcher(stand_in, wait_ms=200, max_batch=4)
    try:
        stand_in.release.clear()  # the device is busy: requests queue up
        jobs = [b.submit(f"text {i}", SynthesisOptions()) for i in range(10)]
        stand_in.release.set()
        for job in jobs:
            assert isinstance(job.future.result(10), Audio)
        assert sum(stand_in.batches) == 10
        assert max(stand_in.batches) == 4
        assert len(stand_in.batches) <= 4  # 4 + 4 + 2, plus at most the first lone one
    finally:
        b.stop(10)


def test_a_failing_request_fails_alone(stand_in: StandIn) -> None:
    b = _batcher(stand_in, wait_ms=50)
    try:
        stand_in.release.clear()
        good, bad = (b.submit(t, SynthesisOptions()) for t in ("fine", "bad"))
        stand_in.release.set()
        assert isinstance(good.future.result(10), Audio)
        with pytest.raises(ValueError):
            bad.future.result(10)
    finally:
        b.stop(10)
