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
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi_offline import FastAPIOffline
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import generate_latest

from fastpitch_tpu.audio import Audio, wav_header
from fastpitch_tpu.engine import SynthesisOptions, Synthesizer
from fastpitch_tpu.errors import InvalidTextError
from fastpitch_tpu.server.batcher import Batcher, Job, QueueFull
from fastpitch_tpu.server.schemas import Base64Audio, BatchRequest, BatchResponse, TTSRequest

__all__ = ["ServerConfig", "create_app", "load_voices"]

log = logging.getLogger("fastpitch_tpu.server")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def load_voices(checkpoints: dict[str, str], hifigan: str | None = None,
                **engine: Any) -> dict[str, Synthesizer]:
    """One :class:`Synthesizer` per voice (name → checkpoint, ``"default"`` first), all sharing
    one vocoder: ``hifigan``, or the default voice's own (:func:`~fastpitch_tpu.voices.
    vocoder_for`). ``engine``: the other Synthesizer arguments (backend, dtype, buckets ...)."""
    from fastpitch_tpu.checkpoints import load_hifigan
    from fastpitch_tpu.voices import vocoder_for

    vocoder = load_hifigan(hifigan or vocoder_for(checkpoints["default"]))
    return {name: Synthesizer(path, vocoder, **engine) for name, path in checkpoints.items()}


@dataclass(frozen=True)
class ServerConfig:
    max_batch: int = 16
    """Most requests run together on the device."""
    max_wait_ms: float = 5.0
    """How long the worker waits for more requests to fill a batch (not after a batch of
    one: a lone client is not kept waiting)."""
    max_queue: int = 256
    """Requests waiting beyond this are refused with 503."""
    max_chars: int = 5000
    """Longest text per request (413 beyond)."""
    max_body_bytes: int = 256 * 1024
    """Largest request body (413 beyond)."""
    deadline_s: float = 60.0
    """A request not answered by then gets 504."""
    warmup: bool = True
    """Compile every bucket before /readyz says ready."""
    retry_after_s: int = 1


class _Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("tts_requests", "HTTP requests by endpoint and status",
                                ["endpoint", "status"], registry=self.registry)
        self.queue_depth = Gauge("tts_queue_depth", "Requests waiting for the device",
                                 registry=self.registry)
        self.batch_size = Histogram("tts_batch_size", "Requests per device batch",
                                    buckets=(1, 2, 4, 8, 16, 32, 64, 128),
                                    registry=self.registry)
        self.latency = Histogram("tts_request_latency_seconds", "Request latency by endpoint",
                                 ["endpoint"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
                                          10, 30, 60))
        self.audio_seconds = Counter("tts_audio_seconds", "Seconds of audio produced",
                                     registry=self.registry)


