"""SourceGate: priority under saturation, deadlines, breaker fast-fail."""

from __future__ import annotations

import asyncio

import pytest

from warmline.errors import SourceTimeout, SourceUnavailable
from warmline.models import normalize
from warmline.resilience import CircuitBreaker
from warmline.sources.base import Priority
from warmline.sources.gate import PrioritySemaphore, SourceGate

from ..fakes import FakeClock, FakeSource


async def test_live_calls_go_before_background_when_saturated() -> None:
    sem = PrioritySemaphore(1)
    order: list[str] = []

    async def job(name: str, prio: Priority) -> None:
        async with sem.slot(prio):
            order.append(name)
            await asyncio.sleep(0.001)

    holder = asyncio.create_task(job("first", Priority.BACKGROUND))
    await asyncio.sleep(0)
    jobs = [asyncio.create_task(job(f"bg{i}", Priority.BACKGROUND)) for i in range(5)]
    await asyncio.sleep(0)
    jobs.append(asyncio.create_task(job("live", Priority.LIVE)))
    await asyncio.gather(holder, *jobs)
    assert order[:2] == ["first", "live"]


async def test_cancelled_waiter_does_not_leak_a_slot() -> None:
    sem = PrioritySemaphore(1)
    async with sem.slot(Priority.LIVE):
        waiter = asyncio.create_task(sem.slot(Priority.LIVE).__aenter__())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    async with asyncio.timeout(1), sem.slot(Priority.LIVE):
        pass


async def test_deadline_becomes_source_timeout() -> None:
    gate = SourceGate(FakeSource(delay_s=1), concurrency=2, timeout_s=0.01)
    with pytest.raises(SourceTimeout):
        await gate.lookup(normalize("customer_id", "C-1"))
    assert gate.failures == {"timeout": 1}


async def test_open_breaker_fails_fast_without_calling() -> None:
    source = FakeSource()
    source.down = True
    clock = FakeClock()
    gate = SourceGate(source, concurrency=2, timeout_s=1, breaker=CircuitBreaker("s", failure_threshold=2, clock=clock))
    key = normalize("customer_id", "C-1")
    for _ in range(2):
        with pytest.raises(SourceUnavailable):
            await gate.lookup(key)
    with pytest.raises(SourceUnavailable, match="circuit open"):
        await gate.lookup(key)
    assert len(source.calls) == 2
