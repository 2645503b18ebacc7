"""The local batcher in front of the call-started handler: full batches at once, partial ones on a timer."""

from __future__ import annotations

import asyncio

from warmline.agents.batcher import Batcher


async def test_full_batches_are_flushed_by_add_in_order() -> None:
    got: list[list[int]] = []

    async def flush(items: list[int]) -> None:
        got.append(items)

    batcher = Batcher(3, 60.0, flush)  # a timer that never fires within the test
    for i in range(7):
        await batcher.add(i)
    assert got == [[0, 1, 2], [3, 4, 5]]
    assert len(batcher) == 1
    await batcher.flush()
    assert got[-1] == [6] and len(batcher) == 0


async def test_a_partial_batch_is_flushed_by_the_timer() -> None:
    done = asyncio.Event()
    got: list[list[str]] = []

    async def flush(items: list[str]) -> None:
        got.append(items)
        done.set()

    batcher = Batcher(100, 0.001, flush)
    await batcher.add("a")
    await batcher.add("b")
    await asyncio.wait_for(done.wait(), 10)  # a bound against hanging, not a timing assertion
    assert got == [["a", "b"]]