class _BodyLimit:
    """Rejects bodies over the limit with 413: by their Content-Length, or by counting the bytes
    of a chunked upload (the body is read here, at most the limit, then handed on)."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client left before sending it all
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._reject(send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": b"".join(chunks), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _reject(self, send: Send) -> None:
        body = json.dumps({"detail": f"request body over {self.max_bytes} bytes"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _CountRequests:
    """Counts every HTTP response by endpoint and status, and times it."""

    def __init__(self, app: ASGIApp, metrics: _Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            path = scope.get("path", "")
            self.metrics.requests.labels(path, str(status)).inc()
            self.metrics.latency.labels(path).observe(time.perf_counter() - start)


def create_app(voices: dict[str, Synthesizer], config: ServerConfig | None = None) -> FastAPI:
    """The FastAPI application serving ``voices`` (name → synthesizer; ``"default"`` first)."""
    if not voices:
        raise ValueError("at least one voice is needed")
    cfg = config or ServerConfig()
    metrics = _Metrics()
    batchers = {
        name: Batcher(synth, max_batch=cfg.max_batch, max_wait_ms=cfg.max_wait_ms,
                      max_queue=cfg.max_queue, on_batch=metrics.batch_size.observe,
                      warmup=cfg.warmup)
        for name, synth in voices.items()
    }
    metrics.queue_depth.set_function(lambda: sum(b.depth for b in batchers.values()))
    state = {"draining": False}
    default_voice = next(iter(voices))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for b in batchers.values():
            b.start()
        yield
        state["draining"] = True
        for b in batchers.values():
            await asyncio.to_thread(b.stop)

    # FastAPIOffline: FastAPI whose /docs and /redoc load their assets from this server.
    # validatorUrl None: Swagger UI would otherwise send the schema to validator.swagger.io.
    app = FastAPIOffline(
        title="fastpitch_tpu",
        summary="FastPitch + HiFi-GAN text-to-speech with dynamic batching.",
        lifespan=lifespan,
        swagger_ui_parameters={"validatorUrl": None},
    )

    def batcher_for(voice: str) -> Batcher:
        b = batchers.get(voice)
        if b is None:
            raise HTTPException(422, detail=[{
                "loc": ["body", "voice"], "type": "value_error",
                "msg": f"unknown voice {voice!r}; available: {', '.join(batchers)}"}])
        return b

    def options(req: TTSRequest) -> SynthesisOptions:
        if len(req.text) > cfg.max_chars:
            raise HTTPException(413, detail=f"text is {len(req.text)} characters; the limit is "
                                f"{cfg.max_chars}")
        try:
            return SynthesisOptions(pace=req.pace, pitch_shift=req.pitch_shift,
                                    pitch_scale=req.pitch_scale, speaker=req.speaker)
        except ValueError as e:
            raise HTTPException(422, detail=str(e)) from None

    def submit(b: Batcher, text: str, opts: SynthesisOptions) -> Job:
        if state["draining"]:
            raise HTTPException(503, detail="shutting down",
                                headers={"Retry-After": str(cfg.retry_after_s)})
        try:
            return b.submit(text, opts)
        except QueueFull as e:
            raise HTTPException(503, detail=f"server busy: {e}",
                                headers={"Retry-After": str(cfg.retry_after_s)}) from None

    async def wait(job: Job, request: Request, deadline: float) -> Audio:
        """The job's audio; 504 past the deadline; cancelled if the client goes away."""
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
            raise HTTPException(504, detail="deadline exceeded")
        try:
            audio: Audio = result.result()
        except (InvalidTextError, ValueError, TypeError) as e:
            raise HTTPException(422, detail=str(e)) from None
        metrics.audio_seconds.inc(audio.duration)
        return audio

    @app.post("/v1/tts", response_model=None, responses={
        200: {"content": {"audio/wav": {}, "audio/L16": {},
                          "application/json": {"schema": Base64Audio.model_json_schema()}},
              "description": "The audio in the requested format."},
        413: {"description": "Text or body too long."},
        503: {"description": "Queue full; retry after the Retry-After header's seconds."},
        504: {"description": "Not done within the server's deadline."},
    })
    async def tts(req: TTSRequest, request: Request) -> Response:
        """Speak one text."""
        deadline = time.monotonic() + cfg.deadline_s
        b = batcher_for(req.voice)
        audio = await wait(submit(b, req.text, options(req)), request, deadline)
        if req.format == "wav":
            return Response(audio.to_wav_bytes(), media_type="audio/wav")
        if req.format == "pcm16":
            return Response(audio.to_pcm16_bytes(), media_type=f"audio/L16;rate={audio.sample_rate}",
                            headers={"X-Sample-Rate": str(audio.sample_rate)})
        body = Base64Audio(audio=base64.b64encode(audio.to_wav_bytes()).decode(),
                           sample_rate=audio.sample_rate, duration=audio.duration)
        return JSONResponse(body.model_dump())

    @app.post("/v1/tts/stream", response_model=None, responses={
        200: {"content": {"audio/wav": {}, "audio/L16": {}},
              "description": "Audio sentence by sentence as it is made (chunked)."},
    })
    async def tts_stream(req: TTSRequest, request: Request) -> Response:
        """Speak a text sentence by sentence: the first sentence's audio is sent as soon as it
        is made (``format`` wav or pcm16)."""
        deadline = time.monotonic() + cfg.deadline_s
        b = batcher_for(req.voice)
        opts = options(req)
        if req.format == "base64":
            raise HTTPException(422, detail="streaming sends wav or pcm16")
        try:
            pieces = b.synth.split_for_streaming(req.text)
        except (InvalidTextError, ValueError) as e:
            raise HTTPException(422, detail=str(e)) from None
        if not pieces:
            raise HTTPException(422, detail="the text has nothing to speak")
        first = submit(b, pieces[0], opts)
        rate = b.synth.sample_rate
        pause = np.zeros(int(round(opts.sentence_pause * rate)), np.float32)

        async def body() -> AsyncIterator[bytes]:
            jobs = [first]
            try:
                if req.format == "wav":
                    yield wav_header(rate, None)
                for i in range(len(pieces)):
                    if i + 1 < len(pieces):  # the next sentence waits in the queue meanwhile
                        try:
                            jobs.append(b.submit(pieces[i + 1], opts))
                        except QueueFull:
                            jobs.append(Job(pieces[i + 1], opts))
                            jobs[-1].future.set_exception(QueueFull("queue full"))
                    left = max(0.0, deadline - time.monotonic())
                    audio = await asyncio.wait_for(asyncio.wrap_future(jobs[i].future), left)
                    metrics.audio_seconds.inc(audio.duration)
                    if i:
                        yield Audio(pause, rate).to_pcm16_bytes()
                    yield audio.to_pcm16_bytes()
            except (QueueFull, asyncio.TimeoutError, InvalidTextError, ValueError,
                    RuntimeError) as e:  # the status is sent already: end the stream
                log.warning("stream ended early: %s", e)
            finally:
                for job in jobs:
                    job.future.cancel()

        media = "audio/wav" if req.format == "wav" else f"audio/L16;rate={rate}"
        return StreamingResponse(body(), media_type=media)

    @app.post("/tts", response_model=BatchResponse)
    async def tts_batch(req: BatchRequest, request: Request) -> BatchResponse:
        """Speak several texts with the default voice; base64 WAVs in the same order."""
        deadline = time.monotonic() + cfg.deadline_s
        b = batchers[default_voice]
        for i, text in enumerate(req.texts):
            if len(text) > cfg.max_chars:
                raise HTTPException(413, detail=f"texts[{i}] is over {cfg.max_chars} characters")
        jobs: list[Job] = []
        try:
            for text in req.texts:
                jobs.append(submit(b, text, SynthesisOptions()))
            audios = [await wait(job, request, deadline) for job in jobs]
        finally:
            for job in jobs:
                job.future.cancel()
        return BatchResponse(
            audios=[base64.b64encode(a.to_wav_bytes()).decode() for a in audios],
            sample_rate=b.synth.sample_rate,
        )

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", responses={503: {"description": "Warming up or shutting down."}})
    async def readyz() -> JSONResponse:
        """Ready once every bucket of every voice is compiled."""
        if state["draining"]:
            return JSONResponse({"status": "draining"}, status_code=503)
        if not all(b.ready.is_set() for b in batchers.values()):
            return JSONResponse({"status": "warming up"}, status_code=503)
        return JSONResponse({"status": "ready", "voices": list(voices)})

    @app.get("/metrics")
    async def prometheus() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(_BodyLimit, max_bytes=cfg.max_body_bytes)
    app.add_middleware(_CountRequests, metrics=metrics)
    app.state.batchers = batchers
    app.state.metrics = metrics
    return app


async def _disconnected(request: Request) -> None:
    """Returns when the client has gone (the body has been read already)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return
