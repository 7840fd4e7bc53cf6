"""The compiled PyTorch backend's process-wide settings: cuDNN's benchmark mode only while a GPU
shape compiles or runs uncaptured, put back after the last user (device threads overlap); Dynamo's
recompile limits raised so every static shape compiles."""

from __future__ import annotations

import threading

import pytest

torch = pytest.importorskip("torch")

from fastpitch_tpu.backends import torch_backend  # noqa: E402
from fastpitch_tpu.backends.torch_backend import _allow_recompiles, _cudnn_benchmark  # noqa: E402

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


def _graphs_compiled(shapes: int, allow: bool) -> int:
    """Unique graphs Dynamo compiles for ``shapes`` static shapes of one fresh function."""
    from torch._dynamo.utils import counters

    def stage(x: torch.Tensor) -> torch.Tensor:
        return x * 2 + 1

    torch._dynamo.reset()  # every call: a fresh cache for the one code object
    compiled = torch.compile(stage, dynamic=False, backend="eager")
    before = counters["stats"]["unique_graphs"]
    for n in range(2, 2 + shapes):
        if allow:
            _allow_recompiles("decode")
        assert torch.equal(compiled(torch.ones(n)), torch.full((n,), 3.0))
    return int(counters["stats"]["unique_graphs"] - before)


def test_every_static_shape_compiles(monkeypatch: pytest.MonkeyPatch) -> None:
    """Past Dynamo's recompile limit (8) a function runs eagerly without a word; the backend
    raises the limits before each new shape (the default buckets have 63 decode shapes)."""
    import torch._dynamo.config as dynamo

    monkeypatch.setattr(torch_backend, "_shapes_per_stage", {})
    with dynamo.patch(recompile_limit=8, accumulated_recompile_limit=256):
        assert _graphs_compiled(20, allow=False) == 8  # the premise: the limit bites
        assert _graphs_compiled(20, allow=True) == 20
        assert dynamo.recompile_limit == 20
        _allow_recompiles("encode")
        assert dynamo.recompile_limit == 20  # per stage, never lowered
        assert dynamo.accumulated_recompile_limit == 256  # 21 shapes in all: room already


def test_recompile_limits_are_never_lowered(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch._dynamo.config as dynamo

    monkeypatch.setattr(torch_backend, "_shapes_per_stage", {"decode": 5})
    with dynamo.patch(recompile_limit=64, accumulated_recompile_limit=4):
        _allow_recompiles("decode")
        assert (dynamo.recompile_limit, dynamo.accumulated_recompile_limit) == (64, 6)
