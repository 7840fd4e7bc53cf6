"""The HTTP API (FastAPI): ``POST /v1/tts``, ``POST /v1/tts/stream``, ``POST /tts``, health,
readiness and Prometheus metrics, over one :class:`~fastpitch_tpu.server.batcher.Batcher` per
configured voice.

Limits: text longer than ``max_chars`` or a body over ``max_body_bytes`` → 413; invalid fields →
422 (with the field and the reason; empty or whitespace-only text included); a full queue → 503
with ``Retry-After``; a request not done within ``deadline_s`` → 504 (its job is cancelled and
frees its slot, as when the client goes away). Voices are chosen by configured name only.

The API documentation pages, ``/docs`` (Swagger UI) and ``/redoc``, work without internet access:
their scripts and styles are served by the server itself from the ``fastapi-offline`` package
(under ``/static-offline-docs``), not from a CDN.

Layout: the routes live in :mod:`fastpitch_tpu.server.routes` (one router per concern), the
state they share in :mod:`~fastpitch_tpu.server.state` (kept as ``app.state.server``), and they
reach it through the dependencies of :mod:`~fastpitch_tpu.server.dependencies`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline

# load_voices lives in the engine (the server reaches the models only through it) and is
# re-exported here, where the server's callers import it.
from fastpitch_tpu.engine import Synthesizer, load_voices
from fastpitch_tpu.server.config import ServerConfig
from fastpitch_tpu.server.middleware import BodyLimit, CountRequests
from fastpitch_tpu.server.routes import health, metrics, tts
from fastpitch_tpu.server.state import ServerState

__all__ = ["ServerConfig", "create_app", "load_voices"]


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Starts the batchers' device workers; at shutdown refuses new work and drains them."""
    state: ServerState = app.state.server
    state.start()
    yield
    await state.stop()


def create_app(voices: dict[str, Synthesizer], config: ServerConfig | None = None) -> FastAPI:
    """The FastAPI application serving ``voices`` (name → synthesizer; ``"default"`` first)."""
    state = ServerState.create(voices, config)
    # FastAPIOffline: FastAPI whose /docs and /redoc load their assets from this server.
    # validatorUrl None: Swagger UI would otherwise send the schema to validator.swagger.io.
    app = FastAPIOffline(
        title="fastpitch_tpu",
        summary="FastPitch + HiFi-GAN text-to-speech with dynamic batching.",
        lifespan=lifespan,
        swagger_ui_parameters={"validatorUrl": None},
    )
    app.state.server = state
    # What the application held before all of it moved to ``app.state.server``: kept for code
    # that reads these.
    app.state.batchers = state.batchers
    app.state.metrics = state.metrics
    for router in (tts.router, health.router, metrics.router):
        app.include_router(router)
    app.add_middleware(BodyLimit, max_bytes=state.config.max_body_bytes)
    app.add_middleware(CountRequests, metrics=state.metrics)
    return app
