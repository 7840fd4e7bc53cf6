"""The server's batcher with a stand-in engine: the batching window is used only while requests
come together, batches stay within max_batch, failures stay with their request; admission
learns the device's pace (on a fake clock) and refuses at once what would be late."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from fastpitch_tpu.audio import Audio
from fastpitch_tpu.engine import SynthesisOptions
from fastpitch_tpu.server.batcher import Batcher, DeadlineUnmet, QueueFull


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


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Paced(StandIn):
    """Each batch moves a fake clock on by 0.01 s per character (the device's pace)."""

    def __init__(self, clock: FakeClock) -> None:
        super().__init__()
        self.clock = clock

    def synthesize_requests(self, requests: list[tuple[str, Any]]) -> list[Any]:
        self.clock.now += 0.01 * sum(len(text) for text, _ in requests if text != "bad")
        return super().synthesize_requests(requests)


def _paced_batcher(max_queue: int = 64) -> tuple[Batcher, Paced, FakeClock]:
    clock = FakeClock()
    synth = Paced(clock)
    b = Batcher(synth, max_batch=2, max_wait_ms=0, max_queue=max_queue)  # type: ignore[arg-type]
    b.clock = clock
    b.start()
    return b, synth, clock


def test_admission_learns_the_pace_and_refuses_what_would_be_late() -> None:
    b, synth, clock = _paced_batcher()
    try:
        for text in ("x" * 100, "y" * 300, "z" * 200):  # 1 s, 3 s, 2 s of fake device time
            b.submit(text, SynthesisOptions(), deadline=clock() + 60).future.result(10)
        assert b.admission.estimate.batch_seconds(100) == pytest.approx(1.0)
        synth.release.clear()  # the device is busy from here on
        held = [b.submit("w" * 100, SynthesisOptions()) for _ in range(10)]  # 10 s of work
        with pytest.raises(DeadlineUnmet) as refused:
            b.submit("v" * 100, SynthesisOptions(), deadline=clock() + 5)
        assert 1 <= refused.value.retry_after <= 11
        assert b.in_flight == 10  # the refused job was not queued
        late_ok = b.submit("v" * 100, SynthesisOptions(), deadline=clock() + 60)
        unchecked = b.submit("u" * 100, SynthesisOptions())  # no deadline: queue limit only
        synth.release.set()
        for job in [*held, late_ok, unchecked]:
            assert isinstance(job.future.result(10), Audio)
    finally:
        synth.release.set()
        b.stop(10)


def test_failed_requests_do_not_count_as_device_work() -> None:
    b, synth, clock = _paced_batcher()
    try:
        b.submit("x" * 100, SynthesisOptions()).future.result(10)
        with pytest.raises(ValueError):
            b.submit("bad", SynthesisOptions()).future.result(10)
        assert b.admission.estimate.batches == 1
    finally:
        b.stop(10)


def test_several_texts_are_queued_together_or_not_at_all() -> None:
    b, synth, clock = _paced_batcher(max_queue=3)
    try:
        synth.release.clear()
        first = b.submit("a", SynthesisOptions())
        with pytest.raises(QueueFull) as full:
            b.submit_many(["b", "c", "d", "e"], SynthesisOptions())
        assert full.value.retry_after >= 1
        jobs = b.submit_many(["b", "c"], SynthesisOptions())
        assert len(jobs) == 2 and b.in_flight == 3
        synth.release.set()
        assert all(isinstance(j.future.result(10), Audio) for j in [first, *jobs])
    finally:
        synth.release.set()
        b.stop(10)
