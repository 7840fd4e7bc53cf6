"""Soak test of ``fastpitch-tpu serve``: a mixed load for ``--minutes`` while the server
process's resident memory, open file descriptors and threads are sampled.

The load: closed-loop clients (aiohttp), each request one of whole requests (wav, pcm16,
base64), streams read to the end, the ``/tts`` batch endpoint, streams whose client leaves
after the first bytes, requests with a short ``X-Request-Timeout``, and bad requests (invalid
JSON, text over the limit, a body over the limit, empty text, an unknown voice, an invalid
``X-Request-Timeout``). Every answer must have one of the statuses its kind expects.

Leaks are judged at rest, where the server holds no request: after a warm-up phase (the first
5 minutes, or the first sixth of a shorter run) the load pauses and the server's figures are
taken, and again after the main phase. Goals: resident memory at most 5 % above the first
figure, no more file descriptors or threads than then, no unexpected status, the server
alive. The exit status is 1 when one is missed.

    PYTHONPATH=python python benches/soak.py --minutes 30 --backend torch --max-batch 4
    PYTHONPATH=python python benches/soak.py --url http://127.0.0.1:8000 --pid 1234 --minutes 30
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

SENTENCES = [
    "The Commission has carefully considered the testimony of the witnesses.",
    "He paid twenty dollars for the book on May third.",
    "Yes.",
    "Thank you very much.",
    "In the light of these findings, it concluded that the shots came from the window.",
]

# What each kind of request may be answered with. 503 (refused at admission) and 504 (admitted,
# then late) are normal answers of a loaded server; a stream's status is sent before its audio,
# so it is never 504.
EXPECTED: dict[str, set[int]] = {
    "whole": {200, 503, 504},
    "stream": {200, 503},
    "batch": {200, 503, 504},
    "disconnect": {200, 503},
    "short_timeout": {200, 503, 504},
    "bad_json": {422},
    "too_long": {413},
    "too_big": {413},
    "empty": {422},
    "unknown_voice": {422},
    "bad_header": {422},
}
WEIGHTS = {"whole": 6, "stream": 3, "batch": 2, "disconnect": 2, "short_timeout": 1,
           "bad_json": 1, "too_long": 1, "too_big": 1, "empty": 1, "unknown_voice": 1,
           "bad_header": 1}

DRIFT_GOAL = 0.05


@dataclass
class Limits:
    """The server's limits, for requests that must exceed them."""

    max_chars: int = 5000
    max_body_bytes: int = 256 * 1024


@dataclass
class Tally:
    counts: dict[str, dict[int, int]] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)

    def add(self, kind: str, status: int, detail: str = "") -> None:
        per_kind = self.counts.setdefault(kind, {})
        per_kind[status] = per_kind.get(status, 0) + 1
        if status not in EXPECTED[kind] and len(self.unexpected) < 50:
            self.unexpected.append(f"{kind}: {status} {detail[:200]}")

    @property
    def total_unexpected(self) -> int:
        return sum(n for kind, per in self.counts.items() for status, n in per.items()
                   if status not in EXPECTED[kind])


# The process's figures, from /proc (Linux).


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return -1


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


def figures(pid: int) -> dict[str, float]:
    return {"rss_mib": rss_kib(pid) / 1024, "fds": open_fds(pid), "threads": threads(pid)}


# The requests, one coroutine per kind: each returns (status, detail).

Request = Callable[[Any, str, random.Random, Limits], Awaitable[tuple[int, str]]]


async def _post(session: Any, url: str, **kwargs: Any) -> tuple[int, str]:
    async with session.post(url, **kwargs) as r:
        body = await r.read()
        return r.status, "" if r.status < 400 else body.decode(errors="replace")


async def whole(session: Any, url: str, rng: random.Random, limits: Limits) -> tuple[int, str]:
    fmt = rng.choice(["wav", "pcm16", "base64"])
    return await _post(session, f"{url}/v1/tts", json={"text": rng.choice(SENTENCES),
                                                       "format": fmt})


