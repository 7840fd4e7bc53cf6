"""Handing a request's text to a batcher and waiting for its audio, with the HTTP answers of
each way it can go wrong: 503 at once when the queue is full, when the work ahead would not be
done before the request's deadline (deadline-aware admission) or when the server shuts down;
504 past the deadline, 499 when the client went away (the job is cancelled then and frees its
slot), 422 when the engine refuses the text or its options."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from fastapi import HTTPException, Request

from fastpitch_tpu.audio import Audio
from fastpitch_tpu.engine import SynthesisOptions
from fastpitch_tpu.errors import InvalidTextError
from fastpitch_tpu.server.batcher import Batcher, DeadlineUnmet, Job, Rejected
from fastpitch_tpu.server.state import ServerState

__all__ = ["submit", "submit_many", "wait"]


def submit(state: ServerState, b: Batcher, text: str, opts: SynthesisOptions,
           deadline: float) -> Job:
    """The queued job; 503 with ``Retry-After`` while draining, with the queue full or when it
    could not be done by ``deadline`` (``time.monotonic()``)."""
    return submit_many(state, b, [text], opts, deadline)[0]


def submit_many(state: ServerState, b: Batcher, texts: list[str], opts: SynthesisOptions,
                deadline: float) -> list[Job]:
    """The texts' jobs, all queued or none (503 as for :func:`submit`)."""
    voice = next((name for name, x in state.batchers.items() if x is b), "")
    if state.draining:
        state.metrics.rejected.labels(voice, "draining").inc()
        raise HTTPException(503, detail="shutting down",
                            headers={"Retry-After": str(state.config.retry_after_s)})
    try:
        return b.submit_many(texts, opts, deadline)
    except Rejected as e:
        reason = "deadline" if isinstance(e, DeadlineUnmet) else "queue_full"
        state.metrics.rejected.labels(voice, reason).inc()
        raise HTTPException(503, detail=f"server busy: {e}",
                            headers={"Retry-After": str(e.retry_after)}) from None


async def wait(state: ServerState, job: Job, request: Request, deadline: float) -> Audio:
    """The job's audio; 504 past the deadline (``time.monotonic()``); cancelled if the client
    goes away."""
    result: asyncio.Future[Audio] = asyncio.wrap_future(job.future)
    gone: asyncio.Future[None] = asyncio.ensure_future(_disconnected(request))
    waiting: set[asyncio.Future[Any]] = {result, gone}
    try:
        done, _ = await asyncio.wait(waiting, timeout=max(0.0, deadline - time.monotonic()),
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
    if result not in done:
        job.future.cancel()
        if gone in done:
            raise HTTPException(499, detail="client closed the request")
        state.metrics.deadline_exceeded.labels(request.url.path).inc()
        raise HTTPException(504, detail="deadline exceeded")
    try:
        audio: Audio = result.result()
    except (InvalidTextError, ValueError, TypeError) as e:
        raise HTTPException(422, detail=str(e)) from None
    state.metrics.audio_seconds.inc(audio.duration)
    return audio


async def _disconnected(request: Request) -> None:
    """Returns when the client has gone (the body has been read already)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
