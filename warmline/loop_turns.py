"""Warming's share of each turn of the event loop, so a lookup that arrives meanwhile waits little.

Warming is batch work: a batch's source calls finish together, and every continuation then
becomes ready on the loop at once. asyncio runs everything ready before it looks at its sockets
again, so an HTTP request or a Kafka reply that arrived meanwhile waited behind hundreds of
continuations: during a call-started burst 0.1 % of the loop's turns took 13-100 ms, with 216-400
callbacks ready at their start (a probe of the worker's loop; docs/operations.md, "Warming's
share of each loop turn").

Warming therefore asks for a ``turn()`` before each step of its work (an event taken, a source
answer stored). Between two polls of the loop's sockets, turns pass freely while the warm work
since the last poll stays under *budget_s*; after that they queue, first come first served. Each
turn of the loop then releases a few of them (``_tick``, which runs once the loop has polled),
as many as fit the budget: the count halves when the steps it released last time took longer
than the budget, and grows by one when they fitted and the count was all used. Lookups never
ask for a turn, and a lookup that joins a warm's source call lets that warm go at once
(``expedite``). The budget bounds the queued steps, not a single step: one long step still
holds the loop for as long as it runs. The turns are one loop's at a time: the first to ask, or
the next once that one has stopped; warm work on another loop running meanwhile is not held back.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Callable, Hashable

logger = logging.getLogger(__name__)

#: Warm work between two polls of the loop's sockets: what a lookup arriving meanwhile may wait.
BUDGET_S = 0.002
#: The most queued turns one turn of the loop releases.
MAX_RELEASE = 64


class LoopTurns:
    """Turns for warm work on the running loop (see the module docstring); *clock* is injectable."""

    def __init__(
        self,
        budget_s: float = BUDGET_S,
        *,
        clock: Callable[[], float] = time.perf_counter,
        max_release: int = MAX_RELEASE,
    ) -> None:
        self._budget_s = budget_s
        self._clock = clock
        self._max_release = max_release
        self._loop: asyncio.AbstractEventLoop | None = None
        self._foreign_logged = False
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._keyed: dict[Hashable, asyncio.Future[None]] = {}  # queued turns a lookup may expedite
        self._window_start = 0.0
        self._tick_pending = False
        self._released_at: float | None = None  # when the steps the last tick released began to run
        self._released = 0
        self._release = 1
        #: Turns that had to wait for a later turn of the loop (``warmline_warming_turns_total{event="waited"}``).
        self.waited = 0
        #: Queued turns let go at once because a lookup waited for them (``...{event="expedited"}``).
        self.expedited = 0

    def __len__(self) -> int:
        """Turns waiting now."""
        return len(self._waiters)

    async def turn(self, key: Hashable | None = None) -> None:
        """Return once warm work may take its next step; *key* names the step for ``expedite``."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            if self._loop is not None and self._loop.is_running():
                if not self._foreign_logged:  # said once: warm work here is not held back
                    self._foreign_logged = True
                    logger.warning("warming turns belong to another running event loop; this loop's warm work passes")
                return  # the turns are another live loop's (in another thread): its queue stays its own
            self._restart(loop)
        now = self._clock()
        if not self._tick_pending:  # the loop has polled since the last warm step: a new window
            self._window_start = now
            self._schedule_tick(loop)
            return
        while self._waiters and self._waiters[0].done():  # expedited or cancelled: no longer waiting
            self._waiters.popleft()
        if not self._waiters and now - self._window_start < self._budget_s:
            return
        waiter = loop.create_future()
        self._waiters.append(waiter)
        if key is not None:
            self._keyed[key] = waiter
        self.waited += 1
        try:
            await waiter
        finally:
            if key is not None and self._keyed.get(key) is waiter:
                del self._keyed[key]

    def expedite(self, key: Hashable) -> None:
        """Let the step queued under *key*, if any, go now: a lookup waits for it."""
        waiter = self._keyed.pop(key, None)
        if waiter is not None and not waiter.done():
            waiter.set_result(None)  # left in the queue: a released waiter is skipped there
            self.expedited += 1

    def _restart(self, loop: asyncio.AbstractEventLoop) -> None:
        """First use on *loop* (a runtime reused under another ``asyncio.run``): what queued on the
        old loop can never resume there, and a tick scheduled on it will never run."""
        self._loop = loop
        self._waiters.clear()
        self._keyed.clear()
        self._tick_pending = False
        self._released_at = None
        self._release = 1

    def _schedule_tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self._tick_pending = True
        loop.call_soon(self._tick)

    def _tick(self) -> None:
        """The loop polled its sockets since this was scheduled: a new window; release what fits it.

        The steps released here run in the loop's next turn, between ``_mark`` (scheduled before
        them) and the next tick (after them): that span is their cost, whatever else the turns hold.
        """
        self._tick_pending = False
        now = self._clock()
        if self._released_at is not None:
            if now - self._released_at > self._budget_s:
                self._release = max(1, self._release // 2)
            elif self._released >= self._release:  # all it could release fitted: try one more
                self._release = min(self._max_release, self._release + 1)
            self._released_at = None
        self._window_start = now
        if not self._waiters:
            return
        loop = asyncio.get_running_loop()
        loop.call_soon(self._mark)
        released = 0
        while self._waiters and released < self._release:
            waiter = self._waiters.popleft()
            if not waiter.done():  # a cancelled or expedited waiter takes no turn
                waiter.set_result(None)  # its task resumes after _mark, before the next tick
                released += 1
        self._released = released
        self._schedule_tick(loop)

    def _mark(self) -> None:
        self._released_at = self._clock()