async def stream(session: Any, url: str, rng: random.Random, limits: Limits) -> tuple[int, str]:
    text = " ".join(rng.sample(SENTENCES, 3))
    return await _post(session, f"{url}/v1/tts/stream", json={"text": text})


async def batch(session: Any, url: str, rng: random.Random, limits: Limits) -> tuple[int, str]:
    return await _post(session, f"{url}/tts", json={"texts": rng.sample(SENTENCES, 2)})


async def disconnect(session: Any, url: str, rng: random.Random,
                     limits: Limits) -> tuple[int, str]:
    """A stream of several sentences whose client leaves after its first bytes (the
    connection is closed)."""
    text = rng.choice(SENTENCES)
    while len(text) < limits.max_chars // 2:
        text += " " + rng.choice(SENTENCES)
    async with session.post(f"{url}/v1/tts/stream", json={"text": text}) as r:
        if r.status == 200:
            await r.content.readany()
        r.close()
        return r.status, ""


async def short_timeout(session: Any, url: str, rng: random.Random,
                        limits: Limits) -> tuple[int, str]:
    return await _post(session, f"{url}/v1/tts", json={"text": rng.choice(SENTENCES)},
                       headers={"X-Request-Timeout": rng.choice(["0.05", "0.5", "2"])})


async def bad_json(session: Any, url: str, rng: random.Random, limits: Limits) -> tuple[int, str]:
    return await _post(session, f"{url}/v1/tts", data=b'{"text": "Hi.',
                       headers={"content-type": "application/json"})


