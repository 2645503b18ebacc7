"""The L1 table's changelog records written straight to the producer, not through Faust's buffer.

Faust turns every table write into a FutureMessage on its producer buffer; a task of the buffer's
takes it off a queue and publishes it through the changelog topic (codec lookups, callbacks,
sensors) before aiokafka sees it. A warm writes one record per caller, so that path was a fixed
share of every warmed event (docs/operations.md, "The L1 changelog writer").

Here a table write appends the record's bytes to a deque, and one coroutine hands the deque to
Faust's producer in the order written: the same records (raw key, the entry's JSON from the same
codec, a null value for a deletion) on the same partition (the key's owner, as Kafka's default
partitioner would put it; the worker refuses to start on an L1 changelog of another partition
count), so changelog recovery and co-partitioning are as before. Faust flushes the producer before
it commits an offset and at a rebalance; the flush first waits for the records written before it
to be handed over (``transport.StableProducer``), for at most FLUSH_BOUND_S: Faust's own buffer
gave up after 0.1 s without progress, so this is the stronger of the two, and a broker outage
cannot hold a commit or a stop for ever.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol

import faust
from faust.exceptions import NotReady
from faust.serializers import codecs

from ..errors import InvalidMessage
from ..loop_turns import LoopTurns
from ..models import CacheEntry

logger = logging.getLogger(__name__)

#: The L1 table's value codec (its changelog's value serializer).
ENTRY_CODEC = "warmline-entry"
#: At most one warning per this many seconds about records the changelog did not take.
FAILURE_LOG_INTERVAL_S = 10.0
#: The longest a flush (a commit, a rebalance, a stop) waits for a writer to hand its records over.
FLUSH_BOUND_S = 10.0
#: How long the writer waits for the producer to start before it tries a record again.
NOT_READY_RETRY_S = 0.1

#: What the writer needs of a producer: Faust's ``Producer.send`` (topic, key, value, partition,
#: timestamp, headers), which returns the record's delivery future once aiokafka has it.
Send = Callable[[str, bytes, bytes | None, int, None, None], Awaitable[Awaitable[Any]]]


class EntryCodec(codecs.Codec):
    """CacheEntry ⇄ JSON bytes for the L1 changelog; an undecodable record recovers as a miss."""

    def _dumps(self, obj: Any) -> bytes:
        return obj.to_bytes() if isinstance(obj, CacheEntry) else b""

    def _loads(self, s: bytes) -> Any:
        try:
            return CacheEntry.from_bytes(s)
        except InvalidMessage:
            return None


ENTRY = EntryCodec()
codecs.register(ENTRY_CODEC, ENTRY)


class L1ChangelogWriter(Protocol):
    """What the L1 table, the producer's flush and the metrics need of a writer (this module's, or
    ``changelog_rdkafka``'s)."""

    delivered: int

    @property
    def written(self) -> int:
        """Records written since start."""
        ...

    @property
    def failed(self) -> int:
        """Records refused, or dropped at a stop."""
        ...

    def __len__(self) -> int: ...

    def write(self, key: str, value: bytes | None) -> None:
        """Send one record (*value* None: a tombstone) after those written before it."""
        ...

    async def flush(self, timeout_s: float = ...) -> bool:
        """Return once the records written before this call are done (True), or after *timeout_s* (False)."""
        ...

    async def stop(self, timeout_s: float = ...) -> None:
        """Flush for at most *timeout_s*, then drop what is left."""
        ...


class LimitedWarnings:
    """A logger's warnings, at most one per FAILURE_LOG_INTERVAL_S: a broker outage repeats them."""

    def __init__(self, log: logging.Logger) -> None:
        self._log = log
        self._next = 0.0

    def warning(self, message: str, *args: Any, exc_info: bool = False) -> None:
        """Log *message* unless one was logged within the interval."""
        now = time.monotonic()
        if now >= self._next:
            self._next = now + FAILURE_LOG_INTERVAL_S
            self._log.warning(message, *args, exc_info=exc_info)


class FailureLog:
    """Records the changelog did not take: counted, and logged at most once per FAILURE_LOG_INTERVAL_S."""

    def __init__(self) -> None:
        self.count = 0
        self._warnings = LimitedWarnings(logger)

    def add(self, error: object, count: int = 1) -> None:
        """Count *count* (their entries stay in this worker's L1 and in L2; a takeover's recovery misses
        them, or, for a tombstone, brings back the entry it deleted)."""
        self.count += count
        self._warnings.warning("l1 changelog: %d records not stored so far, the last: %r", self.count, error)


class Flushes:
    """Flushes waiting until the records written before them are done: each waits for a count of
    records done, and they are released in the order they came as that count grows."""

    def __init__(self) -> None:
        self._waiting: deque[tuple[int, asyncio.Future[None]]] = deque()

    async def wait(self, target: int, done: int, timeout_s: float) -> bool:
        """True once ``settle`` has seen *target* records done (at once if *done* already is); False
        after *timeout_s*."""
        if done >= target:
            return True
        entry = (target, asyncio.get_running_loop().create_future())
        self._waiting.append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(entry[1]), timeout_s)
        except TimeoutError:
            return False
        finally:
            if entry in self._waiting:
                self._waiting.remove(entry)
        return True

    def settle(self, done: int) -> None:
        """Release the flushes waiting for at most *done* records."""
        while self._waiting and self._waiting[0][0] <= done:
            _, waiter = self._waiting.popleft()
            if not waiter.done():
                waiter.set_result(None)


