"""The HTTP server, as a real process on 127.0.0.1 (tiny fixture model, eager CPU backend), and
its routes alone, in process, with their dependencies overridden (a stand-in synthesizer)."""

from __future__ import annotations

import asyncio
import base64
import concurrent.futures
import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest

from ports import free_port

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
soundfile = pytest.importorskip("soundfile")

import numpy as np  # noqa: E402
from fastapi import FastAPI  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402

from fastpitch_tpu.audio import Audio, wav_header  # noqa: E402
from fastpitch_tpu.engine import SynthesisOptions  # noqa: E402
from fastpitch_tpu.server import ServerConfig, create_app  # noqa: E402
from fastpitch_tpu.server.batcher import Batcher, QueueFull  # noqa: E402
from fastpitch_tpu.server.dependencies import get_default_batcher, get_state  # noqa: E402
from fastpitch_tpu.server.routes import health, tts  # noqa: E402
from fastpitch_tpu.server.state import ServerState  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"
FASTPITCH = FIXTURES / "fastpitch" / "dle_single" / "FastPitch_checkpoint_1000.pt"
MULTI = FIXTURES / "fastpitch" / "dle_multispeaker" / "FastPitch_checkpoint_1000_ddp.pt"
HIFIGAN = FIXTURES / "hifigan" / "jik876_v1small" / "generator_v1small"


class Server:
    def __init__(self, *extra: str, models: bool = True) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        chosen = ["--fastpitch", str(FASTPITCH), "--hifigan", str(HIFIGAN)] if models else []
        cmd = [sys.executable, "-m", "fastpitch_tpu", "serve", "--port", str(self.port), *chosen,
               "--backend", "torch", "--dtype", "float32", "--cache-dir", "", "--log-level",
               "warning", *extra]
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     env=env)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.output()}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError("server did not become ready")

    def output(self) -> str:
        assert self.proc.stdout is not None
        return self.proc.stdout.read().decode(errors="replace") if self.proc.poll() is not None \
            else ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    s = Server("--voice", f"multi={MULTI}", "--max-chars", "400", "--max-body-bytes", "4000",
               "--max-batch", "4")
    yield s
    s.stop()


def post(server: Server, path: str, **body: object) -> httpx.Response:
    return httpx.post(f"{server.url}{path}", json=body, timeout=60)


def metric(server: Server, name: str) -> float:
    text = httpx.get(f"{server.url}/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name) and not line.startswith("#"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_without_a_checkpoint_the_built_in_voice_serves() -> None:
    s = Server("--max-batch", "1", "--token-buckets", "64", "--frame-buckets", "512", "1024",
               models=False)
    try:
        r = post(s, "/v1/tts", text="The built-in voice answers.")
        assert r.status_code == 200
        samples, rate = soundfile.read(io.BytesIO(r.content), dtype="float32")
        assert rate == 22050 and 1.0 < len(samples) / rate < 4.0
        assert float(abs(samples).max()) > 0.05  # speech, not silence
    finally:
        s.stop()


def test_health_and_readiness(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{server.url}/readyz").json()
    assert ready["status"] == "ready" and ready["voices"] == ["default", "multi"]


def test_tts_formats(server: Server) -> None:
    wav = post(server, "/v1/tts", text="Hello world.")
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
    samples, rate = soundfile.read(io.BytesIO(wav.content), dtype="int16")
    assert rate == 22050 and len(samples) % 256 == 0 and len(samples) > 0
    pcm = post(server, "/v1/tts", text="Hello world.", format="pcm16")
    assert pcm.headers["content-type"].startswith("audio/L16")
    assert pcm.content == samples.astype("<i2").tobytes()
    b64 = post(server, "/v1/tts", text="Hello world.", format="base64").json()
    assert base64.b64decode(b64["audio"]) == wav.content
    assert b64["sample_rate"] == 22050 and b64["duration"] == pytest.approx(len(samples) / 22050)


def test_controls_and_voices(server: Server) -> None:
    normal = post(server, "/v1/tts", text="Hello world.", format="pcm16").content
    fast = post(server, "/v1/tts", text="Hello world.", format="pcm16", pace=1.5).content
    assert len(fast) < len(normal)
    multi = post(server, "/v1/tts", text="Hello world.", voice="multi", speaker=2)
    assert multi.status_code == 200
    bad = post(server, "/v1/tts", text="Hello world.", voice="multi", speaker=7)
    assert bad.status_code == 422 and "speaker" in bad.text


def test_compat_batch_endpoint(server: Server) -> None:
    body = post(server, "/tts", texts=["First one.", "Second, longer one."]).json()
    assert len(body["audios"]) == 2 and body["sample_rate"] == 22050
    lengths = [soundfile.info(io.BytesIO(base64.b64decode(a))).frames for a in body["audios"]]
    assert lengths[1] > lengths[0]


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        ({"text": ""}, 422, "text"),
        ({"text": "Hi.", "pace": 0}, 422, "pace"),
        ({"text": "Hi.", "format": "mp3"}, 422, "format"),
        ({"text": "Hi.", "voice": "../../etc/passwd"}, 422, "voice"),
        ({"text": "Hi.", "voice": "/tmp/model.pt"}, 422, "voice"),
        ({"text": "Hi.", "voice": "nobody"}, 422, "unknown voice"),
        ({"text": "Hi.", "extra": 1}, 422, "extra"),
        ({"text": "   "}, 422, "nothing to speak"),
        ({"text": "word " * 100}, 413, "limit"),
    ],
)
def test_errors(server: Server, body: dict[str, object], status: int, fragment: str) -> None:
    r = httpx.post(f"{server.url}/v1/tts", json=body, timeout=30)
    assert r.status_code == status, r.text
    assert fragment in r.text


