"""Liveness (``GET /healthz``) and readiness (``GET /readyz``) for load balancers and
orchestrators."""

from __future__ import annotations

from typing import Annotated, Any

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


def _compile_progress(state: ServerState) -> dict[str, Any]:
    """The bucket shapes compiled and to compile over every voice (empty where the voices
    report none)."""
    statuses = [s for s in (b.compile_status() for b in state.batchers.values())
                if s is not None]
    if not statuses:
        return {}
    return {"compile": {"compiled": sum(s.compiled for s in statuses),
                        "total": sum(s.total for s in statuses),
                        "failed": sum(s.failed for s in statuses),
                        "done": all(s.done for s in statuses)}}


@router.get("/readyz", responses={503: {"description": "Warming up or shutting down."}})
async def readyz(state: Annotated[ServerState, Depends(get_state)]) -> JSONResponse:
    """Ready as soon as every voice can serve requests: its bucket shapes compile in the
    background meanwhile (``compile`` tells how far), or, where requests would wait for a
    compile (no compile-free path), once they are compiled."""
    if state.draining:
        return JSONResponse({"status": "draining"}, status_code=503)
    if not state.ready:
        return JSONResponse({"status": "warming up", **_compile_progress(state)},
                            status_code=503)
    return JSONResponse({"status": "ready", "voices": list(state.voices),
                         **_compile_progress(state)})