class WriterCounts:
    """What both writers count and how their flushes wait (``L1ChangelogWriter``)."""

    def __init__(self) -> None:
        self._written = 0  # records ever written
        self._failures = FailureLog()
        self._flushes = Flushes()
        #: Records the broker acknowledged.
        self.delivered = 0

    @property
    def written(self) -> int:
        """Records written since start."""
        return self._written

    @property
    def failed(self) -> int:
        """Records refused, dropped at a stop or written after it (``warmline_l1_changelog_records_total``)."""
        return self._failures.count


class ChangelogWriter(WriterCounts):
    """Changelog records in write order, one coroutine handing them to the producer."""

    def __init__(
        self,
        send: Callable[[], Send],
        topic: str,
        partition_of: Callable[[str], int],
        turns: LoopTurns | None = None,
    ) -> None:
        super().__init__()
        self._send = send  # asked at each drain: the producer exists only once the app has started
        self.topic = topic
        self._partition_of = partition_of  # the key's owner: ownership.owner_partition
        # Each send is warm work (a warm's record, mostly): it takes warming's turn on the loop, so a
        # drain of a batch's records does not hold a lookup up in one long step (loop_turns.py).
        self._turns = turns
        self._queue: deque[tuple[str, bytes | None]] = deque()
        self._drain: asyncio.Task[None] | None = None
        self._done = 0  # records handed to the producer or given up on

    def __len__(self) -> int:
        """Records written and not yet handed to the producer (what Faust's buffer would hold)."""
        return len(self._queue)

    def write(self, key: str, value: bytes | None) -> None:
        """Queue one record (*value* None: a tombstone); sent in this order."""
        self._queue.append((key, value))
        self._written += 1
        drain, loop = self._drain, asyncio.get_running_loop()
        if drain is None or drain.get_loop() is not loop:  # none running here (another loop's was closed)
            self._drain = loop.create_task(self._run(), name="l1 changelog writer")

    async def flush(self, timeout_s: float = FLUSH_BOUND_S) -> bool:
        """Return once the records written before this call have been handed to the producer (True),
        or after *timeout_s* (False; they stay queued). Records written meanwhile are not waited for."""
        if await self._flushes.wait(self._written, self._done, timeout_s):
            return True
        logger.warning("l1 changelog: %d records not handed to the producer within %.1f s", len(self), timeout_s)
        return False

    async def stop(self, timeout_s: float = FLUSH_BOUND_S) -> None:
        """Flush for at most *timeout_s*, then drop what is left: a worker whose broker is gone must
        still stop (the entries stay in L2; a takeover's recovery misses them, as it would any
        record Faust's buffer could not send)."""
        if await self.flush(timeout_s):
            return
        drain = self._drain
        if drain is not None:
            drain.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await drain
        logger.warning("l1 changelog: %d records dropped at stop", len(self._queue))
        self._failures.add("dropped at stop", len(self._queue))
        self._done += len(self._queue)
        self._queue.clear()
        self._flushes.settle(self._done)

    async def _run(self) -> None:
        queue, topic, partition_of, turns = self._queue, self.topic, self._partition_of, self._turns
        send = self._send()
        try:
            while queue:
                if turns is not None:
                    await turns.turn()
                key, value = queue[0]
                try:
                    sent = await send(topic, key.encode(), value, partition_of(key), None, None)
                except NotReady:  # the producer has not started yet (or is restarting): the record waits
                    await asyncio.sleep(NOT_READY_RETRY_S)
                    continue
                except Exception as e:  # noqa: BLE001  # a record the producer refused must not stop the rest
                    self._failures.add(e)
                else:
                    asyncio.ensure_future(sent).add_done_callback(self._delivered)
                queue.popleft()
                self._done += 1
                self._flushes.settle(self._done)
        finally:
            self._drain = None  # cancelled mid-way (a stop): what is left goes with the next write

    def _delivered(self, delivery: asyncio.Future[Any]) -> None:
        if delivery.cancelled():
            return
        if delivery.exception() is not None:
            self._failures.add(delivery.exception())
        else:
            self.delivered += 1


def writers_of(tables: Iterable[Any]) -> list[L1ChangelogWriter]:
    """The changelog writers attached to *tables* (an L1Table's, once the worker attached one)."""
    return [w for w in (getattr(table, "changelog_writer", None) for table in tables) if w is not None]


async def flush_writers(tables: Iterable[Any]) -> None:
    """Hand to the producer what the changelog writers of *tables* hold (before a flush: a commit, a rebalance)."""
    for writer in writers_of(tables):
        await writer.flush()


async def stop_writers(tables: Iterable[Any], timeout_s: float = FLUSH_BOUND_S) -> None:
    """The same at the producer's stop, for at most *timeout_s* each."""
    for writer in writers_of(tables):
        await writer.stop(timeout_s)


class L1Table(faust.Table[str, CacheEntry | None]):
    """Faust's table, whose writes go to a ChangelogWriter once one is attached (Faust's path until then)."""

    changelog_writer: L1ChangelogWriter | None = None

    def on_key_set(self, key: Any, value: Any) -> None:
        """Write the set's changelog record."""
        writer = self.changelog_writer
        if writer is None:
            super().on_key_set(key, value)
        else:
            writer.write(key, ENTRY.dumps(value))

    def on_key_del(self, key: Any) -> None:
        """Write the deletion's tombstone."""
        writer = self.changelog_writer
        if writer is None:
            super().on_key_del(key)
        else:
            writer.write(key, None)
