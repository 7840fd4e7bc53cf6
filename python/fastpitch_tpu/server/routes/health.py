"""Liveness (``GET /healthz``) and readiness (``GET /readyz``) for load balancers and
orchestrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse

from fastpitch_tpu.server.dependencies import get_state
from fastpitch_tpu.server.state import ServerState

__all__ = ["router"]

router = APIRouter()


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Warming up or shutting down."}})
async def readyz(state: Annotated[ServerState, Depends(get_state)]) -> JSONResponse:
    """Ready once every bucket of every voice is compiled."""
    if state.draining:
        return JSONResponse({"status": "draining"}, status_code=503)
    if not state.ready:
        return JSONResponse({"status": "warming up"}, status_code=503)
    return JSONResponse({"status": "ready", "voices": list(state.voices)})