@pytest.mark.parametrize(
    ("path", "body", "loc"),
    [
        ("/v1/tts", {"text": "   "}, ["body", "text"]),
        ("/v1/tts", {"text": "\n\t \u3000"}, ["body", "text"]),
        ("/v1/tts/stream", {"text": "  "}, ["body", "text"]),
        ("/tts", {"texts": ["Fine.", " "]}, ["body", "texts", 1]),
    ],
)
def test_whitespace_only_text_is_refused_by_the_schema(
    server: Server, path: str, body: dict[str, object], loc: list[object]
) -> None:
    r = httpx.post(f"{server.url}{path}", json=body, timeout=30)
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert error["loc"] == loc and error["type"] == "value_error"
    assert "nothing to speak" in error["msg"] and "whitespace" in error["msg"]


def test_whitespace_only_text_in_the_request_models() -> None:
    from pydantic import ValidationError

    from fastpitch_tpu.server.schemas import BatchRequest, TTSRequest

    for text in (" ", "\t\n", "\u2003\u3000"):
        with pytest.raises(ValidationError, match="nothing to speak"):
            TTSRequest(text=text)
    assert TTSRequest(text=" Hi. ").text == " Hi. "
    with pytest.raises(ValidationError, match="nothing to speak"):
        BatchRequest(texts=["Hi.", "\n"])
    assert TTSRequest.model_json_schema()["properties"]["text"]["pattern"] == r"\S"


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_docs_pages_work_without_internet(server: Server, page: str) -> None:
    r = httpx.get(f"{server.url}{page}", timeout=10)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    # No absolute (http://, https://) or protocol-relative (//host) address of any other host.
    assert not re.search(r"(?i)(https?:)?//[a-z0-9]", html.replace(server.url, "")), html
    assets = re.findall(r"""(?:src|href|spec-url)=["']([^"']+)["']""", html)
    assets += re.findall(r"""\burl:\s*['"]([^'"]+)['"]""", html)
    assert "/openapi.json" in assets and any(a.endswith(".js") for a in assets), assets
    for asset in assets:
        got = httpx.get(urljoin(f"{server.url}{page}", asset), timeout=10)
        assert got.status_code == 200 and got.content, asset


def test_body_limits(server: Server) -> None:
    big = {"text": "a" * 5000}
    r = httpx.post(f"{server.url}/v1/tts", json=big, timeout=30)
    assert r.status_code == 413
    # Without a Content-Length (chunked upload) the bytes are counted as they arrive.
    chunks = iter([b'{"text": "', b"a" * 5000, b'"}'])
    r = httpx.post(f"{server.url}/v1/tts", content=chunks,
                   headers={"content-type": "application/json"}, timeout=30)
    assert r.status_code == 413
    assert httpx.post(f"{server.url}/v1/tts", content=b"{not json",
                      headers={"content-type": "application/json"}).status_code == 422


