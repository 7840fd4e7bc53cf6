"""The server's routes, one :class:`fastapi.APIRouter` per concern: :mod:`.tts` (everything that
speaks), :mod:`.health` (liveness and readiness), :mod:`.metrics` (Prometheus)."""

from fastpitch_tpu.server.routes import health, metrics, tts

__all__ = ["health", "metrics", "tts"]
