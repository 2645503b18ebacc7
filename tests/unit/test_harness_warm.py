"""The fault stack's warm-up looks every key up once, on the next worker when one fails, and says what never warmed."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from harness.fault_stack import API_TOKEN, FaultStack
from harness.workers import Worker

Workers = tuple[list[Worker], list[tuple[int, str]], set[int]]


@pytest.fixture(name="workers")
async def _workers(tmp_path: Path) -> AsyncIterator[Workers]:
    """Two fake workers on one in-process server; a port in *failing* answers 503."""
    asked: list[tuple[int, str]] = []
    failing: set[int] = set()

    async def lookup(request: web.Request) -> web.Response:
        assert request.headers["Authorization"] == f"Bearer {API_TOKEN}"
        port = request.transport.get_extra_info("sockname")[1] if request.transport else 0
        asked.append((port, request.query["customer_id"]))
        return web.json_response({"status": "ok"}, status=503 if port in failing else 200)

    app = web.Application()
    app.router.add_get("/v1/lookup", lookup)
    runner = web.AppRunner(app)
    await runner.setup()
    for _ in range(2):
        await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        ports = sorted(address[1] for address in runner.addresses)
        yield [Worker(f"worker-{i}", tmp_path / f"w{i}.log", port=p) for i, p in enumerate(ports)], asked, failing
    finally:
        await runner.cleanup()


async def test_each_key_is_looked_up_once_the_workers_in_turn(tmp_path: Path, workers: Workers) -> None:
    stack, (fakes, asked, _) = FaultStack(tmp_path / "stack"), workers
    stack.workers = fakes
    await stack.warm(["C-1", "C-2", "C-3"])
    p0, p1 = (w.port for w in fakes)
    assert sorted(asked) == sorted([(p0, "C-1"), (p1, "C-2"), (p0, "C-3")])


async def test_a_failing_worker_s_keys_are_tried_on_the_next_and_a_key_no_worker_answers_fails(
    tmp_path: Path, workers: Workers
) -> None:
    stack, (fakes, asked, failing) = FaultStack(tmp_path / "stack"), workers
    stack.workers = fakes
    p0, p1 = (w.port for w in fakes)
    failing.add(p0)
    await stack.warm(["C-1"])
    assert asked == [(p0, "C-1"), (p1, "C-1")]
    failing.add(p1)
    with pytest.raises(RuntimeError, match="warming C-2: no 200 in 3 attempts"):
        await stack.warm(["C-2"])
