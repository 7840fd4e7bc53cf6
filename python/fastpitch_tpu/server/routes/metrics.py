"""``GET /metrics``: the server's Prometheus metrics (requests, queue depth, batch sizes,
latency, audio produced) in the text exposition format."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from fastpitch_tpu.server.dependencies import get_metrics
from fastpitch_tpu.server.state import Metrics

__all__ = ["router"]

router = APIRouter()


@router.get("/metrics")
async def prometheus(metrics: Annotated[Metrics, Depends(get_metrics)]) -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
