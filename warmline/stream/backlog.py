"""Backpressure on the producer: the worker stops taking events while too much is waiting to be produced.

Without a bound, a worker that consumes faster than the broker accepts its writes (replies, re-keyed
events, the L1 changelog) buffers without limit, and its memory depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

#: Records waiting for the broker (replies, re-keyed events, the L1 changelog) before intake pauses.
MAX_PRODUCE_BACKLOG = 5000

#: How long room() sleeps between looks at the changelog buffer (it has no callback to wake us).
_POLL_S = 0.01


class ProduceBacklog:
    """Counts records handed to the producer and not yet acked by the broker.

    *buffered* reports what waits outside our futures (the L1 changelog writer's queue, and Faust's
    producer buffer, which carries the changelog when the writer is off); tracked deliveries are
    our own sends (replies, re-keying, the DLQ).
    """

    def __init__(self, limit: int, buffered: Callable[[], int] = lambda: 0) -> None:
        self.limit = limit
        self._buffered = buffered
        self._pending = 0
        self._room = asyncio.Event()

    def __len__(self) -> int:
        return self._pending + self._buffered()

    @property
    def full(self) -> bool:
        """True when the consumer should wait before taking another event."""
        return len(self) >= self.limit

    def track(self, delivery: asyncio.Future[Any]) -> None:
        """Count *delivery* until the broker acks (or refuses) it."""
        self._pending += 1
        delivery.add_done_callback(self._done)

    async def room(self) -> None:
        """Return once the backlog is below the limit (at once when it is)."""
        while self.full:
            self._room.clear()
            with contextlib.suppress(TimeoutError):  # a timeout only means: look at the buffer again
                await asyncio.wait_for(self._room.wait(), _POLL_S)

    def _done(self, _: asyncio.Future[Any]) -> None:
        self._pending -= 1
        if not self.full:
            self._room.set()


def producer_buffered(app: Any) -> int:
    """Records in Faust's producer buffer (the L1 changelog waits there with the writer off), 0 before it exists."""
    buffer = getattr(getattr(app, "producer", None), "buffer", None)
    return int(buffer.size) if buffer is not None else 0
