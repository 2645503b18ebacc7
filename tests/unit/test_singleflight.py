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

    async def boom() -> int:
        await asyncio.sleep(0.01)
        raise ValueError("upstream")

    results = await asyncio.gather(*(sf.do("k", boom) for _ in range(5)), return_exceptions=True)
    assert all(isinstance(r, ValueError) for r in results)

    async def ok() -> int:
        return 1

    assert await sf.do("k", ok) == (1, False)


async def test_a_cancelled_waiter_does_not_cancel_the_call() -> None:
    sf: SingleFlight[int] = SingleFlight()

    async def slow() -> int:
        await asyncio.sleep(0.05)
        return 7

    leader = asyncio.create_task(sf.do("k", slow))
    await asyncio.sleep(0)
    follower = asyncio.create_task(sf.do("k", slow))
    await asyncio.sleep(0.01)
    follower.cancel()
    with pytest.raises(asyncio.CancelledError):
        await follower
    assert await leader == (7, False)


async def test_a_cancelled_leader_does_not_cancel_the_call() -> None:
    sf: SingleFlight[int] = SingleFlight()
    finished = asyncio.Event()

    async def slow() -> int:
        await asyncio.sleep(0.02)
        finished.set()
        return 7

    leader = asyncio.create_task(sf.do("k", slow))
    await asyncio.sleep(0.005)
    leader.cancel()
    async with asyncio.timeout(1):
        await finished.wait()
    await asyncio.sleep(0)  # done-callbacks run on the next loop turn
    assert len(sf) == 0
