"""The kernel profile's timeline arithmetic (benches/kernel_profile.py) on made-up GPU events."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest


def _module() -> Any:
    path = Path(__file__).parent.parent / "benches" / "kernel_profile.py"
    spec = importlib.util.spec_from_file_location("kernel_profile", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_busy_spans_merge_kernels_closer_than_the_join() -> None:
    kp = _module()
    events = [(30.0, 40.0, "c"), (0.0, 10.0, "a"), (12.0, 20.0, "b"), (100.0, 101.0, "copy")]
    assert kp.busy_spans(events) == [(0.0, 20.0, 2, "a"), (30.0, 40.0, 1, "c"),
                                     (100.0, 101.0, 1, "copy")]
    assert kp.busy_spans(events, join_us=15.0) == [(0.0, 40.0, 3, "a"),
                                                   (100.0, 101.0, 1, "copy")]
    # A kernel inside a longer one (another stream) does not end the span early.
    assert kp.busy_spans([(0.0, 50.0, "long"), (5.0, 10.0, "short"), (52.0, 60.0, "next")]) == [
        (0.0, 60.0, 3, "long")]


def test_call_timelines_split_events_by_call() -> None:
    kp = _module()
    events = [(10.0, 110.0, "enc0"), (111.0, 300.0, "enc1"), (400.0, 401.0, "copy"),
              (500.0, 2500.0, "dec0"), (2502.0, 2900.0, "dec1"),
              (3010.0, 3110.0, "enc0"), (3111.0, 3300.0, "enc1")]
    calls = [(0.0, 3000.0), (3000.0, 3400.0)]
    first, second = kp.call_timelines(events, calls)
    assert first["wall_ms"] == pytest.approx(3.0)
    assert first["gpu_busy_ms"] == pytest.approx((290 + 1 + 2400) / 1e3)
    assert [(s["events"], s["first"]) for s in first["spans"]] == [(2, "enc0"), (2, "dec0")]
    assert first["spans"][1]["ms"] == pytest.approx(2.4)
    assert second["wall_ms"] == pytest.approx(0.4)
    assert second["gpu_busy_ms"] == pytest.approx(0.29)
    assert kp.call_timelines([], [(0.0, 1.0)]) == [
        {"wall_ms": pytest.approx(1e-3), "gpu_busy_ms": 0, "spans": []}]
