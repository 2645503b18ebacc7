"""Per-key coalescing: concurrent calls for one key share one in-flight call."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Hashable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """``await do(key, fn)`` runs ``fn()`` once per key at a time; later callers await the same result.

    The call runs in its own task, so no caller's cancellation (a client timeout) cancels it:
    the result still lands in the cache for whoever asks next.
    """

    def __init__(self) -> None:
        self._inflight: dict[Hashable, asyncio.Task[T]] = {}

    def __len__(self) -> int:
        return len(self._inflight)

    def in_flight(self, key: Hashable) -> bool:
        """Is a call for *key* running?"""
        return key in self._inflight

    async def do(self, key: Hashable, fn: Callable[[], Coroutine[Any, Any, T]]) -> tuple[T, bool]:
        """Return ``(result, shared)``; *shared* is True when this caller joined another's call."""
        task = self._inflight.get(key)
        shared = task is not None
        if task is None:
            task = asyncio.create_task(fn())
            self._inflight[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        return await asyncio.shield(task), shared

    def _forget(self, key: Hashable, task: asyncio.Task[T]) -> None:
        if self._inflight.get(key) is task:
            del self._inflight[key]
        if not task.cancelled():
            task.exception()  # mark retrieved: no "never retrieved" noise when every caller left

    async def aclose(self) -> None:
        """Cancel the calls still running and wait for them."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
