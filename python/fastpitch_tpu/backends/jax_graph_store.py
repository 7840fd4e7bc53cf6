"""The jax backend's saved graphs: each shape's graph, traced once, kept as a serialized
:mod:`jax.export` graph (StableHLO) under ``cache_dir/graphs/<digest>/``, so that a later process
loads it instead of tracing the model again. The folder is named by the digest of
:func:`~fastpitch_tpu.backends.jax_weights.graph_digest`, so a changed model never reuses a stale
graph. A damaged or foreign file is traced again and replaced; where graphs cannot be exported
on a platform, they are traced directly."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastpitch_tpu.atomic_files import write_atomic
from fastpitch_tpu.compile_cache.manifest import foreign_entry

__all__ = ["GraphStore"]

log = logging.getLogger("fastpitch_tpu")


class GraphStore:
    """Lowered graphs of one model's shapes, through the saved graphs in ``folder`` (None: none
    are saved or loaded), for ``platform`` on ``jax``. ``before_trace`` runs before any
    tracing (it puts the traced functions' state in place)."""

    def __init__(self, folder: Path | None, *, jax: Any, platform: str,
                 before_trace: Callable[[], object]) -> None:
        self.folder = folder
        self._jax = jax
        self._platform = platform
        self._before_trace = before_trace
        self._export_failed = False

    def lower(self, key: tuple[int, ...], trace: Any, args: tuple[Any, ...]) -> Any:
        """The shape's lowered graph, through a saved (or newly saved) exported graph; where
        the graph cannot be exported on this platform, traced directly (every process then
        traces it again)."""
        try:
            exported = self._exported(key, trace, args)
            return self._jax.jit(exported.call).trace(*args).lower()
        except Exception as e:
            if not self._export_failed:
                log.warning("the jax graphs cannot be saved or loaded here (%s); each process "
                            "traces them again", e)
                self._export_failed = True
            self._before_trace()
            return self._jax.jit(trace).trace(*args).lower()

    def _exported(self, key: tuple[int, ...], trace: Any, args: tuple[Any, ...]) -> Any:
        """The shape's graph: loaded from the graphs folder, else traced (and saved)."""
        from jax import export

        path = (self.folder / ("-".join(map(str, key)) + ".jaxexport")
                if self.folder is not None else None)
        # (cache_dir/graphs/<digest>/<file>: not one an import put there for another machine)
        if path is not None and path.is_file() and not foreign_entry(path, levels=2):
            try:
                return export.deserialize(bytearray(path.read_bytes()))
            except Exception as e:  # damaged or foreign: trace again and replace it
                log.warning("ignoring the saved graph %s (%s)", path, e)
        # export names platforms canonically ("cuda", not "gpu"); its default is the default
        # backend's, which covers GPUs; other devices (cpu, tpu) already have canonical names.
        platforms = None if self._platform == self._jax.default_backend() else [self._platform]
        self._before_trace()
        exported = export.export(self._jax.jit(trace), platforms=platforms)(*args)
        if path is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                write_atomic(path, exported.serialize())
            except OSError as e:
                log.warning("could not save the graph %s (%s)", path, e)
        return exported
