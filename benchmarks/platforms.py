"""The platforms' webhook, measured: POST /v1/events/{platform} time to 2xx beside a bare produce-and-wait.

- Ingest latency: Genesys Cloud acd.start events (each a new call, each warmed on its owner) posted
  open loop at a fixed rate, timed from each event's scheduled send time to its 202 (which comes
  only once the re-published call is on Kafka); beside it, in the same run and at the same rate, a
  bare aiokafka produce-and-wait of the same bytes to a topic of the same broker, with the settings
  of the webhook's own producer (acks=all, no linger), timed the same way. Target: p99 ≤ 2× the
  bare produce.
- Throughput: the same events, closed loop on 32 keep-alive connections, answered 202 per second by
  one worker, over the whole window (answers counted, divided by the seconds); beside it, the
  shares of a core the worker and this generator used meanwhile. Target: ≥ 500/s.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from urllib.parse import urlsplit

from aiokafka import AIOKafkaProducer

from harness.procs import cpu_seconds
from warmline.commands.embedded_broker import create_topics
from warmline.commands.simulate_platforms import platform_event
from warmline.sources.demo.generate import sample_contacts

from .httpload import Connection, connect, open_loop
from .stack import BenchStack
from .stats import Result, p99_against_floor, summary_ms

#: Keep-alive connections of the open-loop sender; more are opened when all are busy (no waiting).
OPEN_LOOP_CONNECTIONS = 64


def webhook_requests(base_url: str, phones: Sequence[str], n: int, platform: str = "genesys") -> list[bytes]:
    """*n* pre-built POSTs of queued events, each a new call of a caller from *phones*."""
    host = urlsplit(base_url).netloc
    now = datetime.now(UTC)
    requests = []
    for _, phone in zip(range(n), itertools.cycle(phones), strict=False):
        body = platform_event(platform, "queued", str(uuid.uuid4()), phone, now).data
        head = (
            f"POST /v1/events/{platform} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        requests.append(head + body)
    return requests


async def _open_loop_http(base_url: str, requests: Sequence[bytes], rate: float) -> tuple[list[float], int]:
    """Latencies from each request's scheduled send time to its answer; and how many were not 202."""
    idle: list[Connection] = await connect(base_url, OPEN_LOOP_CONNECTIONS)
    latencies: list[float] = []
    refused = 0

    async def one(raw: bytes, due: float) -> None:
        nonlocal refused
        conn = idle.pop() if idle else (await connect(base_url, 1))[0]
        status, _, _ = await conn.request(raw)
        latencies.append(time.monotonic() - due)
        refused += status != 202
        idle.append(conn)

    tasks = await open_loop(len(requests), rate, lambda i, due: one(requests[i], due))
    await asyncio.gather(*tasks)
    for conn in idle:
        conn.close()
    return latencies, refused


async def _open_loop_produce(bootstrap: str, topic: str, values: Sequence[bytes], rate: float) -> list[float]:
    """The floor: aiokafka send_and_wait of the same bytes, open loop at the same rate, same timing."""
    # The webhook's own producer's settings (stream/own_producer.py): acks from every replica, no linger.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)
    await producer.start()
    latencies: list[float] = []

    async def one(value: bytes, due: float) -> None:
        await producer.send_and_wait(topic, value, key=uuid.uuid4().bytes)
        latencies.append(time.monotonic() - due)

    try:
        tasks = await open_loop(len(values), rate, lambda i, due: one(values[i], due))
        await asyncio.gather(*tasks)
    finally:
        await producer.stop()
    return latencies


async def ingest_latency(stack: BenchStack, rate: float, seconds: float, label: str = "") -> list[Result]:
    """Webhook time-to-202 vs bare produce-and-wait, interleaved in halves, same rate, same broker.

    *label* is appended to both rows' names (a diagnostic variant of the worker)."""
    phones = sample_contacts(stack.demo_db, "phone", 2_000, seed=5)
    n = int(rate * seconds / 2)
    floor_topic = f"bench-produce-floor-{uuid.uuid4().hex[:6]}"
    await create_topics(stack.tansu.bootstrap, [floor_topic], 8)
    warm_up = webhook_requests(stack.url, phones, 200)
    await _open_loop_http(stack.url, warm_up, rate)
    await _open_loop_produce(stack.tansu.bootstrap, floor_topic, [r.split(b"\r\n\r\n", 1)[1] for r in warm_up], rate)
    ours: list[float] = []
    floor: list[float] = []
    refused = 0
    for _ in range(2):  # interleaved halves: a drift in the machine's load falls on both
        requests = webhook_requests(stack.url, phones, n)
        got, bad = await _open_loop_http(stack.url, requests, rate)
        ours += got
        refused += bad
        floor += await _open_loop_produce(
            stack.tansu.bootstrap, floor_topic, [r.split(b"\r\n\r\n", 1)[1] for r in requests], rate
        )
    results = p99_against_floor(
        f"bare aiokafka produce-and-wait, open loop {rate:g}/s{label}",
        f"POST /v1/events/genesys → 202 (stored on Kafka), open loop {rate:g}/s{label}",
        floor,
        ours,
        2.0,
    )
    results[1].detail.update(refused=refused, events=len(ours), floor_p50_ms=summary_ms(floor)["p50_ms"])
    results[1].met = bool(results[1].met) and refused == 0
    return results


async def throughput(stack: BenchStack, seconds: float, connections: int = 32, label: str = "") -> Result:
    """Closed loop: 202s per second from one worker (*label* appended to the row's name)."""
    phones = sample_contacts(stack.demo_db, "phone", 2_000, seed=7)
    requests = webhook_requests(stack.url, phones, 20_000)
    conns = await connect(stack.url, connections)
    done = refused = 0
    stop_at = time.perf_counter() + seconds

    async def loop(conn: Connection, offset: int) -> None:
        nonlocal done, refused
        for i in itertools.count(offset, connections):
            if time.perf_counter() >= stop_at:
                return
            status, _, _ = await conn.request(requests[i % len(requests)])
            done += 1
            refused += status != 202

    started, worker_cpu, generator_cpu = time.perf_counter(), cpu_seconds(stack.worker.pid), cpu_seconds(os.getpid())
    await asyncio.gather(*(loop(c, k) for k, c in enumerate(conns)))
    elapsed = time.perf_counter() - started
    # Who had the 2 cores: the worker, this generator (and the broker, and the machine's other users).
    worker_cpu, generator_cpu = cpu_seconds(stack.worker.pid) - worker_cpu, cpu_seconds(os.getpid()) - generator_cpu
    for c in conns:
        c.close()
    per_s = done / elapsed
    return Result(
        f"webhook events answered 202 per second, one worker, closed loop, {connections} connections{label}",
        round(per_s, 1),
        "events/s",
        "≥ 500/s",
        per_s >= 500 and refused == 0,
        detail={
            "answered": done,
            "refused": refused,
            "seconds": round(elapsed, 2),
            "worker_cpu_share": round(worker_cpu / elapsed, 2),
            "generator_cpu_share": round(generator_cpu / elapsed, 2),
            "worker_cpu_ms_per_event": round(worker_cpu / max(done, 1) * 1000, 2),
            "loadavg": os.getloadavg(),
        },
    )
