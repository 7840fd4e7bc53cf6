"""HTTP server (``fastpitch-tpu serve``): FastAPI app with dynamic batching.

Needs the ``server`` extra (fastapi, uvicorn, prometheus-client).
"""

from fastpitch_tpu.server.app import ServerConfig, create_app, load_voices
from fastpitch_tpu.server.batcher import Batcher, QueueFull

__all__ = ["Batcher", "QueueFull", "ServerConfig", "create_app", "load_voices"]
