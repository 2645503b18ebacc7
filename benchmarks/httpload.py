"""A small keep-alive HTTP/1.1 load generator on raw asyncio streams.

aiohttp's client costs more per request than the server does, so on a 2-core machine it would
measure itself. This one writes pre-built requests and reads Content-Length bodies, nothing more.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from harness import pacing


class Connection:
    """One keep-alive connection."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, raw: bytes) -> tuple[int, bytes, bytes]:
        """Send *raw*; return (status, header block, body)."""
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, head, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def get_request(base_url: str, path_and_query: str) -> bytes:
    """A pre-built GET request."""
    host = urlsplit(base_url).netloc
    return f"GET {path_and_query} HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n".encode()


async def connect(base_url: str, n: int) -> list[Connection]:
    """Open *n* connections to *base_url*."""
    parts = urlsplit(base_url)
    conns = []
    for _ in range(n):
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
        conns.append(Connection(reader, writer))
    return conns


class Sample(NamedTuple):
    """One paced request."""

    latency_s: float
    """From the request's scheduled send time to its answer: time spent waiting for a free
    connection (or for a late generator) counts, as a caller would feel it (wrk2's rule)."""
    service_s: float
    """From the moment it was written on a connection to its answer (hides queueing: diagnostic)."""
    lag_s: float
    """How far behind its scheduled time it was written (connection wait + the generator's slack)."""
    status: int
    head: bytes


async def open_loop(
    count: int, rate: float, run: Callable[[int, float], Coroutine[Any, Any, None]]
) -> list[asyncio.Task[None]]:
    """Start run(i, due) for i in range(count) at its due time (harness.pacing's schedule, on the
    monotonic clock); never waits for an answer to send the next."""
    start = time.monotonic() + 0.05
    schedule = pacing.open_loop(rate, start=start, count=count)
    return [asyncio.create_task(run(i, start + i / rate)) async for i in schedule]


async def paced(base_url: str, requests: Sequence[bytes], rate: float, connections: int = 16) -> list[Sample]:
    """Send *requests* open-loop at *rate*/s, in order, one every 1/*rate* s, never waiting for
    answers to schedule the next; samples in the order of *requests*.

    Latency counts from each request's scheduled time, not from when a connection was free, so a
    server that stalls shows in the percentiles instead of delaying the sends that would measure
    it (coordinated omission).
    """
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    conns = await connect(base_url, connections)
    for c in conns:
        idle.put_nowait(c)
    results: list[Sample | None] = [None] * len(requests)

    async def one(i: int, raw: bytes, due: float) -> None:
        conn = await idle.get()
        sent = time.monotonic()
        status, head, _ = await conn.request(raw)
        done = time.monotonic()
        results[i] = Sample(done - due, done - sent, sent - due, status, head)
        idle.put_nowait(conn)

    await asyncio.gather(*await open_loop(len(requests), rate, lambda i, due: one(i, requests[i], due)))
    for c in conns:
        c.close()
    return [r for r in results if r is not None]


async def closed_loop(
    base_url: str, requests: Sequence[bytes], seconds: float, connections: int = 32
) -> tuple[int, float]:
    """Each connection sends back-to-back for *seconds*; returns (answered, elapsed)."""
    conns = await connect(base_url, connections)
    done = 0
    stop_at = time.perf_counter() + seconds

    async def loop(conn: Connection, offset: int) -> None:
        nonlocal done
        i = offset
        while time.perf_counter() < stop_at:
            await conn.request(requests[i % len(requests)])
            done += 1
            i += connections

    started = time.perf_counter()
    await asyncio.gather(*(loop(c, k) for k, c in enumerate(conns)))
    elapsed = time.perf_counter() - started
    for c in conns:
        c.close()
    return done, elapsed