def test_stream_sends_sentences_as_they_come(server: Server) -> None:
    text = "One short sentence. Another one follows it. And a third to finish."
    with httpx.stream("POST", f"{server.url}/v1/tts/stream", json={"text": text},
                      timeout=60) as r:
        assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
        data = b"".join(r.iter_bytes())
    assert data[:4] == b"RIFF"
    pcm = post(server, "/v1/tts/stream", text=text, format="pcm16").content
    assert len(data) - 44 == len(pcm)
    assert len(pcm) > len(post(server, "/v1/tts", text="One short sentence.",
                               format="pcm16").content)


def test_disconnect_mid_stream_frees_the_server(server: Server) -> None:
    text = " ".join(f"Sentence number {i} is here." for i in range(12))
    with httpx.stream("POST", f"{server.url}/v1/tts/stream", json={"text": text},
                      timeout=60) as r:
        first = next(r.iter_bytes())
        assert first[:4] == b"RIFF"
    # The client is gone: the rest of that stream's jobs are cancelled, the queue drains.
    deadline = time.monotonic() + 30
    while metric(server, "tts_queue_depth") > 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert metric(server, "tts_queue_depth") == 0
    assert post(server, "/v1/tts", text="Still here.").status_code == 200


def test_metrics(server: Server) -> None:
    post(server, "/v1/tts", text="Count me.")
    text = httpx.get(f"{server.url}/metrics").text
    for name in ("tts_requests_total", "tts_queue_depth", "tts_batch_size_bucket",
                 "tts_request_latency_seconds_bucket", "tts_audio_seconds_total"):
        assert name in text
    assert 'endpoint="/v1/tts",status="200"' in text
    assert metric(server, "tts_audio_seconds_total") > 0


def test_concurrent_requests_are_batched(server: Server) -> None:
    before = metric(server, "tts_batch_size_count")
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(lambda i: post(server, "/v1/tts", text=f"Request {i}.").status_code,
                              range(24)))
    assert codes == [200] * 24
    batches = metric(server, "tts_batch_size_count") - before
    assert batches < 24  # several requests shared a device batch


def test_queue_full_and_deadline() -> None:
    s = Server("--max-queue", "1", "--max-batch", "1", "--deadline-s", "0.5", "--max-wait-ms", "0")
    try:
        text = " ".join(["This request takes the device for a while."] * 4)
        with concurrent.futures.ThreadPoolExecutor(24) as pool:
            responses = list(pool.map(lambda _: post(s, "/v1/tts", text=text), range(24)))
        codes = sorted(r.status_code for r in responses)
        assert set(codes) <= {200, 503, 504}, codes
        assert 503 in codes
        busy = next(r for r in responses if r.status_code == 503)
        assert int(busy.headers["retry-after"]) >= 1
        assert 504 in codes or 200 in codes
        assert 500 not in codes
        # Refused while the device still works off the burst, and told when to come back:
        # coming back then, the request is taken.
        for _ in range(20):
            r = post(s, "/v1/tts", text="Hi.")
            if r.status_code != 503:
                break
            time.sleep(int(r.headers["retry-after"]))
        assert r.status_code in (200, 504)
    finally:
        s.stop()


def test_sigterm_drains_in_flight_requests() -> None:
    s = Server("--max-batch", "2")
    text = " ".join(["A sentence that keeps the device busy for a moment."] * 3)
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(post, s, "/v1/tts", text=text) for _ in range(6)]
        # Signal once all six are in (at most two on the device, the rest waiting for it): a
        # request still connecting when the server stops listening would be refused.
        deadline = time.monotonic() + 20
        while metric(s, "tts_queue_depth") < 4 and time.monotonic() < deadline:
            time.sleep(0.01)
        s.proc.send_signal(signal.SIGTERM)
        responses = [f.result() for f in futures]
    assert [r.status_code for r in responses] == [200] * 6
    # uvicorn exits after the drain, re-raising the signal it caught (status -SIGTERM).
    assert s.proc.wait(30) in (0, -signal.SIGTERM)


def test_openapi_has_examples(server: Server) -> None:
    schema = httpx.get(f"{server.url}/openapi.json").json()
    assert {"/v1/tts", "/v1/tts/stream", "/tts", "/healthz", "/readyz", "/metrics"} <= set(
        schema["paths"])
    assert "examples" in schema["components"]["schemas"]["TTSRequest"]