async def too_long(session: Any, url: str, rng: random.Random, limits: Limits) -> tuple[int, str]:
    text = "word " * (limits.max_chars // 5 + 1)
    if len(text.encode()) + 20 > limits.max_body_bytes:  # the text limit, not the body's
        text = "a" * (limits.max_chars + 1)
    return await _post(session, f"{url}/v1/tts", json={"text": text})


async def too_big(session: Any, url: str, rng: random.Random, limits: Limits) -> tuple[int, str]:
    return await _post(session, f"{url}/v1/tts",
                       json={"text": "a" * (limits.max_body_bytes + 1)})


async def empty(session: Any, url: str, rng: random.Random, limits: Limits) -> tuple[int, str]:
    return await _post(session, f"{url}/v1/tts", json={"text": rng.choice(["", "   "])})


async def unknown_voice(session: Any, url: str, rng: random.Random,
                        limits: Limits) -> tuple[int, str]:
    return await _post(session, f"{url}/v1/tts", json={"text": "Hi.", "voice": "nobody"})


async def bad_header(session: Any, url: str, rng: random.Random,
                     limits: Limits) -> tuple[int, str]:
    return await _post(session, f"{url}/v1/tts", json={"text": "Hi."},
                       headers={"X-Request-Timeout": rng.choice(["soon", "-1", "0", "nan"])})


REQUESTS: dict[str, Request] = {
    "whole": whole, "stream": stream, "batch": batch, "disconnect": disconnect,
    "short_timeout": short_timeout, "bad_json": bad_json, "too_long": too_long,
    "too_big": too_big, "empty": empty, "unknown_voice": unknown_voice, "bad_header": bad_header,
}


async def mixed_load(url: str, seconds: float, clients: int, tally: Tally, limits: Limits,
                     seed: int = 0, think_s: float = 0.05) -> None:
    """``clients`` closed-loop clients sending requests of every kind for ``seconds``; every
    answer goes to ``tally``. Returns once every request has been answered."""
    import aiohttp

    stop_at = time.monotonic() + seconds
    # A deck of the kinds, each as often as its weight, that starts with one of each; the
    # clients deal from it in turn, so that every kind is sent early even in a short run.
    shuffle = random.Random(seed).shuffle
    first, rest = list(WEIGHTS), [k for k, w in WEIGHTS.items() for _ in range(w - 1)]
    shuffle(first)
    shuffle(rest)
    deck = first + rest
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:

        async def client(index: int) -> None:
            rng = random.Random(seed * 1000 + index)
            position = index
            while time.monotonic() < stop_at:
                kind = deck[position % len(deck)]
                position += clients
                try:
                    status, detail = await REQUESTS[kind](session, url, rng, limits)
                except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                    status, detail = 0, f"no answer: {type(e).__name__} {e}"
                tally.add(kind, status, detail)
                await asyncio.sleep(rng.uniform(0, 2 * think_s))

        await asyncio.gather(*(client(i) for i in range(clients)))


async def sample_while(pid: int, every_s: float, samples: list[dict[str, Any]],
                       start: float, phase: str, until: asyncio.Future[None]) -> None:
    """Appends the process's figures every ``every_s`` seconds until ``until`` is done."""
    while not until.done():
        samples.append({"t": time.monotonic() - start, "phase": phase, **figures(pid)})
        await asyncio.wait({until}, timeout=every_s)


async def at_rest(pid: int, baseline: dict[str, float] | None,
                  settle_s: float) -> dict[str, float]:
    """The figures once the server holds no request: closed connections take a moment to
    leave, so wait up to ``settle_s`` for the counts to come back to ``baseline`` (or to stop
    moving when there is none)."""
    end = time.monotonic() + settle_s
    last = figures(pid)
    while time.monotonic() < end:
        await asyncio.sleep(0.5)
        now = figures(pid)
        if baseline is not None and now["fds"] <= baseline["fds"] \
                and now["threads"] <= baseline["threads"]:
            return now
        if baseline is None and now["fds"] == last["fds"] and now["threads"] == last["threads"]:
            return now
        last = now
    return figures(pid)


async def phase(url: str, pid: int, seconds: float, clients: int, tally: Tally, limits: Limits,
                samples: list[dict[str, Any]], start: float, name: str, every_s: float,
                seed: int) -> None:
    """One phase of load with the process sampled throughout."""
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    sampler = asyncio.ensure_future(sample_while(pid, every_s, samples, start, name, done))
    try:
        await mixed_load(url, seconds, clients, tally, limits, seed)
    finally:
        done.set_result(None)
        await sampler


async def soak(url: str, pid: int, seconds: float, *, clients: int = 8,
               limits: Limits | None = None, sample_s: float = 5.0,
               settle_s: float = 15.0) -> dict[str, Any]:
    """The whole soak against a running server: warm-up (5 minutes or the first sixth), the
    figures at rest, the main phase, the figures at rest again; the report with the goals
    missed."""
    limits = limits or Limits()
    warm = min(300.0, seconds / 6)
    tally = Tally()
    samples: list[dict[str, Any]] = []
    start = time.monotonic()
    await phase(url, pid, warm, clients, tally, limits, samples, start, "warm-up", sample_s, 1)
    baseline = await at_rest(pid, None, settle_s)
    await phase(url, pid, seconds - warm, clients, tally, limits, samples, start, "main",
                sample_s, 2)
    final = await at_rest(pid, baseline, settle_s)
    return report(tally, samples, baseline, final, alive=_alive(url, pid))


def report(tally: Tally, samples: list[dict[str, Any]], baseline: dict[str, float],
           final: dict[str, float], alive: bool) -> dict[str, Any]:
    main = [s for s in samples if s["phase"] == "main"]
    out: dict[str, Any] = {
        "requests": {kind: dict(sorted(per.items()))
                     for kind, per in sorted(tally.counts.items())},
        "unexpected": tally.total_unexpected,
        "unexpected_examples": tally.unexpected[:10],
        "at_rest_after_warm_up": baseline,
        "at_rest_at_end": final,
        "rss_drift": final["rss_mib"] / baseline["rss_mib"] - 1,
        "rss_peak_under_load_mib": max((s["rss_mib"] for s in main), default=0.0),
        "fd_growth": final["fds"] - baseline["fds"],
        "thread_growth": final["threads"] - baseline["threads"],
        "server_alive": alive,
        "samples": samples,
    }
    failed = []
    if out["unexpected"]:
        failed.append("unexpected statuses")
    if out["rss_drift"] > DRIFT_GOAL:
        failed.append(f"RSS drift over {100 * DRIFT_GOAL:.0f} %")
    if out["fd_growth"] > 0:
        failed.append("file descriptors leaked")
    if out["thread_growth"] > 0:
        failed.append("threads leaked")
    if not alive:
        failed.append("server not alive")
    out["goals_failed"] = failed
    return out


def _alive(url: str, pid: int) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=10) as r:
            return bool(r.status == 200) and Path(f"/proc/{pid}").exists()
    except (urllib.error.URLError, OSError):
        return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(serve_args: list[str],
                 timeout_s: float = 600.0) -> tuple[subprocess.Popen[bytes], str]:
    """``fastpitch-tpu serve`` on a free loopback port with ``serve_args``, once ready; its
    output goes to this process's stderr."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "fastpitch_tpu", "serve", "--host", "127.0.0.1", "--port",
           str(port), "--log-level", "warning", *serve_args]
    proc = subprocess.Popen(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                            stdout=sys.stderr, stderr=sys.stderr)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited during start-up (status {proc.returncode})")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=2) as r:
                if r.status == 200:
                    return proc, url
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    stop_server(proc)
    raise RuntimeError("the server did not become ready")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def _print(out: dict[str, Any], seconds: float) -> None:
    base, end = out["at_rest_after_warm_up"], out["at_rest_at_end"]
    print(f"soak of {seconds / 60:.1f} min: requests by kind and status {out['requests']}\n"
          f"  unexpected statuses: {out['unexpected']} {out['unexpected_examples']}\n"
          f"  at rest after the warm-up: RSS {base['rss_mib']:.1f} MiB, {base['fds']:.0f} fds, "
          f"{base['threads']:.0f} threads; at the end: RSS {end['rss_mib']:.1f} MiB, "
          f"{end['fds']:.0f} fds, {end['threads']:.0f} threads\n"
          f"  RSS drift {100 * out['rss_drift']:+.2f} % (goal <= {100 * DRIFT_GOAL:.0f} %), "
          f"peak under load {out['rss_peak_under_load_mib']:.1f} MiB; fd growth "
          f"{out['fd_growth']:+.0f}, thread growth {out['thread_growth']:+.0f} (goal 0); server "
          f"alive {out['server_alive']}\n"
          f"  goals failed: {', '.join(out['goals_failed']) or 'none'}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--sample-s", type=float, default=5.0, help="seconds between samples")
    ap.add_argument("--url", help="a running server (with --pid) instead of starting one")
    ap.add_argument("--pid", type=int, help="that server's process id (for /proc/PID)")
    ap.add_argument("--max-chars", type=int, default=5000, help="the server's --max-chars")
    ap.add_argument("--max-body-bytes", type=int, default=256 * 1024)
    ap.add_argument("--json", help="write the report here")
    server = ap.add_argument_group("the server started (without --url); any other argument of "
                                   "fastpitch-tpu serve is passed on too")
    for flag, default in (("--fastpitch", "default"), ("--backend", "torch"),
                          ("--dtype", "float32")):
        server.add_argument(flag, default=default)
    server.add_argument("--hifigan")
    args, serve_args = ap.parse_known_args()
    if (args.url is None) != (args.pid is None):
        ap.error("--url and --pid go together")
    limits = Limits(args.max_chars, args.max_body_bytes)
    proc = None
    if args.url is None:
        serve_args += ["--fastpitch", args.fastpitch, "--backend", args.backend, "--dtype",
                       args.dtype, "--max-chars", str(args.max_chars), "--max-body-bytes",
                       str(args.max_body_bytes)]
        if args.hifigan:
            serve_args += ["--hifigan", args.hifigan]
        proc, url = start_server(serve_args)
        pid = proc.pid
    else:
        url, pid = args.url.rstrip("/"), args.pid
    try:
        out = asyncio.run(soak(url, pid, 60 * args.minutes, clients=args.clients,
                               limits=limits, sample_s=args.sample_s))
    finally:
        if proc is not None:
            stop_server(proc)
    _print(out, 60 * args.minutes)
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    if out["goals_failed"]:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
