"""Per-key coalescing: concurrent calls for one key share one in-flight call."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class SingleFlight(Generic[T]):
    """``await do(key, fn)`` runs ``fn()`` once per key at a time; later callers await the same result."""

    def __init__(self) -> None:
        self._inflight: dict[Hashable, asyncio.Future[T]] = {}

    def __len__(self) -> int:
        return len(self._inflight)

    def in_flight(self, key: Hashable) -> bool:
        """Is a call for *key* running?"""
        return key in self._inflight

    async def do(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> tuple[T, bool]:
        """Return ``(result, shared)``; *shared* is True when this caller joined another's call."""
        existing = self._inflight.get(key)
        if existing is not None:
            # shield: one waiter's cancellation must not cancel the call the others wait for.
            return await asyncio.shield(existing), True
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await fn()
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as e:
            future.set_exception(e)
            future.exception()  # mark retrieved: no "never retrieved" noise when nobody joined
            raise
        else:
            future.set_result(result)
            return result, False
        finally:
            del self._inflight[key]
