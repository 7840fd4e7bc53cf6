"""Compiling the bucket shapes in the background while requests run: a request whose shape is not
compiled yet runs at once on a compile-free path with the eager reference's audio, the shapes
requests need compile first, the status counts up to the total, a failing compile leaves the
requests working, and the server is ready before anything is compiled.

Most properties use a stand-in compiling backend (eager PyTorch whose "compiles" wait for an
event); the real ``torch_compile`` and jax backends are checked on tiny buckets."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from fastpitch_tpu.backends.torch_backend import TorchBackend  # noqa: E402
from fastpitch_tpu.checkpoints import load_fastpitch, load_hifigan  # noqa: E402
from fastpitch_tpu.engine import Buckets, CompileStatus, Synthesizer  # noqa: E402
from fastpitch_tpu.engine import replicas as replicas_module  # noqa: E402
from fastpitch_tpu.engine.warmup import Shape, bucket_shapes  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
FASTPITCH = FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt"
HIFIGAN = FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"
BUCKETS = Buckets(tokens=(16, 128), batch=(1, 4), frames=(64, 512))
SHORT = ["Hello world.", "Yes!", "Two three."]  # 1 x 16 tokens, 64 frames each
LONG = "Printing, in the only sense with which we are at present concerned, differs."
"""70 tokens, 411 frames."""


@pytest.fixture(scope="module")
def models() -> tuple[Any, Any]:
    return load_fastpitch(FASTPITCH), load_hifigan(HIFIGAN)


@pytest.fixture(scope="module")
def eager(models: tuple[Any, Any]) -> Synthesizer:
    return Synthesizer(models[0], models[1], backend="torch", dtype="float32",
                       buckets=BUCKETS, cache_dir="")


class GatedBackend(TorchBackend):
    """Eager PyTorch posing as a compiling backend: a shape "compiles" (from abstract shapes)
    only once ``gate`` is set, and fails if it is in ``fail``. Its compiled path notes every
    call of a shape not compiled yet (a request that would have waited for a compile)."""

    name = "gated"
    compiles = True
    gate = threading.Event()
    fail: frozenset[Shape] = frozenset()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.compiled: set[Shape] = set()
        self.order: list[Shape] = []
        self.waited: list[Shape] = []
        self.compiling = threading.Event()

    def is_compiled(self, stage: str, batch: int, size: int) -> bool:
        return Shape(stage, batch, size) in self.compiled

    def compile_only(self, stage: str, batch: int, size: int, max_tokens: int) -> bool:
        shape = Shape(stage, batch, size)
        self.order.append(shape)
        self.compiling.set()
        assert self.gate.wait(60)
        if shape in self.fail:
            raise RuntimeError("no graph for this shape")
        self.compiled.add(shape)
        return True

    def _compiled_path(self, shape: Shape) -> None:
        if shape not in self.compiled:
            self.waited.append(shape)
            self.compiled.add(shape)  # compiled by running it, as a compiling backend does

    def encode(self, ids: Any, *rest: Any) -> Any:
        self._compiled_path(Shape("encode", *ids.shape))
        return super().encode(ids, *rest)

    def decode(self, hidden: Any, reps: Any, speaker: Any, n_frames: int) -> Any:
        self._compiled_path(Shape("decode", len(reps), n_frames))
        return super().decode(hidden, reps, speaker, n_frames)


class SerialBackend(GatedBackend):
    """A compiling backend with no compile-free path that cannot compile while it runs."""

    runs_uncompiled = False


@pytest.fixture
def gated(models: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch
          ) -> Iterator[Callable[..., Synthesizer]]:
    """Makes synthesizers on a fresh gated backend class (closed gate, ``fail`` shapes)."""
    made: list[Synthesizer] = []

    def make(fail: tuple[Shape, ...] = (), kind: type[GatedBackend] = GatedBackend,
             buckets: Buckets = BUCKETS) -> Synthesizer:
        backend = type("Gated", (kind,), {"gate": threading.Event(), "fail": frozenset(fail)})
        monkeypatch.setattr(replicas_module, "create_backend",
                            lambda name, source, **kw: backend(source, **kw))
        synth = Synthesizer(models[0], models[1], backend="gated", dtype="float32",
                            buckets=buckets, cache_dir="")
        made.append(synth)
        return synth

    yield make
    for synth in made:
        type(synth.backend).gate.set()  # type: ignore[attr-defined]
        assert synth.stop_compiling(timeout=30)


def within(seconds: float, fn: Callable[[], Any]) -> Any:
    """``fn()`` run on a thread, failing the test unless it is done within ``seconds``."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(fn()), daemon=True)
    thread.start()
    thread.join(seconds)
    assert result, f"still running after {seconds} s: it waited for a compile"
    return result[0]


