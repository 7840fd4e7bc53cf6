"""The server as a Ray Serve deployment: one replica per accelerator, each running the whole
FastAPI application of :func:`~fastpitch_tpu.server.create_app` (its dynamic batching, limits
and metrics included) on the device Ray gives it.

>>> import ray
>>> from ray import serve
>>> from fastpitch_tpu.server.ray_serve import deployment
>>> ray.init()
>>> serve.run(deployment(), route_prefix="/")   # POST /v1/tts ... on Serve's HTTP port

Everything is built inside each replica (models are loaded there, not pickled from the driver).
"""

from __future__ import annotations

from typing import Any

from fastpitch_tpu.server.app import ServerConfig, create_app, load_voices

__all__ = ["deployment"]


def deployment(voices: dict[str, str] | None = None, *, hifigan: str | None = None,
               backend: str = "auto", dtype: str = "auto", cache_dir: str | None = None,
               buckets: Any = None, config: ServerConfig | None = None,
               num_replicas: int | None = None, gpus_per_replica: float | None = None,
               name: str = "fastpitch_tpu") -> Any:
    """A bound Serve application of the TTS server.

    ``voices``: name → checkpoint (default ``{"default": "default"}``, the built-in voice);
    ``num_replicas``: default one per GPU of the cluster (at least one); ``gpus_per_replica``:
    default 1 where the cluster has GPUs, else 0.
    """
    import ray
    from ray import serve

    voices = dict(voices or {"default": "default"})
    if "default" not in voices:
        raise ValueError("voices needs a 'default' entry")
    if not ray.is_initialized():
        ray.init()
    gpus = int(ray.cluster_resources().get("GPU", 0))  # type: ignore[no-untyped-call]
    per_replica = gpus_per_replica if gpus_per_replica is not None else (1.0 if gpus else 0.0)
    replicas = num_replicas or max(1, gpus)
    server_config = config or ServerConfig()

    def build() -> Any:
        from fastpitch_tpu.engine import Buckets

        bucket_set = buckets or Buckets(batch=Buckets.batch_sizes(server_config.max_batch))
        synths = load_voices(voices, hifigan, backend=backend, dtype=dtype, cache_dir=cache_dir,
                             buckets=bucket_set)
        return create_app(synths, server_config)

    declare = serve.deployment(name=name, num_replicas=replicas,
                               ray_actor_options={"num_gpus": per_replica, "num_cpus": 1})
    server = declare(serve.ingress(build)(type("FastPitchServer", (), {})))
    return server.bind()
