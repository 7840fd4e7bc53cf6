"""The compiled PyTorch backend's cuDNN setting: benchmark mode only while a GPU shape compiles or
runs uncaptured, put back after the last user (device threads overlap)."""

from __future__ import annotations

import threading

import pytest

torch = pytest.importorskip("torch")

from fastpitch_tpu.backends.torch_backend import _cudnn_benchmark  # noqa: E402

CUDA = torch.device("cuda")  # the helper only sets a flag: no GPU needed


@pytest.mark.parametrize("before", [False, True])
def test_benchmark_mode_is_put_back(before: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", before)
    with _cudnn_benchmark(CUDA):
        assert torch.backends.cudnn.benchmark is True
        with _cudnn_benchmark(CUDA):
            assert torch.backends.cudnn.benchmark is True
        assert torch.backends.cudnn.benchmark is True  # the outer user is still inside
    assert torch.backends.cudnn.benchmark is before
    with pytest.raises(RuntimeError):
        with _cudnn_benchmark(CUDA):
            raise RuntimeError("a failing compile")
    assert torch.backends.cudnn.benchmark is before


def test_cpu_leaves_the_flag_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    with _cudnn_benchmark(torch.device("cpu")):
        assert torch.backends.cudnn.benchmark is False


def test_overlapping_device_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Thread A enters, thread B enters, A leaves (B still compiling: the flag stays on), B
    leaves (the flag is put back)."""
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()
    seen: list[bool] = []

    def a() -> None:
        with _cudnn_benchmark(CUDA):
            a_in.set()
            b_in.wait(5)
        a_out.set()

    def b() -> None:
        a_in.wait(5)
        with _cudnn_benchmark(CUDA):
            b_in.set()
            a_out.wait(5)
            seen.append(torch.backends.cudnn.benchmark)

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert seen == [True]
    assert torch.backends.cudnn.benchmark is False