def settled(synth: Synthesizer) -> CompileStatus:
    """The status once the background compilation has nothing left to do."""
    deadline = time.monotonic() + 60
    while not (status := synth.compile_status()).done:
        assert time.monotonic() < deadline, status
        time.sleep(0.01)
    return status


def assert_same_audio(got: list[Any], ref: list[Any], tolerance: float) -> None:
    assert [len(a) for a in got] == [len(r) for r in ref]
    for a, r in zip(got, ref):
        assert np.abs(a.samples - r.samples).max() <= tolerance


def test_requests_never_wait_for_a_compile(gated: Callable[..., Synthesizer],
                                           eager: Synthesizer) -> None:
    synth = gated()
    backend: Any = synth.backend
    status = synth.compile_in_background()
    assert status.total == len(bucket_shapes(BUCKETS)) and status.compiled == 0
    assert status.serves_uncompiled and status.running and not status.done
    assert backend.compiling.wait(10)  # the compile thread is inside its first shape
    texts = [*SHORT, LONG]
    got = within(60, lambda: [synth.synthesize(t) for t in texts] + synth.synthesize(
        texts) + [b"".join(a.to_pcm16_bytes() for a in synth.synthesize_stream("One. Two."))])
    assert backend.waited == []
    assert len(backend.order) == 1  # nothing compiled meanwhile
    ref = [eager.synthesize(t) for t in texts]
    assert_same_audio(got[:4], ref, 1e-5)
    assert_same_audio(got[4:8], ref, 1e-5)
    assert got[8] == b"".join(a.to_pcm16_bytes() for a in eager.synthesize_stream("One. Two."))
    status = synth.compile_status()
    assert status.uncompiled_seconds > 0 and status.compiled == 0


def test_the_status_counts_to_the_total_and_compiled_graphs_are_used(
        gated: Callable[..., Synthesizer], eager: Synthesizer) -> None:
    synth = gated()
    backend: Any = synth.backend
    synth.compile_in_background()
    type(backend).gate.set()
    assert synth.warmup(progress=False) == 0  # waits for the background: nothing left
    status = synth.compile_status()
    total = len(bucket_shapes(BUCKETS))
    assert (status.compiled, status.total, status.failed, status.error) == (total, total, 0, None)
    assert status.done and not status.running
    assert sorted(backend.order) == sorted(bucket_shapes(BUCKETS))  # each shape once
    seconds = status.uncompiled_seconds
    got = synth.synthesize(SHORT)
    assert_same_audio(got, [eager.synthesize(t) for t in SHORT], 1e-5)
    assert synth.compile_status().uncompiled_seconds == seconds  # all on the compiled graphs
    assert backend.waited == []
    assert synth.compile_in_background() == synth.compile_status()  # again: nothing new


def test_requested_shapes_compile_first_then_small_before_large(
        gated: Callable[..., Synthesizer]) -> None:
    synth = gated()
    backend: Any = synth.backend
    synth.compile_in_background()
    assert backend.compiling.wait(10)
    first = backend.order[0]
    assert first == Shape("encode", 1, 16)  # the smallest shape, before any request
    synth.synthesize([LONG] * 3)  # batch 4 of 128 tokens: needed twice, by two batches...
    synth.synthesize([LONG] * 4)
    synth.synthesize(LONG)  # ... and batch 1 of 128 tokens, needed once
    type(backend).gate.set()
    assert synth.warmup(progress=False) == 0
    needed_twice = {Shape("encode", 4, 128), Shape("decode", 4, 512)}
    assert set(backend.order[1:3]) == needed_twice
    assert set(backend.order[3:5]) == {Shape("encode", 1, 128), Shape("decode", 1, 512)}
    rest = [s for s in bucket_shapes(BUCKETS) if s not in backend.order[:5]]
    assert backend.order[5:] == rest  # in the plan's order: batch by batch, small first


