"""The routes that speak: ``POST /v1/tts`` (one text, whole), ``POST /v1/tts/stream`` (one text,
sentence by sentence) and ``POST /tts`` (several texts, the older batch endpoint)."""

from __future__ import annotations

import asyncio
import base64
import logging
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import numpy as np
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from fastpitch_tpu.audio import Audio, wav_header
from fastpitch_tpu.engine import SynthesisOptions
from fastpitch_tpu.errors import InvalidTextError
from fastpitch_tpu.server.batcher import Batcher, Job, QueueFull
from fastpitch_tpu.server.dependencies import (
    Speech,
    get_deadline,
    get_default_batcher,
    get_speech,
    get_state,
)
from fastpitch_tpu.server.jobs import submit, submit_many, wait
from fastpitch_tpu.server.schemas import Base64Audio, BatchRequest, BatchResponse
from fastpitch_tpu.server.state import ServerState

__all__ = ["router"]

log = logging.getLogger("fastpitch_tpu.server")

router = APIRouter()

State = Annotated[ServerState, Depends(get_state)]
Spoken = Annotated[Speech, Depends(get_speech)]
Deadline = Annotated[float, Depends(get_deadline)]

_RETRY_AFTER = {"Retry-After": {"description": "Seconds after which a retry may be admitted.",
                                "schema": {"type": "integer"}}}
REFUSALS: dict[int | str, dict[str, Any]] = {
    413: {"description": "Text or body too long."},
    422: {"description": "Invalid field, text with nothing to speak, or an invalid "
                         "X-Request-Timeout header."},
    503: {"description": "Refused at once, before any work: the queue is full, the work queued "
                         "ahead would not be done within the request's deadline, or the server "
                         "is shutting down. Retry after the Retry-After header's seconds (on "
                         "this replica or another).", "headers": _RETRY_AFTER},
    504: {"description": "Admitted but not done within the deadline (X-Request-Timeout, at "
                         "most the server's own)."},
}


@router.post("/v1/tts", response_model=None, responses={
    200: {"content": {"audio/wav": {}, "audio/L16": {},
                      "application/json": {"schema": Base64Audio.model_json_schema()}},
          "description": "The audio in the requested format."},
    **REFUSALS,
})
async def tts(speech: Spoken, request: Request, state: State, deadline: Deadline) -> Response:
    """Speak one text."""
    req = speech.request
    job = submit(state, speech.batcher, req.text, speech.options, deadline)
    audio = await wait(state, job, request, deadline)
    if req.format == "wav":
        return Response(audio.to_wav_bytes(), media_type="audio/wav")
    if req.format == "pcm16":
        return Response(audio.to_pcm16_bytes(), media_type=f"audio/L16;rate={audio.sample_rate}",
                        headers={"X-Sample-Rate": str(audio.sample_rate)})
    body = Base64Audio(audio=base64.b64encode(audio.to_wav_bytes()).decode(),
                       sample_rate=audio.sample_rate, duration=audio.duration)
    return JSONResponse(body.model_dump())


@router.post("/v1/tts/stream", response_model=None, responses={
    200: {"content": {"audio/wav": {}, "audio/L16": {}},
          "description": "Audio sentence by sentence as it is made (chunked)."},
    **{k: v for k, v in REFUSALS.items() if k != 504},
})
async def tts_stream(speech: Spoken, state: State, deadline: Deadline) -> Response:
    """Speak a text sentence by sentence: the first sentence's audio is sent as soon as it
    is made (``format`` wav or pcm16). Admission judges the first sentence against the
    deadline; past the deadline the stream ends early."""
    req, b, opts = speech.request, speech.batcher, speech.options
    if req.format == "base64":
        raise HTTPException(422, detail="streaming sends wav or pcm16")
    try:
        pieces = b.synth.split_for_streaming(req.text)
    except (InvalidTextError, ValueError) as e:
        raise HTTPException(422, detail=str(e)) from None
    if not pieces:
        raise HTTPException(422, detail="the text has nothing to speak")
    # The first sentence is queued here, so that a refusal is still answered with 503.
    first = submit(state, b, pieces[0], opts, deadline)
    rate = b.synth.sample_rate
    media = "audio/wav" if req.format == "wav" else f"audio/L16;rate={rate}"
    return StreamingResponse(_sentences(state, b, pieces, opts, first, req.format == "wav",
                                        deadline), media_type=media)


async def _sentences(state: ServerState, b: Batcher, pieces: list[str], opts: SynthesisOptions,
                     first: Job, wav: bool, deadline: float) -> AsyncIterator[bytes]:
    """The stream's bytes: a WAV header of unknown length (``wav``), then each sentence's
    samples as they are made, a pause between two. Once the status is sent an error can only
    end the stream early; every job not yet done is cancelled when it ends (the client left
    included)."""
    rate = b.synth.sample_rate
    pause = np.zeros(int(round(opts.sentence_pause * rate)), np.float32)
    jobs = [first]
    try:
        if wav:
            yield wav_header(rate, None)
        for i in range(len(pieces)):
            if i + 1 < len(pieces):  # the next sentence waits in the queue meanwhile
                try:
                    jobs.append(b.submit(pieces[i + 1], opts))
                except QueueFull:
                    jobs.append(Job(pieces[i + 1], opts))
                    jobs[-1].future.set_exception(QueueFull("queue full"))
            left = max(0.0, deadline - time.monotonic())
            try:
                audio = await asyncio.wait_for(asyncio.wrap_future(jobs[i].future), left)
            except asyncio.TimeoutError:
                state.metrics.deadline_exceeded.labels("/v1/tts/stream").inc()
                raise
            state.metrics.audio_seconds.inc(audio.duration)
            if i:
                yield Audio(pause, rate).to_pcm16_bytes()
            yield audio.to_pcm16_bytes()
    except (QueueFull, asyncio.TimeoutError, InvalidTextError, ValueError,
            RuntimeError) as e:  # the status is sent already: end the stream
        log.warning("stream ended early: %s", e)
    finally:
        for job in jobs:
            job.future.cancel()


@router.post("/tts", response_model=BatchResponse, responses=REFUSALS)
async def tts_batch(req: BatchRequest, request: Request, state: State, deadline: Deadline,
                    b: Annotated[Batcher, Depends(get_default_batcher)]) -> BatchResponse:
    """Speak several texts with the default voice; base64 WAVs in the same order (admitted
    together: all of them fit the deadline, or the request is refused)."""
    limit = state.config.max_chars
    for i, text in enumerate(req.texts):
        if len(text) > limit:
            raise HTTPException(413, detail=f"texts[{i}] is over {limit} characters")
    jobs = submit_many(state, b, list(req.texts), SynthesisOptions(), deadline)
    try:
        audios = [await wait(state, job, request, deadline) for job in jobs]
    finally:
        for job in jobs:
            job.future.cancel()
    return BatchResponse(
        audios=[base64.b64encode(a.to_wav_bytes()).decode() for a in audios],
        sample_rate=b.synth.sample_rate,
    )
