"""The device replicas: one backend per device, and running work on all of them at once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from fastpitch_tpu.backends import Backend, StageSource, create_backend, local_devices

__all__ = ["on_replicas", "start_replicas"]


def start_replicas(backend: str, source: StageSource, *, device: str | None,
                   devices: str | Sequence[str] | None, dtype: str,
                   cache_dir: str) -> list[Backend]:
    """One ``backend`` per device: ``device`` (one, None: the backend's default) or
    ``devices`` (``"all"`` or a list)."""
    if devices is not None and device is not None:
        raise ValueError("pass device= (one device) or devices= (several), not both")
    targets: list[str | None]
    if devices is None:
        targets = [device]
    elif devices == "all":
        targets = local_devices(backend)
    elif isinstance(devices, str):
        raise ValueError(f"devices must be 'all' or a list of devices, got {devices!r}")
    else:
        targets = list(devices)
        if not targets:
            raise ValueError("devices is empty")
    return [create_backend(backend, source, dtype=dtype, device=d, cache_dir=cache_dir)
            for d in targets]


def on_replicas(replicas: Sequence[Backend], fn: Callable[[Backend], None]) -> None:
    """``fn(replica)`` on every replica at once (one thread each); errors are raised."""
    if len(replicas) == 1:
        fn(replicas[0])
        return
    with ThreadPoolExecutor(len(replicas), thread_name_prefix="device") as pool:
        for future in [pool.submit(fn, r) for r in replicas]:
            future.result()
