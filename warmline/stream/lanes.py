"""Lookups first: warming yields to waiting lookups and to a late event loop, in bounded slices.

A lookup is an agent waiting with a caller on the line; a warm is work that can wait a second.
Both share one consumer and one event loop, so a burst of call-started events would otherwise
put every lookup behind it. While a lookup lane's partition has records not done (fetched or
known to the consumer and not acked), a request is being served (``serving()``: the platforms'
webhook, whose platform waits for its answer) or the loop runs late, the warming lane *yields*:

- the consumer stops handing out (and so fetching) the warming lane's partitions
  (``TunedConsumer._getmany`` leaves out ``held()``; its own pause set, so Faust's pauses for
  rebalances, recovery and full buffers neither undo it nor are undone by it);
- the call-started agents wait for their ``turn()`` before taking the next event they hold.

Yielding is bounded: after ``max_yield_s`` of continuous yielding warming gets a slice of
``slice_s`` whatever the signals say, so a steady trickle of lookups never starves it.
Warming also holds, without slices, while more than ``max_produce_backlog`` records wait for the
broker (mostly its own L1 changelog writes): at MAX_PRODUCE_BACKLOG the worker stops taking
events of every lane, lookups included, so warming stays below that on its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any, Protocol

import mode

logger = logging.getLogger(__name__)

#: How often the loop's lateness and the lanes' backlog are looked at.
CHECK_INTERVAL_S = 0.01
#: A loop this late (beyond CHECK_INTERVAL_S) counts as busy: HTTP requests wait in it too.
LATE_S = 0.02
#: The longest warming yields in one go before it gets a slice.
MAX_YIELD_S = 0.25
#: The slice warming then gets, signals or not: as long as the yield, so warming keeps half the
#: time while lookups never stop coming. A 50 ms slice left it a sixth: through the fault suite's
#: hostile flood, call-started was still 91–183 records behind on every partition 30 s after the
#: last send (docs/faults.md), and a warm slice shorter than a fetch round trip takes little.
SLICE_S = 0.25
#: Records waiting for the broker above which warming holds (no slice): the worker's intake stops
#: for every lane at MAX_PRODUCE_BACKLOG (stream/backlog.py), so warming keeps well below it and a
#: lookup's reply never waits for the L1 changelog to drain.
WARMING_PRODUCE_BACKLOG = 1000

LOOKUPS, WARMING, INVALIDATION, OTHER = "lookups", "warming", "invalidation", "other"
LATE_LOOP, LOOKUPS_WAITING, PRODUCE_BACKLOG, SLICED = "late_loop", "lookups_waiting", "produce_backlog", "sliced"


class _Partition(Protocol):
    @property
    def topic(self) -> str: ...  # read-only: Faust's TP (a NamedTuple) has it so


class Lanes:
    """Which lane each input topic belongs to, and whether warming must yield now.

    *backlog(topics)* gives, per input partition of *topics* (None: all), the records not done
    (the consumer's lag); the lookup lane's is read at every check. *clock* is injected for tests.
    """

    def __init__(
        self,
        topics: Mapping[str, Collection[str]],
        backlog: Callable[[Collection[str] | None], Mapping[Any, int]],
        *,
        produce_backlog: Callable[[], int] = lambda: 0,
        max_produce_backlog: int = WARMING_PRODUCE_BACKLOG,
        clock: Callable[[], float] = time.monotonic,
        late_s: float = LATE_S,
        max_yield_s: float = MAX_YIELD_S,
        slice_s: float = SLICE_S,
    ) -> None:
        self._lane_of = {topic: lane for lane, names in topics.items() for topic in names}
        self._lookup_topics = frozenset(topics.get(LOOKUPS, ()))
        self._backlog = backlog
        self._produce_backlog = produce_backlog
        self._max_produce_backlog = max_produce_backlog
        self._clock = clock
        self._late_s = late_s
        self._max_yield_s = max_yield_s
        self._slice_s = slice_s
        self._loop_late_s = 0.0
        self._serving = 0
        self._yield_since: float | None = None
        self._slice_until = 0.0
        self._open = asyncio.Event()
        self._open.set()
        #: Times warming started to yield, by why, and slices it was given while the reason lasted.
        self.counts = dict.fromkeys((LATE_LOOP, LOOKUPS_WAITING, PRODUCE_BACKLOG, SLICED), 0)

    @property
    def lookup_topics(self) -> frozenset[str]:
        """The lookup lane's topics."""
        return self._lookup_topics

    def lane_of(self, topic: str) -> str:
        """The lane of *topic* (``other`` for topics of no lane, e.g. changelogs)."""
        return self._lane_of.get(topic, OTHER)

    @property
    def yielding(self) -> bool:
        """Whether warming waits now."""
        return not self._open.is_set()

    def observe_loop(self, late_s: float) -> None:
        """The loop ran a check *late_s* after it was due."""
        self._loop_late_s = late_s

    def lookups_waiting(self) -> bool:
        """Whether a lookup lane's partition has records not done, or a request is being served."""
        return self._serving > 0 or any(lag > 0 for lag in self._backlog(self._lookup_topics).values())

    @contextlib.contextmanager
    def serving(self) -> Iterator[None]:
        """While inside, a request that a caller's platform waits on is served (the platforms'
        webhook answers once its event is on Kafka): warming yields to it as to a waiting lookup."""
        self._serving += 1
        try:
            yield
        finally:
            self._serving -= 1

    def check(self) -> bool:
        """Decide whether warming yields now (see the module docstring); returns the decision."""
        now = self._clock()
        if self._produce_backlog() >= self._max_produce_backlog:
            # Not a turn to share: warming cannot go faster than the broker takes its writes anyway.
            if self._open.is_set():
                self.counts[PRODUCE_BACKLOG] += 1
            self._open.clear()
            return True
        late = self._loop_late_s > self._late_s
        if not (late or self.lookups_waiting()) or now < self._slice_until:
            self._yield_since = None
            self._open.set()
            return False
        if self._yield_since is None:
            self._yield_since = now
            self.counts[LATE_LOOP if late else LOOKUPS_WAITING] += 1
        elif now - self._yield_since >= self._max_yield_s:
            self._yield_since = None
            self._slice_until = now + self._slice_s
            self.counts[SLICED] += 1
            self._open.set()
            return False
        self._open.clear()
        return True

    def release(self) -> None:
        """Let warming go on now (and until a check decides otherwise)."""
        self._yield_since = None
        self._open.set()

    def held(self, partitions: Collection[_Partition]) -> set[Any]:
        """The partitions of *partitions* the consumer must not hand out now (the warming lane's, while yielding)."""
        if self._open.is_set():
            return set()
        return {tp for tp in partitions if self.lane_of(tp.topic) == WARMING}

    async def turn(self) -> None:
        """Return once warming may take its next event."""
        if not self._open.is_set():
            await self._open.wait()

    def lag(self) -> dict[tuple[str, ...], float]:
        """Records not done, summed per (lane, topic): ``warmline_consumer_lag``."""
        totals: dict[tuple[str, ...], float] = {}
        for tp, lag in self._backlog(None).items():
            key = (self.lane_of(tp.topic), tp.topic)
            totals[key] = totals.get(key, 0) + lag
        return totals


class LanesWatch(mode.Service):
    """Checks the lanes every CHECK_INTERVAL_S and measures how late the loop ran each check."""

    def __init__(self, lanes: Lanes, interval_s: float = CHECK_INTERVAL_S, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.lanes = lanes
        self.interval_s = interval_s

    async def on_stop(self) -> None:
        """Nothing checks any more: warming must not stay held (the handler drain waits for it)."""
        self.lanes.release()

    @mode.Service.task
    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        while not self.should_stop:
            due = loop.time() + self.interval_s
            await asyncio.sleep(self.interval_s)
            self.lanes.observe_loop(max(0.0, loop.time() - due))
            try:
                self.lanes.check()
            except Exception:  # a broken check must not leave warming yielding for good
                logger.exception("lanes check failed; warming goes on")
                self.lanes.release()