def test_schemathesis_finds_no_server_error(server: Server) -> None:
    """Requests generated from the OpenAPI schema (valid and invalid): any status but 5xx."""
    hypothesis = pytest.importorskip("hypothesis")
    schemathesis = pytest.importorskip("schemathesis")
    from hypothesis import strategies as st
    from schemathesis.generation import GenerationMode

    schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 6
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    for operation, mode in [(op, m) for op in operations for m in modes]:
        if mode is GenerationMode.NEGATIVE and operation.method.upper() == "GET":
            continue  # nothing to get wrong in a GET without parameters

        @hypothesis.settings(max_examples=25, deadline=None, database=None,
                             suppress_health_check=list(hypothesis.HealthCheck))
        @hypothesis.given(data=st.data())
        def run(data: st.DataObject) -> None:
            case = data.draw(operation.as_strategy(generation_mode=mode))
            response = case.call(base_url=server.url, timeout=60)
            assert response.status_code < 500, (case.path, case.body, response.text)

        run()


# The routes alone: each served by a bare FastAPI app holding only its router, with the shared
# state replaced through ``app.dependency_overrides`` (no model, no server process).


class StandInVoice:
    """Takes a Synthesizer's place: every text gets the same known audio; ``|`` separates the
    sentences a stream speaks one by one. Warm-up waits for ``warmed``, each batch for
    ``gate``."""

    sample_rate = 22050

    def __init__(self) -> None:
        ramp = np.linspace(-0.5, 0.5, 512, dtype=np.float32)
        self.audio = Audio(ramp, self.sample_rate)
        self.texts: list[str] = []
        self.warmed = threading.Event()
        self.warmed.set()
        self.gate = threading.Event()
        self.gate.set()

    def warmup(self, progress: bool = False) -> int:
        self.warmed.wait(30)
        return 0

    def synthesize_requests(self, requests: Sequence[tuple[str, Any]]) -> list[Audio]:
        self.gate.wait(30)
        self.texts += [text for text, _ in requests]
        return [self.audio for _ in requests]

    def split_for_streaming(self, text: str) -> list[str]:
        return text.split("|")


@pytest.fixture
def stand_in_state() -> Iterator[ServerState]:
    voices: dict[str, Any] = {"default": StandInVoice(), "other": StandInVoice()}
    state = ServerState.create(voices, ServerConfig(max_chars=50))
    state.start()
    yield state
    for voice in voices.values():
        voice.warmed.set()
        voice.gate.set()
    asyncio.run(state.stop())


def route_alone(router: Any, state: ServerState) -> TestClient:
    app = FastAPI()
    app.include_router(router)
    app.dependency_overrides[get_state] = lambda: state
    return TestClient(app)


def test_readyz_alone_follows_the_state() -> None:
    voice = StandInVoice()
    voice.warmed.clear()
    state = ServerState.create({"default": voice, "other": StandInVoice()},  # type: ignore[dict-item]
                               ServerConfig())
    client = route_alone(health.router, state)
    state.start()
    try:
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json() == {"status": "warming up"}
        voice.warmed.set()
        assert all(b.ready.wait(10) for b in state.batchers.values())
        r = client.get("/readyz")
        assert r.status_code == 200
        assert r.json() == {"status": "ready", "voices": ["default", "other"]}
        state.draining = True
        r = client.get("/readyz")
        assert r.status_code == 503 and r.json() == {"status": "draining"}
        assert client.get("/healthz").json() == {"status": "ok"}
    finally:
        voice.warmed.set()
        asyncio.run(state.stop())


def test_tts_alone_answers_with_the_synthesizers_audio(stand_in_state: ServerState) -> None:
    client = route_alone(tts.router, stand_in_state)
    other: Any = stand_in_state.voices["other"]
    wav = client.post("/v1/tts", json={"text": "Hello.", "voice": "other"})
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
    assert wav.content == other.audio.to_wav_bytes()
    assert other.texts == ["Hello."]
    pcm = client.post("/v1/tts", json={"text": "Hello.", "format": "pcm16"})
    assert pcm.content == other.audio.to_pcm16_bytes()
    assert pcm.headers["x-sample-rate"] == "22050"
    b64 = client.post("/v1/tts", json={"text": "Hello.", "format": "base64"}).json()
    assert base64.b64decode(b64["audio"]) == wav.content
    batch = client.post("/tts", json={"texts": ["One.", "Two."]}).json()
    assert [base64.b64decode(a) for a in batch["audios"]] == [wav.content] * 2
    unknown = client.post("/v1/tts", json={"text": "Hello.", "voice": "nobody"})
    assert unknown.status_code == 422 and "unknown voice" in unknown.text
    long = client.post("/v1/tts", json={"text": "a" * 51})
    assert long.status_code == 413 and "limit is 50" in long.text
    stand_in_state.draining = True
    refused = client.post("/v1/tts", json={"text": "Hello."})
    assert refused.status_code == 503 and refused.headers["retry-after"] == "1"


