"""A small local batcher: hands items over in lists, so per-batch costs (MGET, L2 pipeline) are paid once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Batcher(Generic[T]):
    """Collects items; *flush* gets them in lists of at most *size*, at most *within_s* after the first.

    A full batch is flushed by add() itself, so a slow flush (no free handler slots) slows the
    consumer: that is the backpressure. A partial batch is flushed by a timer, so a lone event
    waits at most *within_s* (a few ms, small beside a source call).
    """

    def __init__(self, size: int, within_s: float, flush: Callable[[list[T]], Awaitable[None]]) -> None:
        self._size = size
        self._within_s = within_s
        self._flush = flush
        self._items: list[T] = []
        self._timer: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def __len__(self) -> int:
        return len(self._items)

    async def add(self, item: T) -> None:
        """Queue *item*; flush when the batch is full, else make sure the timer runs."""
        self._items.append(item)
        if len(self._items) >= self._size:
            await self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._within_s, self._on_timer)

    async def flush(self) -> None:
        """Hand over what is queued now (nothing when empty)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._items:
            return
        items, self._items = self._items, []
        await self._flush(items)

    def _on_timer(self) -> None:
        self._timer = None
        task = asyncio.create_task(self.flush())
        self._tasks.add(task)  # held until done: the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)
