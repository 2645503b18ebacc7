"""The driver's clock: open-loop schedules (on time whatever the answers), and how late its event loop wakes up."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from collections.abc import AsyncIterator


async def open_loop(rate: float, *, start: float | None = None, count: int | None = None) -> AsyncIterator[int]:
    """0, 1, 2 … (*count* of them; None: until the caller stops), each at *start* + i / *rate* on the monotonic
    clock (*start* None: now). Open loop: a slow body delays no later tick beyond its due time; late ones catch up."""
    begin = time.monotonic() if start is None else start
    for i in itertools.count() if count is None else range(count):
        await asyncio.sleep(max(0.0, begin + i / rate - time.monotonic()))
        yield i


def _p99(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[98] if len(values) > 1 else values[0]


class LoopLag:
    """How late this driver's event loop wakes up: a late loop sends late and timestamps replies late.

    Reported beside the figures it could distort (the hostile flood keeps the driver busiest).
    """

    def __init__(self, tick_s: float = 0.05) -> None:
        self._tick_s = tick_s
        self._lags: list[float] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            t0 = time.monotonic()
            await asyncio.sleep(self._tick_s)
            self._lags.append(time.monotonic() - t0 - self._tick_s)

    async def stop(self) -> dict[str, float | None]:
        """The lag's median, p99 and maximum in ms since start()."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        ms = [lag * 1000 for lag in self._lags]
        if not ms:
            return {"p50_ms": None, "p99_ms": None, "max_ms": None}
        return {"p50_ms": round(statistics.median(ms), 1), "p99_ms": round(_p99(ms), 1), "max_ms": round(max(ms), 1)}
