"""Serve the built-in voice on Ray Serve: one replica per GPU (or one CPU replica), each with the
server's dynamic batching. Needs the ray extra: pip install ".[ray]".

    python examples/ray_serve.py            # then, from another shell:
    curl -X POST localhost:8000/v1/tts -H 'content-type: application/json' \\
        -d '{"text": "Hello from Ray Serve."}' -o hello.wav
"""

from __future__ import annotations

import time

import ray
from ray import serve

from fastpitch_tpu.server.ray_serve import deployment

if __name__ == "__main__":
    ray.init()
    serve.start(http_options={"host": "127.0.0.1", "port": 8000})
    serve.run(deployment(), route_prefix="/")
    print("serving on http://127.0.0.1:8000 (Ctrl-C stops)")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        serve.shutdown()
