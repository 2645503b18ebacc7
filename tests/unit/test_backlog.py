"""The producer backlog: consuming waits while too many records wait for the broker."""

from __future__ import annotations

import asyncio

from warmline.stream.backlog import ProduceBacklog


async def test_room_waits_until_deliveries_complete() -> None:
    backlog = ProduceBacklog(2)
    loop = asyncio.get_running_loop()
    first, second = loop.create_future(), loop.create_future()
    backlog.track(first)
    assert not backlog.full
    backlog.track(second)
    assert backlog.full and len(backlog) == 2
    waiter = asyncio.create_task(backlog.room())
    await asyncio.sleep(0.05)
    assert not waiter.done()  # still full: the consumer takes nothing
    first.set_result(None)
    await asyncio.wait_for(waiter, 10)  # a bound against hanging, not a timing assertion
    assert len(backlog) == 1


async def test_failed_deliveries_leave_the_backlog_too() -> None:
    backlog = ProduceBacklog(1)
    delivery = asyncio.get_running_loop().create_future()
    backlog.track(delivery)
    delivery.set_exception(RuntimeError("broker refused"))
    await asyncio.wait_for(backlog.room(), 10)
    assert len(backlog) == 0
    assert isinstance(delivery.exception(), RuntimeError)


async def test_the_producer_buffer_counts_toward_the_limit() -> None:
    buffered = [3]
    backlog = ProduceBacklog(3, lambda: buffered[0])
    assert backlog.full
    waiter = asyncio.create_task(backlog.room())
    await asyncio.sleep(0.05)
    assert not waiter.done()
    buffered[0] = 0  # the changelog drained
    await asyncio.wait_for(waiter, 10)
