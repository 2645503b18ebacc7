"""The paced load generator counts latency from each request's scheduled time (no coordinated omission)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from benchmarks import httpload
from benchmarks.stats import pct

STALL_S = 0.3
RATE = 1000.0  # one request due every millisecond


@pytest.fixture(name="stalling_url")
async def _stalling_url() -> AsyncIterator[str]:
    """A real aiohttp server on port 0: the first request stalls STALL_S, the rest answer at once;
    each answer names its path in X-Path."""
    first = asyncio.Event()

    async def answer(request: web.Request) -> web.Response:
        if not first.is_set():
            first.set()
            await asyncio.sleep(STALL_S)
        return web.Response(text="{}", content_type="application/json", headers={"X-Path": request.path})

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_a_stalled_server_shows_in_the_p99_instead_of_vanishing(stalling_url: str) -> None:
    n = 400
    run = await httpload.paced(stalling_url, [httpload.get_request(stalling_url, "/")] * n, RATE, connections=1)
    assert len(run) == n
    assert all(r.status == 200 for r in run)
    # Request i is due i ms after the start and cannot be answered before the first one's stall
    # ends, STALL_S after its send: the first 150 wait at least 150 ms, counted from their due time.
    held = int((STALL_S / 2) * RATE)
    assert sum(r.latency_s >= STALL_S / 2 for r in run) >= held
    assert pct([r.latency_s for r in run], 0.99) >= STALL_S / 2
    # ... and the wait is reported as queueing behind the schedule, not hidden in the send time.
    assert sum(r.lag_s >= STALL_S / 2 for r in run) >= held - 1
    assert all(r.latency_s >= r.service_s for r in run)


async def test_samples_come_back_in_the_order_of_the_requests(stalling_url: str) -> None:
    requests = [httpload.get_request(stalling_url, f"/r{i}") for i in range(50)]
    run = await httpload.paced(stalling_url, requests, RATE, connections=4)
    assert [r.head.split(b"X-Path: ")[1].split(b"\r\n")[0] for r in run] == [f"/r{i}".encode() for i in range(50)]
