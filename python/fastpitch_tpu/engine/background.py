"""Compiling the bucket shapes in the background while requests run: one daemon thread per
replica compiles one shape after another, the shapes requests have needed first (most needed
first), then the rest small before large; meanwhile a request whose shape is not compiled yet
runs on a compile-free path (:mod:`~.routing`), and each graph is used from the moment it is
ready. A shape that fails to compile is left to the compile-free path (the status says so)."""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from fastpitch_tpu.backends import Backend, StageSource
from fastpitch_tpu.engine.buckets import Buckets
from fastpitch_tpu.engine.routing import RoutedBackend, load_stand_in, stand_in_device
from fastpitch_tpu.engine.warmup import Shape, ShapeCompiler, bucket_shapes

__all__ = ["BackgroundCompiler", "CompileStatus"]

log = logging.getLogger("fastpitch_tpu")


@dataclass(frozen=True)
class CompileStatus:
    """Where the compilation of the bucket shapes stands, over every replica."""

    compiled: int
    """Shapes compiled."""
    total: int
    """Shapes to compile (every bucket shape on every replica, and any other a request
    needed; 0 for eager backends, which compile nothing)."""
    failed: int
    """Shapes whose compilation failed (their requests keep running uncompiled)."""
    error: str | None
    """The first failure, in one line (None: none)."""
    uncompiled_seconds: float
    """Time requests spent running stages on the compile-free path."""
    running: bool
    """Whether a background thread is compiling."""
    uncompiled_path: str | None
    """What runs a shape not compiled yet: ``"eager"`` (the backend's own eager path),
    ``"torch"`` (an eager torch backend on the same device, standing in for one that has no
    eager path), ``"torch, loading"`` while that loads (meanwhile such a request compiles its
    shape first, as it does where this is None: no compile-free path, or no background
    compilation started)."""

    @property
    def done(self) -> bool:
        """Nothing is left to compile (every shape compiled, or failed)."""
        return self.compiled + self.failed >= self.total and not self.running

    @property
    def serves_uncompiled(self) -> bool:
        """Whether no request waits for a compile now."""
        return self.done or self.uncompiled_path in ("eager", "torch")


