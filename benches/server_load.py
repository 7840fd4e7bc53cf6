"""Load test of ``fastpitch-tpu serve`` on loopback: throughput and latency at several
concurrencies, the batch sizes reached, and an overload run at 10x the measured capacity.

The overload (open loop, ``--overload-seconds``) reports what deadline-aware admission is for:
how fast refusals (503) are answered (p50 / p99), the share of admitted requests that still end
in 504, the goodput (answers 200 within the window) against the capacity measured just before,
any other 5xx or unanswered request, whether the server is alive afterwards and its resident
memory before and after. The exit status is 1 when one of the goals is missed (rejections
p99 <= 50 ms, <= 1 % of admitted requests in 504, goodput >= 90 %, no other 5xx, server alive).

It starts the server itself (127.0.0.1 only) on the benchmark model of ``fastpitch-tpu bench``
(FastPitch 1.1 architecture, random weights, exported to a temporary file) unless ``--fastpitch``
is given, and first measures the engine alone at the server's batch size in the same process
(the reference for the server's aggregate real-time factor). Everything is bounded: each level
runs for ``--seconds`` or ``--requests``, whichever ends first. With the jax backend set
``XLA_PYTHON_CLIENT_PREALLOCATE=false`` (two processes share the GPU: this one and the server).
The clients (aiohttp) run in ``--client-processes`` processes, so that the load generator's own
Python does not limit the rate it measures.

    PYTHONPATH=python python benches/server_load.py --backend torch --concurrency 1 8 64
    PYTHONPATH=python python benches/server_load.py --stand-in-ms 40   # the server's overhead
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

SENTENCES = [
    "Printing, in the only sense with which we are at present concerned, differs from most if "
    "not from all the arts.",
    "The Commission has carefully considered the testimony of the witnesses.",
    "He paid twenty dollars for the book on May third.",
    "In the light of these findings, it has concluded that the shots were fired from the window.",
    "Yes.",
    "The rifle belonged to the assassin, who fired three times during the motorcade.",
    "And it is worth mention in passing that, as an example of fine typography, the earliest book "
    "printed with movable types surpasses all later ones.",
    "Thank you very much.",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str, timeout: float = 10.0) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return int(r.status), r.read().decode()
    except urllib.error.HTTPError as e:
        return int(e.code), ""


def _rss_peak_kib(pid: int) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    found = re.search(r"VmHWM:\s+(\d+)", status)
    return int(found.group(1)) if found else -1


def _histogram(metrics: str, name: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for line in metrics.splitlines():
        m = re.match(rf'{name}_bucket{{le="([^"]+)"}} (\S+)', line)
        if m:
            out[m.group(1)] = float(m.group(2))
    return out


async def _clients(url: str, clients: int, stop_at: float, max_requests: int,
                   seed: int) -> dict[str, Any]:
    """``clients`` closed-loop clients (each sends its next request when the last is answered)
    until the wall-clock time ``stop_at``; one process's share of a level."""
    import aiohttp

    latencies: list[float] = []
    statuses: dict[str, int] = {}
    audio_s = 0.0
    sent = 0
    rng = random.Random(seed)
    connector = aiohttp.TCPConnector(limit=clients + 8)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=300)) as session:

        async def worker() -> None:
            nonlocal audio_s, sent
            while time.time() < stop_at and sent < max_requests:
                sent += 1
                t0 = time.perf_counter()
                async with session.post(f"{url}/v1/tts", json={
                        "text": rng.choice(SENTENCES), "format": "pcm16"}) as r:
                    body = await r.read()
                    rate = int(r.headers.get("x-sample-rate", 22050))
                latencies.append(time.perf_counter() - t0)
                statuses[str(r.status)] = statuses.get(str(r.status), 0) + 1
                if r.status == 200:
                    audio_s += len(body) / 2 / rate

        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        wall = time.perf_counter() - t0
    return {"latencies": latencies, "statuses": statuses, "audio_s": audio_s, "wall": wall}


def _clients_process(job: tuple[str, int, float, int, int]) -> dict[str, Any]:
    url, clients, stop_at, max_requests, seed = job
    return asyncio.run(_clients(url, clients, stop_at, max_requests, seed))


