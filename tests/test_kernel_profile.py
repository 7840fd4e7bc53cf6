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


def test_the_call_annotation_on_the_gpu_timeline_is_not_gpu_work() -> None:
    """PyTorch's profiler mirrors a ``record_function`` span onto the GPU's timeline, as long as
    the work under it: counted as a kernel it merged a call's busy spans into one."""
    from types import SimpleNamespace as Ev

    kp = _module()
    cpu, cuda = "cpu", "cuda"

    def ev(name: str, device: str, start: float, end: float, **kw: Any) -> Any:
        return Ev(name=name, device_type=device, time_range=Ev(start=start, end=end),
                  device_time=end - start, cpu_time=end - start, **kw)

    events = [
        ev("engine call", cpu, 0.0, 3000.0),
        ev("engine call", cuda, 10.0, 2900.0, is_user_annotation=True),
        ev("enc", cuda, 10.0, 300.0),
        ev("dec", cuda, 500.0, 2900.0),
        ev("cudaGraphLaunch", cpu, 400.0, 450.0),
        ev("aten::copy_", cpu, 1.0, 2.0),
    ]
    lines, gpu, calls = kp.split_torch_events(events, cuda)
    assert calls == [(0.0, 3000.0)]
    assert sorted(name for _, _, name in gpu) == ["dec", "enc"]
    assert set(lines["CUDA kernels"]) == {"enc", "dec"}
    assert lines["host launches"]["cudaGraphLaunch"] == [50.0 * 1e3, 1]
    timeline, = kp.call_timelines(gpu, calls)
    assert timeline["gpu_busy_ms"] == pytest.approx(2.69)
    assert len(timeline["spans"]) == 0  # two single-event spans (a stage each), not one
    # Older profilers without the flag: the annotation is recognised by its name.
    old = [ev("engine call", cuda, 10.0, 2900.0), ev("enc", cuda, 10.0, 300.0)]
    assert [name for _, _, name in kp.split_torch_events(old, cuda)[1]] == ["enc"]


def test_kernel_kinds() -> None:
    kp = _module()
    assert kp.kind("triton_poi_fused__to_copy_add_arange_clamp_convolution_div_leaky_relu_lt_mul"
                   "_select_unsqueeze_view_23") == "fused element-wise"
    assert kp.kind("triton_red_fused__softmax_arange_bitwise_not_clamp_exp_lt_masked_fill") == (
        "reduction")
    assert kp.kind("sm90_xmma_fprop_implicit_gemm_bf16bf16_bf16f32_f32_nhwckrsc_nhwc_tilesize128"
                   "x128x64_warpgroupsize1x1x1_g1_exec") == "convolution"
    assert kp.kind("void cutlass__5x_cudnn::Kernel<cutlass_tensorop_bf16_s16816fprop_optimized_"
                   "bf16_128x128_32x5_nhwc_align8>") == "convolution"
    assert kp.kind("nvjet_sm90_tst_64x48_64x15_2x4_h_bz_bias_TNT") == "matrix product"
    assert kp.kind("Memcpy HtoD (Pageable -> Device)") == "copy / transpose"
    assert kp.kind("loop_add_fusion") == "fused element-wise"