def test_tts_stream_alone_sends_sentences_with_pauses(stand_in_state: ServerState) -> None:
    client = route_alone(tts.router, stand_in_state)
    audio: Audio = stand_in_state.voices["default"].audio  # type: ignore[attr-defined]
    pause = np.zeros(int(round(SynthesisOptions().sentence_pause * audio.sample_rate)),
                     np.float32)
    sentence, gap = audio.to_pcm16_bytes(), Audio(pause, audio.sample_rate).to_pcm16_bytes()
    r = client.post("/v1/tts/stream", json={"text": "One.|Two.|Three."})
    assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
    assert r.content == wav_header(audio.sample_rate, None) + sentence + gap + sentence + gap \
        + sentence
    pcm = client.post("/v1/tts/stream", json={"text": "One.", "format": "pcm16"})
    assert pcm.content == sentence
    assert client.post("/v1/tts/stream", json={"text": "Hi.", "format": "base64"}
                       ).status_code == 422


def test_one_dependency_overridden_alone(stand_in_state: ServerState) -> None:
    """Replacing the default voice's batcher alone sends /tts to the batcher given instead."""
    app = FastAPI()
    app.include_router(tts.router)
    app.dependency_overrides[get_state] = lambda: stand_in_state
    app.dependency_overrides[get_default_batcher] = lambda: stand_in_state.batchers["other"]
    r = TestClient(app).post("/tts", json={"texts": ["Anyone.", "There?"]})
    assert r.status_code == 200 and len(r.json()["audios"]) == 2
    assert stand_in_state.voices["other"].texts == ["Anyone.", "There?"]  # type: ignore[attr-defined]
    assert stand_in_state.voices["default"].texts == []  # type: ignore[attr-defined]


def test_create_app_keeps_its_state_on_the_app() -> None:
    voice = StandInVoice()
    app = create_app({"default": voice}, ServerConfig(max_batch=2))  # type: ignore[dict-item]
    state = app.state.server
    assert isinstance(state, ServerState) and state.config.max_batch == 2
    assert all(isinstance(b, Batcher) for b in state.batchers.values())
    with TestClient(app) as client:  # runs the lifespan: the batchers start, then drain
        assert all(b.ready.wait(10) for b in state.batchers.values())
        assert client.get("/readyz").json() == {"status": "ready", "voices": ["default"]}
        r = client.post("/v1/tts", json={"text": "Hello."})
        assert r.content == voice.audio.to_wav_bytes()
        assert 'endpoint="/v1/tts",status="200"' in client.get("/metrics").text
    assert state.draining


def sample(state: ServerState, name: str, **labels: str) -> float:
    value = state.metrics.registry.get_sample_value(name, labels)
    return 0.0 if value is None else value


@pytest.mark.parametrize("path", ["/v1/tts", "/v1/tts/stream", "/tts"])
@pytest.mark.parametrize("value", ["soon", "0", "-2", "nan", "inf", ""])
def test_an_invalid_request_timeout_is_refused_in_one_line(
    stand_in_state: ServerState, path: str, value: str
) -> None:
    client = route_alone(tts.router, stand_in_state)
    body = {"texts": ["Hi."]} if path == "/tts" else {"text": "Hi."}
    r = client.post(path, json=body, headers={"X-Request-Timeout": value})
    assert r.status_code == 422, r.text
    assert r.json()["detail"] == f"X-Request-Timeout must be a positive number of seconds, " \
        f"got {value!r}"


@pytest.mark.parametrize("path", ["/v1/tts", "/v1/tts/stream", "/tts"])
def test_a_valid_request_timeout_is_served(stand_in_state: ServerState, path: str) -> None:
    client = route_alone(tts.router, stand_in_state)
    body = {"texts": ["Hi."]} if path == "/tts" else {"text": "Hi."}
    for value in ("2.5", "1e9"):  # the second is capped at the server's deadline
        assert client.post(path, json=body, headers={"X-Request-Timeout": value}
                           ).status_code == 200