def _merge(statuses: list[dict[str, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for part in statuses:
        for key, count in part.items():
            out[key] = out.get(key, 0) + count
    return out


def _closed_loop(url: str, clients: int, seconds: float, max_requests: int,
                 processes: int) -> dict[str, Any]:
    """A level of ``clients`` closed-loop clients spread over client processes, so that the
    load generator's own Python is not what limits the rate."""
    import multiprocessing

    procs = max(1, min(processes, clients))
    shares = [clients // procs + (i < clients % procs) for i in range(procs)]
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        pool.map(abs, range(procs))  # processes started (and imports done) before the clock
        stop_at = time.time() + seconds
        jobs = [(url, n, stop_at, max(1, max_requests * n // clients), seed)
                for seed, n in enumerate(shares)]
        parts = pool.map(_clients_process, jobs)
    latencies = sorted(x for p in parts for x in p["latencies"])
    wall = max(p["wall"] for p in parts)
    return {
        "clients": clients, "client_processes": procs, "requests": len(latencies),
        "statuses": _merge([p["statuses"] for p in parts]),
        "req_per_s": len(latencies) / wall, "rtf": sum(p["audio_s"] for p in parts) / wall,
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] * 1e3,
    }


async def _open_loop(url: str, rate: float, seconds: float, max_requests: int,
                     seed: int = 1, timeout_s: float | None = None) -> dict[str, Any]:
    """Requests arrive at ``rate`` per second whatever the answers: overload. Each answer is
    recorded as (status, seconds it took, seconds from the start to its end, seconds of audio
    it brought)."""
    import aiohttp

    records: list[tuple[str, float, float, float]] = []
    rng = random.Random(seed)
    tasks = []
    headers = {"X-Request-Timeout": str(timeout_s)} if timeout_s else {}
    connector = aiohttp.TCPConnector(limit=4096)
    async with aiohttp.ClientSession(connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=300)) as session:
        start = time.monotonic()

        async def one() -> None:
            t0 = time.monotonic()
            audio_s = 0.0
            try:
                async with session.post(f"{url}/v1/tts", headers=headers, json={
                        "text": rng.choice(SENTENCES), "format": "pcm16"}) as r:
                    body = await r.read()
                    key = str(r.status)
                    if r.status == 200:
                        audio_s = len(body) / 2 / int(r.headers.get("x-sample-rate", 22050))
            except (aiohttp.ClientError, asyncio.TimeoutError) as e:
                key = f"no answer ({type(e).__name__})"
            t1 = time.monotonic()
            records.append((key, t1 - t0, t1 - start, audio_s))

        n = 0
        while time.monotonic() - start < seconds and n < max_requests:
            tasks.append(asyncio.create_task(one()))
            n += 1
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        sending = time.monotonic() - start
        await asyncio.gather(*tasks)
    return {"rate": rate, "sent": n, "send_seconds": sending, "records": records}


def _open_loop_process(job: tuple[str, float, float, int, int, float | None]) -> dict[str, Any]:
    url, rate, seconds, max_requests, seed, timeout_s = job
    return asyncio.run(_open_loop(url, rate, seconds, max_requests, seed, timeout_s))


def _rss_kib(pid: int) -> int:
    found = re.search(r"VmRSS:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    return int(found.group(1)) if found else -1


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


OVERLOAD_GOALS = {
    "rejection_p99_ms": ("<=", 50.0),
    "admitted_504_fraction": ("<=", 0.01),
    "goodput_vs_capacity": (">=", 0.90),
    "other_5xx": ("<=", 0),
    "unanswered": ("<=", 0),
}


def _overload_summary(records: list[tuple[str, float, float, float]], seconds: float,
                      capacity: float, capacity_rtf: float) -> dict[str, Any]:
    """What the overload shows: how fast refusals come, how many admitted requests still time
    out, the useful throughput while it lasts (answers 200 that ended within the sending
    window) against the capacity measured before, and any other server error.

    Goodput is judged in seconds of audio: admission near its limit favours short texts (their
    own work fits where a long one's does not), so requests per second would flatter it."""
    statuses: dict[str, int] = {}
    for status, *_ in records:
        statuses[status] = statuses.get(status, 0) + 1
    rejections = [latency for status, latency, *_ in records if status == "503"]
    admitted = [status for status, *_ in records if status != "503"]
    done = [audio for status, _, end, audio in records if status == "200" and end <= seconds]
    good = len(done)
    out: dict[str, Any] = {
        "statuses": statuses,
        "rejected": len(rejections),
        "rejection_p50_ms": 1e3 * _percentile(rejections, 0.5),
        "rejection_p99_ms": 1e3 * _percentile(rejections, 0.99),
        "admitted": len(admitted),
        "admitted_504_fraction": admitted.count("504") / len(admitted) if admitted else 0.0,
        "goodput_req_per_s": good / seconds,
        "goodput_req_vs_capacity": good / seconds / capacity,
        "goodput_rtf": sum(done) / seconds,
        "goodput_vs_capacity": sum(done) / seconds / capacity_rtf,
        "other_5xx": sum(1 for s in admitted if s.isdigit() and s[0] == "5" and s != "504"),
        "unanswered": sum(1 for s in admitted if not s.isdigit()),
    }
    out["goals_failed"] = [name for name, (op, goal) in OVERLOAD_GOALS.items()
                           if not (out[name] <= goal if op == "<=" else out[name] >= goal)]
    return out


def _overload(url: str, rate: float, seconds: float, processes: int, capacity: float,
              capacity_rtf: float, timeout_s: float | None) -> dict[str, Any]:
    """The open loop split over several client processes (one Python client cannot send fast
    enough to overload a GPU server on its own)."""
    import multiprocessing

    share = rate / processes
    jobs = [(url, share, seconds, int(share * seconds) + 1, seed, timeout_s)
            for seed in range(processes)]
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        parts = pool.map(_open_loop_process, jobs)
    sent = sum(p["sent"] for p in parts)
    achieved = sent / max(p["send_seconds"] for p in parts)
    records = [r for p in parts for r in p["records"]]
    return {"rate": rate, "achieved_rate": achieved, "sent": sent, "client_processes": processes,
            "capacity_req_per_s": capacity, "capacity_rtf": capacity_rtf,
            **_overload_summary(records, seconds, capacity, capacity_rtf)}


def _print_overload(over: dict[str, Any], seconds: float) -> None:
    print(f"overload at {over['rate']:.1f} req/s ({over['achieved_rate']:.1f} req/s sent) for "
          f"{seconds:.0f} s: {over['sent']} sent, statuses {over['statuses']}\n"
          f"  rejections (503): {over['rejected']}, answered in p50 "
          f"{over['rejection_p50_ms']:.1f} ms, p99 {over['rejection_p99_ms']:.1f} ms (goal <= 50)"
          f"\n  admitted: {over['admitted']}, of which 504: "
          f"{100 * over['admitted_504_fraction']:.2f} % (goal <= 1 %)\n"
          f"  goodput: audio RTF {over['goodput_rtf']:.2f}x = "
          f"{100 * over['goodput_vs_capacity']:.0f} % of the capacity measured before "
          f"(RTF {over['capacity_rtf']:.2f}x, the best level; goal >= 90 %), "
          f"{100 * over['goodput_vs_last_level']:.0f} % of the last level's; "
          f"{over['goodput_req_per_s']:.2f} req/s = {100 * over['goodput_req_vs_capacity']:.0f} % "
          f"of {over['capacity_req_per_s']:.2f} req/s\n"
          f"  other 5xx: {over['other_5xx']}, unanswered: {over['unanswered']} (goal 0); server "
          f"alive {over['server_alive']}; RSS {over['rss_before_mib']:.0f} MiB before, "
          f"{over['rss_after_mib']:.0f} MiB after (peak {over['peak_rss_mib']:.0f} MiB)\n"
          f"  goals failed: {', '.join(over['goals_failed']) or 'none'}", flush=True)


def _engine_reference(args: argparse.Namespace, fastpitch: str, hifigan: str) -> dict[str, float]:
    from fastpitch_tpu.engine import Buckets, Synthesizer

    synth = Synthesizer(fastpitch, hifigan, backend=args.backend, dtype=args.dtype,
                        buckets=Buckets(tokens=tuple(args.token_buckets),
                                        frames=tuple(args.frame_buckets),
                                        batch=Buckets.batch_sizes(args.max_batch)),
                        cache_dir=args.cache_dir)
    t0 = time.perf_counter()
    graphs = synth.warmup(progress=True)  # a bar on stderr
    print(f"engine: {graphs} graphs compiled in {time.perf_counter() - t0:.1f} s", flush=True)
    texts = [SENTENCES[i % len(SENTENCES)] for i in range(args.max_batch)]
    synth.synthesize(texts)
    synth.synthesize(texts)
    runs = []
    for _ in range(3):
        t0 = time.perf_counter()
        audios = synth.synthesize(texts)
        runs.append(sum(a.duration for a in audios) / (time.perf_counter() - t0))
    return {"batch": args.max_batch, "rtf": statistics.median(runs)}


SPEECH_S_PER_CHAR = 0.065
"""Seconds of audio per character that the stand-in engine returns (about a speaking rate)."""


class StandIn:
    """Takes the engine's place in the server for ``--stand-in-ms``: each batch waits that long
    (sleeping, without the GIL, as a device would) and returns silence of a speech-like length,
    so the load test measures what the HTTP path and the batcher add."""

    def __init__(self, ms: float, sample_rate: int = 22050) -> None:
        self.seconds = ms / 1000.0
        self.sample_rate = sample_rate

    def warmup(self, progress: bool = False, workers: int | None = None) -> int:
        return 0

    def split_for_streaming(self, text: str) -> list[str]:
        return [text]

    def synthesize_requests(self, requests: list[tuple[str, Any]]) -> list[Any]:
        import numpy as np

        from fastpitch_tpu.audio import Audio

        time.sleep(self.seconds)
        return [Audio(np.zeros(int(len(text) * SPEECH_S_PER_CHAR * self.sample_rate),
                               np.float32), self.sample_rate) for text, _ in requests]


def _serve_stand_in(args: argparse.Namespace) -> None:
    import uvicorn

    from fastpitch_tpu.server import ServerConfig, create_app

    app = create_app({"default": StandIn(args.stand_in_ms)},  # type: ignore[dict-item]
                     ServerConfig(max_batch=args.max_batch, max_wait_ms=args.max_wait_ms,
                                  max_queue=args.max_queue, deadline_s=args.deadline_s,
                                  warmup=False))
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--fastpitch", help="checkpoint (default: the benchmark model)")
    ap.add_argument("--hifigan", default="lj")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--dtype", default="bfloat16")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--max-batch", type=int, default=16)
    ap.add_argument("--max-wait-ms", type=float, default=5.0)
    ap.add_argument("--max-queue", type=int, default=256)
    ap.add_argument("--concurrency", type=int, nargs="+", default=[1, 8, 64])
    ap.add_argument("--token-buckets", type=int, nargs="+", default=[32, 64, 128])
    ap.add_argument("--frame-buckets", type=int, nargs="+",
                    default=[64, 128, 256, 384, 512, 768, 1024])
    ap.add_argument("--seconds", type=float, default=20.0, help="per level")
    ap.add_argument("--requests", type=int, default=2000, help="per level, at most")
    ap.add_argument("--overload-seconds", type=float, default=30.0)
    ap.add_argument("--overload-factor", type=float, default=10.0,
                    help="the overload's rate, times the best throughput measured before")
    ap.add_argument("--deadline-s", type=float, default=60.0, help="the server's deadline")
    ap.add_argument("--request-timeout", type=float,
                    help="X-Request-Timeout of each overload request (default: none sent)")
    ap.add_argument("--client-processes", type=int, default=4,
                    help="client processes sending the load (each level and the overload)")
    ap.add_argument("--stand-in-ms", type=float,
                    help="serve a stand-in engine taking this many ms per batch instead of the "
                         "models: measures the server's own overhead on any machine")
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    if args.stand_in_ms is not None and not args.stand_in_ms > 0:
        ap.error("--stand-in-ms must be positive")
    if args.port is not None:  # the stand-in server process
        _serve_stand_in(args)
        return

    tmp = tempfile.TemporaryDirectory()
    fastpitch = args.fastpitch
    if args.stand_in_ms is not None:
        fastpitch = "stand-in"
    elif fastpitch is None:
        from fastpitch_tpu.benchmark import benchmark_checkpoint

        fastpitch, args.hifigan = benchmark_checkpoint(tmp.name, hifigan=args.hifigan)
    if args.stand_in_ms is not None:
        # The stand-in's own capacity: full batches back to back.
        mean_s = statistics.mean(len(t) for t in SENTENCES) * SPEECH_S_PER_CHAR
        engine = {"batch": args.max_batch, "stand_in_ms": args.stand_in_ms,
                  "rtf": args.max_batch * mean_s / (args.stand_in_ms / 1000.0)}
    else:
        engine = _engine_reference(args, fastpitch, args.hifigan)
    results: dict[str, Any] = {"engine": engine}
    print(f"engine alone, batch {args.max_batch}: RTF {results['engine']['rtf']:.0f}x",
          flush=True)

    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [sys.executable, "-m", "fastpitch_tpu", "serve", "--host", "127.0.0.1",
           "--port", str(port), "--fastpitch", fastpitch, "--hifigan", args.hifigan,
           "--backend", args.backend, "--dtype", args.dtype, "--max-batch", str(args.max_batch),
           "--max-wait-ms", str(args.max_wait_ms), "--max-queue", str(args.max_queue),
           "--deadline-s", str(args.deadline_s), "--log-level", "warning",
           "--token-buckets", *map(str, args.token_buckets),
           "--frame-buckets", *map(str, args.frame_buckets)]
    if args.cache_dir is not None:
        cmd += ["--cache-dir", args.cache_dir]
    if args.stand_in_ms is not None:
        cmd = [sys.executable, __file__, "--port", str(port), "--stand-in-ms",
               str(args.stand_in_ms), "--max-batch", str(args.max_batch), "--max-wait-ms",
               str(args.max_wait_ms), "--max-queue", str(args.max_queue), "--deadline-s",
               str(args.deadline_s)]
    server = subprocess.Popen(cmd, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 900
        while True:
            if server.poll() is not None:
                raise SystemExit("the server exited during start-up")
            try:
                if _get(f"{url}/readyz", timeout=2)[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit("the server did not become ready")
            time.sleep(0.5)
        levels = []
        for clients in args.concurrency:
            before = _histogram(_get(f"{url}/metrics")[1], "tts_batch_size")
            row = _closed_loop(url, clients, args.seconds, args.requests,
                               args.client_processes)
            after = _histogram(_get(f"{url}/metrics")[1], "tts_batch_size")
            row["batch_sizes"] = {k: after[k] - before.get(k, 0) for k in after}
            batches = row["batch_sizes"].get("+Inf", 0)
            row["mean_batch"] = row["statuses"].get("200", 0) / batches if batches else 0.0
            row["vs_engine"] = row["rtf"] / results["engine"]["rtf"]
            levels.append(row)
            print(f"{clients:>4} clients: {row['req_per_s']:7.1f} req/s  RTF {row['rtf']:7.0f}x "
                  f"({100 * row['vs_engine']:.0f} % of the engine)  p50 {row['p50_ms']:8.1f} ms"
                  f"  p99 {row['p99_ms']:8.1f} ms  mean batch {row['mean_batch']:.1f}  statuses "
                  f"{row['statuses']}", flush=True)
        results["levels"] = levels
        # Capacity: the best rate of answers 200 (and of audio) of the levels just measured.
        capacity = max(row["statuses"].get("200", 0) / row["requests"] * row["req_per_s"]
                       for row in levels)
        capacity_rtf = max(row["rtf"] for row in levels)
        rss_before = _rss_kib(server.pid) / 1024
        over = _overload(url, args.overload_factor * capacity, args.overload_seconds,
                         args.client_processes, capacity, capacity_rtf, args.request_timeout)
        over["server_alive"] = (server.poll() is None
                                and _get(f"{url}/healthz")[0] == 200)
        if not over["server_alive"]:
            over["goals_failed"].append("server_alive")
        over["goodput_vs_last_level"] = over["goodput_rtf"] / levels[-1]["rtf"]
        over["rss_before_mib"] = rss_before
        over["rss_after_mib"] = _rss_kib(server.pid) / 1024 if over["server_alive"] else -1
        over["peak_rss_mib"] = _rss_peak_kib(server.pid) / 1024 if over["server_alive"] else -1
        results["overload"] = over
        _print_overload(over, args.overload_seconds)
    finally:
        server.terminate()
        server.wait(60)
        tmp.cleanup()
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    if results.get("overload", {}).get("goals_failed"):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