def test_a_failing_compile_leaves_requests_working(gated: Callable[..., Synthesizer],
                                                   eager: Synthesizer) -> None:
    bad = Shape("decode", 1, 64)
    synth = gated(fail=(bad,))
    backend: Any = synth.backend
    synth.compile_in_background()
    type(backend).gate.set()
    status = settled(synth)
    total = len(bucket_shapes(BUCKETS))
    assert status.done and status.failed == 1 and status.compiled == total - 1
    assert status.error is not None and "decode 1x64" in status.error
    assert "no graph for this shape" in status.error
    got = within(60, lambda: [synth.synthesize(t) for t in SHORT])
    assert_same_audio(got, [eager.synthesize(t) for t in SHORT], 1e-5)
    assert backend.waited == []  # the failed shape runs uncompiled, never compiles in a request
    assert synth.compile_status().uncompiled_seconds > status.uncompiled_seconds
    with pytest.raises(RuntimeError, match="no graph"):
        synth.warmup(progress=False)  # warmup() still means: every shape compiled, or an error


def test_a_shape_outside_the_buckets_runs_uncompiled_and_compiles_next(
        gated: Callable[..., Synthesizer], eager: Synthesizer) -> None:
    buckets = Buckets(tokens=(128,), batch=(1,), frames=(64,), frame_step=128)
    synth = gated(buckets=buckets)
    backend: Any = synth.backend
    synth.compile_in_background()
    type(backend).gate.set()
    assert synth.warmup(progress=False) == 0
    assert synth.compile_status().total == 2
    got = within(60, lambda: synth.synthesize(LONG))
    assert_same_audio([got], [eager.synthesize(LONG)], 1e-5)
    assert backend.waited == []
    assert synth.warmup(progress=False) == 0  # waits for the new shape's compilation
    status = synth.compile_status()
    assert status.total == status.compiled == 3 and status.done
    assert backend.order[-1].stage == "decode" and backend.order[-1].size > 64


def test_without_a_compile_free_path_requests_compile_their_shape_first(
        gated: Callable[..., Synthesizer], eager: Synthesizer) -> None:
    synth = gated(kind=SerialBackend)
    backend: Any = synth.backend
    status = synth.compile_in_background()
    assert not status.serves_uncompiled
    assert backend.compiling.wait(10)
    result: list[Any] = []
    request = threading.Thread(target=lambda: result.append(synth.synthesize(SHORT[0])))
    request.start()
    request.join(0.5)
    assert not result  # the device is busy compiling: compiling and running take turns
    type(backend).gate.set()
    request.join(60)
    assert_same_audio(result, [eager.synthesize(SHORT[0])], 1e-5)
    assert Shape("encode", 1, 16) not in backend.waited  # the compile thread made it first
    assert synth.warmup(progress=False) == 0
    assert synth.compile_status().done


def test_eager_backends_have_nothing_to_compile(eager: Synthesizer) -> None:
    status = eager.compile_in_background()
    assert (status.compiled, status.total, status.failed) == (0, 0, 0)
    assert status.done and status.serves_uncompiled and not status.running
    assert eager.compile_status().uncompiled_seconds == 0.0


