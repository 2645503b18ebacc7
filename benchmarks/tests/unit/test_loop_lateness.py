"""The lookup clients' own loop lateness: a callback that holds the loop shows, as late as it held it."""

from __future__ import annotations

import asyncio
import time

from benchmarks.peak import loop_lateness


async def test_a_callback_holding_the_loop_shows_as_lateness() -> None:
    stop = asyncio.Event()
    watch = asyncio.create_task(loop_lateness(stop, interval_s=0.001))
    await asyncio.sleep(0.01)  # a few timers on time
    time.sleep(0.05)  # what a client waiting for a core, or busy with its own callbacks, looks like
    await asyncio.sleep(0.01)
    stop.set()
    late = await watch
    assert len(late) >= 2
    assert max(late) >= 0.045  # held 50 ms: the timer due within 1 ms ran at least 49 ms late
    assert min(late) >= 0.0