def test_a_request_that_would_be_late_is_refused_at_once(stand_in_state: ServerState) -> None:
    """With work queued ahead on a device measured as slow, a short deadline gets 503 and a
    Retry-After before any waiting (a request that waited would end in 504 instead)."""
    client = route_alone(tts.router, stand_in_state)
    voice: Any = stand_in_state.voices["default"]
    b = stand_in_state.batchers["default"]
    b.admission.estimate.observe(1, 10, 5.0)  # 5 s for a request of 10 characters
    voice.gate.clear()  # the device is busy with what follows
    held = [b.submit("x" * 10, SynthesisOptions()) for _ in range(3)]
    short = {"X-Request-Timeout": "2"}
    refusals = [client.post("/v1/tts", json={"text": "Hello."}, headers=short),
                client.post("/v1/tts/stream", json={"text": "One.|Two."}, headers=short),
                client.post("/tts", json={"texts": ["One.", "Two."]}, headers=short)]
    for r in refusals:
        assert r.status_code == 503, r.text
        assert int(r.headers["retry-after"]) >= 1 and "server busy" in r.json()["detail"]
    assert sample(stand_in_state, "tts_rejected_total", voice="default", reason="deadline") == 3
    assert sample(stand_in_state, "tts_service_rate_chars_per_second", voice="default") > 0
    assert sample(stand_in_state, "tts_expected_wait_seconds", voice="default") > 10
    voice.gate.set()
    assert all(isinstance(job.future.result(10), Audio) for job in held)
    assert voice.texts == ["x" * 10] * 3  # nothing of the refused requests reached the device


def test_a_full_queue_is_counted_and_told_when_to_retry() -> None:
    voice = StandInVoice()
    state = ServerState.create({"default": voice},  # type: ignore[dict-item]
                               ServerConfig(max_queue=2, max_batch=1, retry_after_s=2))
    state.start()
    client = route_alone(tts.router, state)
    try:
        voice.gate.clear()
        b = state.batchers["default"]
        held = [b.submit("x", SynthesisOptions())]
        until = time.monotonic() + 10
        while b.depth and time.monotonic() < until:  # the device takes it and waits on the gate
            time.sleep(0.001)
        held += [b.submit("x", SynthesisOptions()) for _ in range(2)]  # these two wait
        with pytest.raises(QueueFull):
            b.submit("x", SynthesisOptions())
        r = client.post("/v1/tts", json={"text": "Hello."})
        assert r.status_code == 503 and r.headers["retry-after"] == "2"
        assert sample(state, "tts_rejected_total", voice="default", reason="queue_full") == 1
        voice.gate.set()
        assert all(isinstance(job.future.result(10), Audio) for job in held)
    finally:
        voice.gate.set()
        asyncio.run(state.stop())


def test_an_admitted_request_past_its_deadline_is_504_and_counted(
    stand_in_state: ServerState,
) -> None:
    """Nothing is ahead, so the request is admitted; the device then outlasts its deadline."""
    client = route_alone(tts.router, stand_in_state)
    voice: Any = stand_in_state.voices["default"]
    voice.gate.clear()
    r = client.post("/v1/tts", json={"text": "Hello."}, headers={"X-Request-Timeout": "0.2"})
    voice.gate.set()
    assert r.status_code == 504
    assert sample(stand_in_state, "tts_deadline_exceeded_total", endpoint="/v1/tts") == 1
    assert sample(stand_in_state, "tts_rejected_total", voice="default", reason="deadline") == 0


def test_openapi_documents_refusals_and_the_timeout_header(stand_in_state: ServerState) -> None:
    schema = route_alone(tts.router, stand_in_state).get("/openapi.json").json()
    for path in ("/v1/tts", "/v1/tts/stream", "/tts"):
        post_op = schema["paths"][path]["post"]
        refusal = post_op["responses"]["503"]
        assert "deadline" in refusal["description"] and "Retry-After" in refusal["headers"]
        params = {p["name"]: p for p in post_op.get("parameters", [])}
        assert params["X-Request-Timeout"]["in"] == "header"
    assert "504" in schema["paths"]["/v1/tts"]["post"]["responses"]