def test_the_cli_speaks_without_waiting_for_a_compile(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    soundfile = pytest.importorskip("soundfile")
    from fastpitch_tpu.cli import main

    ref = Synthesizer(str(FASTPITCH), str(HIFIGAN), backend="torch", dtype="float32",
                      cache_dir="").synthesize("Hello world.")
    backend = type("Gated", (GatedBackend,), {"gate": threading.Event()})
    made: list[GatedBackend] = []

    def create(name: str, source: Any, **kw: Any) -> GatedBackend:
        assert name == "torch_compile"
        made.append(backend(source, **kw))
        return made[-1]

    monkeypatch.setattr(replicas_module, "create_backend", create)
    out = tmp_path / "hello.wav"
    args = ["Hello world.", "-o", str(out), "--fastpitch", str(FASTPITCH), "--hifigan",
            str(HIFIGAN), "--backend", "torch_compile", "--dtype", "float32", "--cache-dir", ""]
    result: list[int] = []
    run = threading.Thread(target=lambda: result.append(main(args)), daemon=True)
    run.start()
    try:
        # The audio is complete on disk while the compile is held at its gate ...
        deadline = time.monotonic() + 60
        while not out.exists():
            assert time.monotonic() < deadline, "no audio after 60 s: it waited for a compile"
            time.sleep(0.05)
        assert made[0].compiling.wait(10) and made[0].waited == []
        data, _ = soundfile.read(out, dtype="int16")
        assert np.array_equal(data, ref.to_int16())
        assert not result  # ... and the process waits to exit until that shape is done
    finally:
        backend.gate.set()
    run.join(60)
    assert result == [0]


def test_torch_compile_serves_while_it_compiles(models: tuple[Any, Any], eager: Synthesizer,
                                                tmp_path: Path) -> None:
    """The real compiled backend on a CPU: its eager modules answer while Dynamo and Inductor
    compile on the background thread, then its graphs take over."""
    buckets = Buckets(tokens=(16,), batch=(1,), frames=(64,))
    synth = Synthesizer(models[0], models[1], backend="torch_compile", dtype="float32",
                        buckets=buckets, cache_dir=str(tmp_path))
    try:
        status = synth.compile_in_background()
        assert status.serves_uncompiled and status.total == 2
        t0 = time.monotonic()
        got = [synth.synthesize(t) for t in SHORT]
        elapsed = time.monotonic() - t0
        assert not synth.compile_status().done, "compiled before the requests were answered"
        ref = [eager.synthesize(t) for t in SHORT]
        assert_same_audio(got, ref, 1e-4)
        assert synth.compile_status().uncompiled_seconds > 0
        synth.warmup(progress=False)
        status = synth.compile_status()
        assert (status.compiled, status.total, status.error) == (2, 2, None) and status.done
        before, seconds = synth.compile_count(), status.uncompiled_seconds
        assert_same_audio([synth.synthesize(t) for t in SHORT], ref, 1e-4)
        assert synth.compile_count() == before  # nothing compiled in a request
        assert synth.compile_status().uncompiled_seconds == seconds  # on the compiled graphs
        assert elapsed < 60
    finally:
        synth.stop_compiling(timeout=None)


@pytest.mark.skipif(not (importlib.util.find_spec("jax") and importlib.util.find_spec("torchax")),
                    reason="the jax extra is not installed")
def test_jax_serves_on_eager_torch_while_it_compiles(
        models: tuple[Any, Any], eager: Synthesizer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """jax has no eager path of its own: an eager torch backend on the same device answers
    until the graphs are ready, and is given back once every shape is compiled."""
    from fastpitch_tpu.backends.jax_backend import JaxBackend

    gate = threading.Event()
    compile_only = JaxBackend.compile_only

    def slow(self: JaxBackend, *args: Any) -> bool:
        assert gate.wait(60)
        return compile_only(self, *args)

    monkeypatch.setattr(JaxBackend, "compile_only", slow)
    buckets = Buckets(tokens=(16,), batch=(1,), frames=(64,))
    synth = Synthesizer(models[0], models[1], backend="jax", dtype="float32", buckets=buckets,
                        cache_dir=str(tmp_path))
    try:
        status = synth.compile_in_background()
        assert status.serves_uncompiled and status.total == 2 and status.compiled == 0
        got = within(60, lambda: [synth.synthesize(t) for t in SHORT])
        ref = [eager.synthesize(t) for t in SHORT]
        assert_same_audio(got, ref, 1e-4)
        assert synth.compile_count() == 0 and synth.compile_status().uncompiled_seconds > 0
        gate.set()
        synth.warmup(progress=False)
        status = synth.compile_status()
        assert (status.compiled, status.total) == (2, 2) and status.done
        assert status.serves_uncompiled  # nothing left that could wait
        seconds = status.uncompiled_seconds
        assert_same_audio([synth.synthesize(t) for t in SHORT], ref, 1e-4)
        assert synth.compile_status().uncompiled_seconds == seconds
        assert synth.compile_count() == 2
    finally:
        gate.set()
        synth.stop_compiling(timeout=None)


@pytest.mark.skipif(not (importlib.util.find_spec("jax") and importlib.util.find_spec("torchax")),
                    reason="the jax extra is not installed")
def test_a_warm_jax_start_loads_its_eager_stand_in_on_a_thread(
        eager: Synthesizer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A warm start (graphs and converted weights in the cache, models not loaded) does not
    wait for PyTorch and the checkpoints: meanwhile a request compiles its shape from the cache;
    once loaded, the stand-in serves a shape not compiled yet (its encoder states made again
    from the inputs where the encode graph was ready), and is given back at the end."""
    from fastpitch_tpu.backends.jax_backend import JaxBackend
    from fastpitch_tpu.engine import background

    buckets = Buckets(tokens=(16,), batch=(1,), frames=(64, 128))
    args: dict[str, Any] = dict(backend="jax", dtype="float32", buckets=buckets,
                                cache_dir=str(tmp_path))
    Synthesizer(str(FASTPITCH), str(HIFIGAN), **args).warmup(progress=False)
    gate, loadable = threading.Event(), threading.Event()
    compile_only, load = JaxBackend.compile_only, background.load_stand_in
    monkeypatch.setattr(JaxBackend, "compile_only",
                        lambda self, *a: gate.wait(60) and compile_only(self, *a))
    monkeypatch.setattr(background, "load_stand_in",
                        lambda *a: loadable.wait(60) and load(*a))
    synth = Synthesizer(str(FASTPITCH), str(HIFIGAN), **args)
    try:
        assert synth.compile_in_background().uncompiled_path == "torch, loading"
        got = within(60, lambda: synth.synthesize(SHORT[0]))  # compiles from the cache
        assert_same_audio([got], [eager.synthesize(SHORT[0])], 1e-4)
        assert synth.compile_count() == 2 and synth.compile_status().uncompiled_seconds == 0
        loadable.set()
        deadline = time.monotonic() + 60
        while synth.compile_status().uncompiled_path != "torch":
            assert time.monotonic() < deadline
            time.sleep(0.01)
        slow = within(60, lambda: synth.synthesize(SHORT[0], pace=0.5))  # 1 x 128
        assert_same_audio([slow], [eager.synthesize(SHORT[0], pace=0.5)], 1e-4)
        assert synth.compile_count() == 2 and synth.compile_status().uncompiled_seconds > 0
        gate.set()
        synth.warmup(progress=False)
        status = synth.compile_status()
        assert status.done and status.compiled == 3 and status.uncompiled_path is None
    finally:
        gate.set()
        loadable.set()
        synth.stop_compiling(timeout=None)


@pytest.mark.xla
def test_torch_xla_requests_compile_their_shape_taking_turns(
        models: tuple[Any, Any], eager: Synthesizer, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """torch_xla has no compile-free path: a request compiles its own shape, never at the same
    time as the compile thread, and gets the same audio."""
    pytest.importorskip("torch_xla", reason="the xla extra is not installed")
    monkeypatch.setenv("PJRT_DEVICE", "CPU")
    buckets = Buckets(tokens=(16,), batch=(1,), frames=(64,))
    synth = Synthesizer(models[0], models[1], backend="torch_xla", dtype="float32",
                        buckets=buckets, cache_dir=str(tmp_path))
    try:
        status = synth.compile_in_background()
        assert status.uncompiled_path is None and not status.serves_uncompiled
        got = [synth.synthesize(t) for t in SHORT]
        assert_same_audio(got, [eager.synthesize(t) for t in SHORT], 1e-4)
        synth.warmup(progress=False)
        status = synth.compile_status()
        assert (status.compiled, status.total, status.error) == (2, 2, None) and status.done
        assert status.uncompiled_seconds == 0
    finally:
        synth.stop_compiling(timeout=None)


def test_the_server_is_ready_before_anything_is_compiled(
        gated: Callable[..., Synthesizer]) -> None:
    pytest.importorskip("fastapi")
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from fastpitch_tpu.server import ServerConfig
    from fastpitch_tpu.server.dependencies import get_state
    from fastpitch_tpu.server.routes import health, metrics
    from fastpitch_tpu.server.state import ServerState

    synth = gated()
    backend: Any = synth.backend
    state = ServerState.create({"default": synth}, ServerConfig())
    app = FastAPI()
    app.include_router(health.router)
    app.include_router(metrics.router)
    app.dependency_overrides[get_state] = lambda: state
    client = TestClient(app)
    total = len(bucket_shapes(BUCKETS))
    state.start()
    try:
        assert state.batchers["default"].ready.wait(30)
        assert backend.compiling.wait(10) and not backend.compiled
        r = client.get("/readyz")
        assert r.status_code == 200
        assert r.json()["compile"] == {"compiled": 0, "total": total, "failed": 0,
                                       "done": False}
        job = state.batchers["default"].submit("Hello world.", state.batchers[
            "default"].synth.defaults)
        assert len(job.future.result(60)) > 0
        text = client.get("/metrics").text
        assert 'tts_compiled_bucket_shapes{voice="default"} 0.0' in text
        assert f'tts_bucket_shapes{{voice="default"}} {float(total)}' in text
        seconds = state.metrics.registry.get_sample_value("tts_uncompiled_seconds_total",
                                                          {"voice": "default"})
        assert seconds is not None and seconds > 0
        type(backend).gate.set()
        synth.warmup(progress=False)
        assert client.get("/readyz").json()["compile"]["done"] is True
        assert state.metrics.registry.get_sample_value(
            "tts_compiled_bucket_shapes", {"voice": "default"}) == total
    finally:
        type(backend).gate.set()
        asyncio.run(state.stop())
