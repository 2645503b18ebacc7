"""Worker figures: Kafka request→reply and HTTP on L1 hits against their floors, throughput, memory."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from warmline.client import LookupClient
from warmline.commands.dev import wait_ready
from warmline.commands.processes import free_port, stop_process
from warmline.stream.security import KafkaConnection

from . import httpload
from .stack import BenchStack
from .stats import Result, p99_against_floor, summary_ms


class EchoFloor:
    """The floor: produce → consume → produce → consume with bare aiokafka on the same broker (and TLS, if any)."""

    def __init__(self, target: str | KafkaConnection, idle_partitions: int = 0) -> None:
        self.connection = KafkaConnection.of(target)
        self.ping, self.pong = f"floor-ping-{uuid.uuid4().hex[:6]}", f"floor-pong-{uuid.uuid4().hex[:6]}"
        #: Partitions of an idle topic the echo's consumer fetches beside its one busy partition
        #: (the width of a worker's fetch, without its traffic).
        self.idle_partitions = idle_partitions
        self.idle = f"floor-idle-{uuid.uuid4().hex[:6]}"

    async def __aenter__(self) -> EchoFloor:
        admin = AIOKafkaAdminClient(**self.connection.kwargs())
        await admin.start()
        try:
            topics = [NewTopic(self.ping, 1, 1), NewTopic(self.pong, 1, 1)]
            if self.idle_partitions:
                topics.append(NewTopic(self.idle, self.idle_partitions, 1))
            await admin.create_topics(topics)
        finally:
            await admin.close()
        self.producer = AIOKafkaProducer(**self.connection.kwargs(), linger_ms=0)
        self.echo_in = AIOKafkaConsumer(**self.connection.kwargs(), fetch_max_wait_ms=5)
        self.back = AIOKafkaConsumer(**self.connection.kwargs(), fetch_max_wait_ms=5)
        await self.producer.start()
        for consumer, topic in ((self.echo_in, self.ping), (self.back, self.pong)):
            await consumer.start()
            tp = TopicPartition(topic, 0)
            idle = [TopicPartition(self.idle, p) for p in range(self.idle_partitions if topic == self.ping else 0)]
            consumer.assign([tp, *idle])
            await consumer.seek_to_end(tp, *idle)
            await consumer.position(tp)
        self.echo_task = asyncio.create_task(self._echo())
        return self

    async def _echo(self) -> None:
        while True:
            for records in (await self.echo_in.getmany(timeout_ms=1000)).values():
                for r in records:
                    await self.producer.send(self.pong, r.value)

    async def round_trip(self) -> float:
        t0 = time.perf_counter()
        await self.producer.send(self.ping, b"x" * 200)
        while not (await self.back.getmany(timeout_ms=1000)):
            pass
        return time.perf_counter() - t0

    async def __aexit__(self, *exc: object) -> None:
        self.echo_task.cancel()
        await asyncio.gather(self.echo_task, return_exceptions=True)
        await self.echo_in.stop()
        await self.back.stop()
        await self.producer.stop()


async def kafka_l1(
    stack: BenchStack, n: int = 400, *, connection: KafkaConnection | None = None, label: str = "", bound: float = 1.5
) -> list[Result]:
    """Request→reply of an L1 hit through the worker vs the bare aiokafka round trip, interleaved."""
    floor, ours = [], []
    connection = connection or KafkaConnection(stack.tansu.bootstrap)
    async with (
        EchoFloor(connection) as echo,
        LookupClient(connection, fetch_max_wait_ms=5) as client,
    ):
        warm = await client.lookup("customer_id", "C-000042", timeout_ms=10_000)
        assert warm.status == "ok", warm
        for _ in range(20):  # settle connections
            await echo.round_trip()
            await client.lookup("customer_id", "C-000042")
        for _ in range(n):
            floor.append(await echo.round_trip())
            t0 = time.perf_counter()
            reply = await client.lookup("customer_id", "C-000042")
            ours.append(time.perf_counter() - t0)
            assert reply.source == "l1", reply
    return p99_against_floor(
        f"Kafka bare round trip{label} (floor)", f"Kafka request→reply, L1 hit{label}", floor, ours, bound
    )


async def _warm_ids(session: aiohttp.ClientSession, url: str, ids: list[str], chunk: int = 1000) -> None:
    for i in range(0, len(ids), chunk):
        body = {"lookups": [{"by": "customer_id", "value": cid} for cid in ids[i : i + chunk]], "concurrency": 200}
        async with session.post(f"{url}/v1/lookup/batch", json=body) as resp:
            results = (await resp.json())["results"]
            assert all(r["status"] == "ok" for r in results), results[:3]


async def http_paced(stack: BenchStack, rate: int = 500, seconds: float = 10.0, slice_s: float = 1.0) -> list[Result]:
    """Open-loop HTTP at *rate*/s: /healthz (the floor: same server, client, connections and rate) and
    L1-hit lookups take turns in *slice_s* slices, so both see the same machine while the server
    sees *rate*/s throughout; latency from each request's scheduled send time (httpload.paced:
    time waiting for a connection counts)."""
    ids = [f"C-{i:06d}" for i in range(1, 1001)]
    async with aiohttp.ClientSession() as session:
        await _warm_ids(session, stack.url, ids)
    per_slice = int(rate * slice_s)
    healthz = [httpload.get_request(stack.url, "/healthz")] * per_slice
    floor_run: list[httpload.Sample] = []
    lookup_run: list[httpload.Sample] = []
    for n in range(round(seconds / slice_s)):
        lookups = [
            httpload.get_request(stack.url, f"/v1/lookup?customer_id={ids[(n * per_slice + i) % len(ids)]}")
            for i in range(per_slice)
        ]
        floor_run += await httpload.paced(stack.url, healthz, rate)
        lookup_run += await httpload.paced(stack.url, lookups, rate)
    run = floor_run + lookup_run
    assert all(r.status == 200 for r in run)
    tiers = {t: sum(1 for r in lookup_run if f"X-Cache: {t}".encode() in r.head) for t in ("L1", "L2", "MISS")}
    f = summary_ms([r.latency_s for r in floor_run])
    s = summary_ms([r.latency_s for r in lookup_run])
    note = (
        f"open loop, latency from the scheduled send time; /healthz and lookups alternate in {slice_s:g} s slices "
        "at the same rate; load generator and worker share the 2 cores"
    )
    return [
        Result(
            f"HTTP /healthz at {rate} req/s (floor)",
            f["p99_ms"],
            "ms p99",
            "floor",
            None,
            detail={**f, "service_time_from_send_ms": summary_ms([r.service_s for r in floor_run])},
            samples_ms=[r.latency_s * 1000 for r in floor_run],
        ),
        Result(
            f"HTTP L1 hit at {rate} req/s",
            s["p99_ms"],
            "ms p99",
            "< 2 ms",
            s["p99_ms"] < 2,
            floor=f["p99_ms"],
            detail={
                **s,
                "x_cache": tiers,
                "service_time_from_send_ms": summary_ms([r.service_s for r in lookup_run]),
                "send_lag_behind_schedule_ms": summary_ms([r.lag_s for r in lookup_run]),
                "note": note,
            },
            samples_ms=[r.latency_s * 1000 for r in lookup_run],
        ),
    ]


async def http_throughput(
    stack: BenchStack, seconds: float = 8.0, connections: int = 32, label: str = "", slices: int = 4
) -> Result:
    """Closed-loop HTTP L1 hits with *connections* in flight: requests answered per second, beside a bare
    aiohttp server (its own process) answering the same JSON to the same load generator; the two
    take turns in *slices* slices each, so both see the same machine (its 2 cores are shared)."""
    ids = [f"C-{i:06d}" for i in range(1, 1001)]
    async with aiohttp.ClientSession() as session:
        await _warm_ids(session, stack.url, ids)
        async with session.get(f"{stack.url}/v1/lookup?customer_id={ids[0]}") as resp:
            body = await resp.read()  # what the worker answers an L1 hit: the bare server answers the same
    ours = [httpload.get_request(stack.url, f"/v1/lookup?customer_id={cid}") for cid in ids]
    done = bare_done = 0
    elapsed = bare_elapsed = 0.0
    async with _bare_aiohttp(stack.workdir, body) as bare_url:
        bare = [httpload.get_request(bare_url, f"/v1/lookup?customer_id={cid}") for cid in ids]
        for _ in range(slices):
            n, t = await httpload.closed_loop(stack.url, ours, seconds / slices, connections)
            done, elapsed = done + n, elapsed + t
            n, t = await httpload.closed_loop(bare_url, bare, seconds / slices, connections)
            bare_done, bare_elapsed = bare_done + n, bare_elapsed + t
    rate, bare_rate = done / elapsed, bare_done / bare_elapsed
    ratio = rate / bare_rate
    return Result(
        "HTTP L1 hits, one worker" + label,
        round(rate),
        "req/s",
        "≥ 0.5× a bare aiohttp handler",
        ratio >= 0.5,
        floor=round(bare_rate),
        detail={
            "ratio_to_bare": round(ratio, 2),
            "bare_aiohttp_req_s": round(bare_rate),
            "connections": connections,
            "seconds": round(elapsed, 1),
            "answered": done,
            "slices": slices,
            "body_bytes": len(body),
            "client": "benchmarks/httpload.py, 1 process on the same 2 cores",
        },
    )


@contextlib.asynccontextmanager
async def _bare_aiohttp(workdir: Path, body: bytes) -> AsyncIterator[str]:
    """benchmarks/bare_http.py in its own process answering *body* to every GET; yields its URL."""
    body_file = workdir / "bare-body.json"
    body_file.write_bytes(body)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.bare_http", str(port), str(body_file)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url, proc)  # the bare server answers /readyz like any path
        yield url
    finally:
        stop_process(proc)


async def memory_100k(stack: BenchStack, count: int = 100_000, pinned: bool = False) -> Result:
    """Worker RSS with *count* demo customers in L1 (*pinned*: the worker was started on one core)."""
    before = stack.rss_mb
    started = time.perf_counter()
    async with aiohttp.ClientSession() as session:
        await _warm_ids(session, stack.url, [f"C-{i:06d}" for i in range(1, count + 1)])
        async with session.get(f"{stack.url}/v1/stats") as resp:
            entries = (await resp.json())["l1"]["entries"]
    rss = stack.rss_mb
    return Result(
        f"RSS with {entries:,} L1 entries" + (", worker on one core (taskset)" if pinned else ""),
        round(rss, 1),
        "MB",
        "≤ 250 MB",
        rss <= 250 and entries >= count,
        detail={
            "rss_before_mb": round(before, 1),
            "entries": entries,
            "fill_seconds": round(time.perf_counter() - started, 1),
        },
    )