@dataclass(eq=False)
class _Replica:
    backend: Backend
    compiler: ShapeCompiler
    serial: bool
    """Whether compiling and running must take turns (no compile-free path, and compiling
    while running is not known to be safe)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    done: set[Shape] = field(default_factory=set)
    failed: dict[Shape, str] = field(default_factory=dict)
    thread: threading.Thread | None = None
    routed: RoutedBackend | None = None


class BackgroundCompiler:
    """The background compilation of one synthesizer's ``replicas`` (see
    ``Synthesizer.compile_in_background``)."""

    def __init__(self, replicas: Sequence[Backend], source: StageSource, buckets: Buckets,
                 padding_idx: int, n_symbols: int) -> None:
        self._source = source
        self._replicas = [
            _Replica(b, ShapeCompiler(b, buckets, padding_idx, n_symbols),
                     serial=not b.runs_uncompiled and not b.parallel_compile)
            for b in replicas]
        self._plan = bucket_shapes(buckets) if replicas[0].compiles else []
        self._requested: collections.Counter[Shape] = collections.Counter()
        self._uncompiled_seconds = 0.0
        self._lock = threading.Lock()
        self._started = False
        self._stopping = False
        self._error: str | None = None
        self._began = 0.0
        self._loading: threading.Thread | None = None

    def start(self) -> list[Backend] | None:
        """Start the compile threads and each replica's compile-free path; returns the
        replicas that route each stage (None when started already, or with nothing to
        compile)."""
        with self._lock:
            if self._started or not self._plan:
                return None
            self._started = True
            self._began = time.monotonic()
            routed: list[Backend] = []
            for r in self._replicas:
                r.routed = RoutedBackend(r.backend, self._source, self._ran_uncompiled,
                                         r.lock if r.serial else None)
                routed.append(r.routed)
            self._start_threads()
        self._stand_in()
        return routed

    def _stand_in(self) -> None:
        """Eager torch backends standing in for replicas without a compile-free path: made at
        once where the models are in memory anyway (a cold start loaded them to trace the
        graphs), else on a thread, as importing PyTorch and reading the checkpoints takes
        seconds that a warm start, whose graphs load from the cache, does not otherwise
        spend."""
        devices: dict[str, list[_Replica]] = {}
        for r in self._replicas:
            device = stand_in_device(r.backend)
            if device is not None:
                devices.setdefault(device, []).append(r)
        if not devices:
            return
        if self._source.loaded:
            self._load(devices)
            return
        self._loading = threading.Thread(target=self._load, args=(devices,), daemon=True,
                                         name="fastpitch-tpu-stand-in")
        self._loading.start()

    def _load(self, devices: dict[str, list[_Replica]]) -> None:
        for device, replicas in devices.items():
            path = load_stand_in(replicas[0].backend, self._source, device)
            with self._lock:
                for r in replicas:
                    if path is not None and r.routed is not None and not self._all_done(r):
                        r.routed.path = path

    def status(self) -> CompileStatus:
        with self._lock:
            compiled = failed = 0
            for r in self._replicas:
                for shape in self._plan:
                    if shape in r.failed:
                        failed += 1
                    elif shape in r.done or r.backend.is_compiled(*shape):
                        compiled += 1
            running = any(r.thread is not None for r in self._replicas)
            return CompileStatus(compiled, len(self._plan) * len(self._replicas), failed,
                                 self._error, self._uncompiled_seconds, running,
                                 self._path_in_use())

    def _path_in_use(self) -> str | None:
        """The status's ``uncompiled_path`` (lock held)."""
        if not self._plan:
            return "eager"  # nothing compiles: everything runs eagerly
        routed = self._replicas[0].routed
        if routed is not None and routed.path is not None:
            return routed.path.kind
        if self._loading is not None and self._loading.is_alive():
            return "torch, loading"
        return None

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the compile threads to end (None: as long as it takes); whether they
        have."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            with self._lock:
                threads = [r.thread for r in self._replicas if r.thread is not None]
            if not threads:
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            threads[0].join(left)

    def stop(self) -> None:
        """Start no new shape (the threads end after the shape each is compiling)."""
        with self._lock:
            self._stopping = True

    def _ran_uncompiled(self, shape: Shape, seconds: float) -> None:
        """A request ran ``shape`` on the compile-free path: compile it next (a shape outside
        the buckets joins the plan)."""
        with self._lock:
            self._uncompiled_seconds += seconds
            self._requested[shape] += 1
            if shape not in self._plan:
                self._plan.append(shape)
                self._start_threads()

    def _start_threads(self) -> None:
        """A thread for every replica that has shapes left and none at work (lock held)."""
        if self._stopping:
            return
        for i, r in enumerate(self._replicas):
            if r.thread is None and self._next(r) is not None:
                r.thread = threading.Thread(target=self._work, args=(r,), daemon=True,
                                            name=f"fastpitch-tpu-compile-{i}")
                r.thread.start()

    def _all_done(self, r: _Replica) -> bool:
        """Whether ``r`` has compiled every shape (lock held)."""
        return all(s in r.done for s in self._plan)

    def _left(self, r: _Replica) -> list[Shape]:
        """The shapes ``r`` has yet to compile (lock held)."""
        return [s for s in self._plan if s not in r.done and s not in r.failed]

    def _next(self, r: _Replica) -> Shape | None:
        """The shape ``r`` compiles next: the one requests needed most, else the first of the
        plan (lock held)."""
        left = self._left(r)
        if not left:
            return None
        needed = [s for s in left if self._requested[s]]
        if needed:
            return max(needed, key=lambda s: self._requested[s])  # the first of equals
        return left[0]

    def _work(self, r: _Replica) -> None:
        while True:
            with self._lock:
                shape = None if self._stopping else self._next(r)
                if shape is None:
                    # Ended under the lock: a shape added from now on starts a new thread.
                    r.thread = None
                    self._finished(r)
                    return
            try:
                with r.lock if r.serial else contextlib.nullcontext():
                    if not r.backend.is_compiled(*shape):
                        r.compiler.compile(shape)
            except Exception as e:
                if self._stopping or not threading.main_thread().is_alive():
                    with self._lock:  # stopped, or the process is ending: not a failure
                        r.thread = None
                    return
                log.warning("compiling the %s graph failed (requests of that shape keep "
                            "running uncompiled)", shape, exc_info=True)
                message = f"{shape}: {type(e).__name__}: {' '.join(str(e).split())}"[:400]
                with self._lock:
                    r.failed[shape] = message
                    self._error = self._error or message
            else:
                with self._lock:
                    r.done.add(shape)

    def _finished(self, r: _Replica) -> None:
        """``r``'s thread ends (lock held)."""
        if self._all_done(r):
            if all(x.thread is None for x in self._replicas):
                log.info("%d graphs compiled in the background in %.1f s", len(self._plan) * len(
                    self._replicas), time.monotonic() - self._began)
            self._release_paths()

    def _release_paths(self) -> None:
        """Give back an eager backend standing in for a replica with nothing left to compile
        (lock held)."""
        for r in self._replicas:
            routed = r.routed
            if (routed is not None and routed.path is not None
                    and not routed.path.shares_handles and self._all_done(r)):
                routed.path = None
