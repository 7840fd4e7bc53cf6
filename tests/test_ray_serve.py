"""The server as a Ray Serve deployment, on a local Ray cluster (CPU, fixture model)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from ports import free_port

pytest.importorskip("torch")
httpx = pytest.importorskip("httpx")

from fastpitch_tpu.engine import Buckets  # noqa: E402
from fastpitch_tpu.server import ServerConfig  # noqa: E402
from fastpitch_tpu.server.ray_serve import deployment  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
FASTPITCH = FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt"
HIFIGAN = FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"


@pytest.mark.ray
def test_serve_deployment_answers_tts_requests() -> None:
    ray = pytest.importorskip("ray", reason="the ray extra is not installed")
    serve = pytest.importorskip("ray.serve", reason="the ray extra is not installed")
    port = free_port()
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": port})
        app = deployment({"default": str(FASTPITCH)}, hifigan=str(HIFIGAN), backend="torch",
                         dtype="float32", cache_dir="",
                         buckets=Buckets(tokens=(64,), batch=(1, 4), frames=(256, 1024)),
                         config=ServerConfig(max_batch=4))
        serve.run(app, route_prefix="/")
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 120
        while httpx.get(f"{base}/readyz", timeout=10).status_code != 200:
            assert time.monotonic() < deadline, "replica never became ready"
            time.sleep(0.5)
        r = httpx.post(f"{base}/v1/tts", json={"text": "Hello from a replica."}, timeout=60)
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        assert r.content[:4] == b"RIFF" and len(r.content) > 1000
        bad = httpx.post(f"{base}/v1/tts", json={"text": "Hi", "voice": "../etc"}, timeout=60)
        assert bad.status_code == 422
        assert "tts_requests_total" in httpx.get(f"{base}/metrics", timeout=10).text
    finally:
        serve.shutdown()
        ray.shutdown()
