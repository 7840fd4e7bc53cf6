"""FastAPI dependencies of the routes: how a route gets the shared state and what it derives
from the request (the voice's batcher, the synthesis options).

The application keeps its :class:`~fastpitch_tpu.server.state.ServerState` as
``app.state.server``; every other dependency reaches it through :func:`get_state`, so a test
can serve a route with a state of its own (``app.dependency_overrides[get_state]``), or replace
any one dependency alone.

They are coroutines although none of them waits: FastAPI runs a plain function dependency on its
thread pool, a hop to another thread and back for every request (and more threads under load).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, HTTPException, Request

from fastpitch_tpu.engine import SynthesisOptions
from fastpitch_tpu.server.batcher import Batcher
from fastpitch_tpu.server.config import ServerConfig
from fastpitch_tpu.server.schemas import TTSRequest
from fastpitch_tpu.server.state import Metrics, ServerState

__all__ = ["Speech", "get_deadline", "get_default_batcher", "get_metrics", "get_speech",
           "get_state", "synthesis_options", "voice_batcher"]


async def get_state(request: Request) -> ServerState:
    """The application's shared state."""
    state: ServerState = request.app.state.server
    return state


State = Annotated[ServerState, Depends(get_state)]


async def get_metrics(state: State) -> Metrics:
    return state.metrics


TIMEOUT_HEADER = "X-Request-Timeout"


async def get_deadline(
    state: State,
    timeout: Annotated[str | None, Header(
        alias=TIMEOUT_HEADER, examples=["2.5"],
        description="Seconds this request may take (capped at the server's deadline): one that "
                    "could not be done in time is refused at once with 503.")] = None,
) -> float:
    """The request's deadline (a ``time.monotonic()`` time): the server's ``deadline_s`` from
    now, or ``X-Request-Timeout`` seconds when that is shorter; 422 for a value that is not a
    positive number of seconds."""
    limit = state.config.deadline_s
    if timeout is not None:
        try:
            seconds = float(timeout)
        except ValueError:
            seconds = math.nan
        if not seconds > 0 or not math.isfinite(seconds):
            raise HTTPException(422, detail=f"{TIMEOUT_HEADER} must be a positive number of "
                                f"seconds, got {timeout[:40]!r}")
        limit = min(limit, seconds)
    return time.monotonic() + limit


async def get_default_batcher(state: State) -> Batcher:
    """The batcher of the first (default) voice."""
    return state.batchers[state.default_voice]


@dataclass(frozen=True)
class Speech:
    """A request to speak one text, resolved: its body, its voice's batcher, its options."""

    request: TTSRequest
    batcher: Batcher
    options: SynthesisOptions


async def get_speech(req: TTSRequest, state: State) -> Speech:
    """The request body with what it asks for; 422 for an unknown voice, 413 for text over
    ``max_chars`` (in that order).

    The body is declared here alone, not also by the routes or by one dependency per field:
    FastAPI validates a body once per declaration and reports each failure as often."""
    return Speech(req, voice_batcher(state, req.voice), synthesis_options(req, state.config))


def voice_batcher(state: ServerState, voice: str) -> Batcher:
    """The voice's batcher; 422 for a voice not configured (voices are chosen by configured
    name only, never by path)."""
    b = state.batchers.get(voice)
    if b is None:
        raise HTTPException(422, detail=[{
            "loc": ["body", "voice"], "type": "value_error",
            "msg": f"unknown voice {voice!r}; available: {', '.join(state.batchers)}"}])
    return b


def synthesis_options(req: TTSRequest, config: ServerConfig) -> SynthesisOptions:
    """The request's synthesis options; 413 for text over ``max_chars``, 422 for a combination
    :class:`~fastpitch_tpu.engine.SynthesisOptions` refuses."""
    if len(req.text) > config.max_chars:
        raise HTTPException(413, detail=f"text is {len(req.text)} characters; the limit is "
                            f"{config.max_chars}")
    try:
        return SynthesisOptions(pace=req.pace, pitch_shift=req.pitch_shift,
                                pitch_scale=req.pitch_scale, speaker=req.speaker)
    except ValueError as e:
        raise HTTPException(422, detail=str(e)) from None
