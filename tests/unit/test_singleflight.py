"""SingleFlight: one call per key, shared results and errors, cancellation isolation."""

from __future__ import annotations

import asyncio

import pytest

from warmline.cache.singleflight import SingleFlight


async def test_concurrent_callers_share_one_call() -> None:
    sf: SingleFlight[int] = SingleFlight()
    calls = 0
    release = asyncio.Event()

    async def work() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return 42

    tasks = [asyncio.create_task(sf.do("k", work)) for _ in range(100)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*tasks)
    assert calls == 1
    assert {r for r, _ in results} == {42}
    assert sum(shared for _, shared in results) == 99
    assert len(sf) == 0


async def test_errors_reach_every_waiter_and_are_not_remembered() -> None:
    sf: SingleFlight[int] = SingleFlight()

    release = asyncio.Event()

    async def boom() -> int:
        await release.wait()
        raise ValueError("upstream")

    waiters = [asyncio.create_task(sf.do("k", boom)) for _ in range(5)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)

    async def ok() -> int:
        return 1

    assert await sf.do("k", ok) == (1, False)


async def test_a_cancelled_waiter_does_not_cancel_the_call() -> None:
    sf: SingleFlight[int] = SingleFlight()

    release = asyncio.Event()

    async def slow() -> int:
        await release.wait()
        return 7

    leader = asyncio.create_task(sf.do("k", slow))
    await asyncio.sleep(0)
    follower = asyncio.create_task(sf.do("k", slow))
    await asyncio.sleep(0)
    follower.cancel()
    with pytest.raises(asyncio.CancelledError):
        await follower
    release.set()
    assert await leader == (7, False)


async def test_a_cancelled_leader_does_not_cancel_the_call() -> None:
    sf: SingleFlight[int] = SingleFlight()
    finished = asyncio.Event()
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> int:
        started.set()
        await release.wait()
        finished.set()
        return 7

    leader = asyncio.create_task(sf.do("k", slow))
    await started.wait()
    leader.cancel()
    await asyncio.sleep(0)
    release.set()
    async with asyncio.timeout(1):
        await finished.wait()
    await asyncio.sleep(0)  # done-callbacks run on the next loop turn
    assert len(sf) == 0
