"""The L1 changelog through a librdkafka producer of its own, off the event loop.

A warm writes one changelog record per caller. Through aiokafka (Faust's producer) each record
cost the loop's thread its share of building and sending produce requests and reading their
answers: half the CPU of a warmed event went there (docs/operations.md, "The L1 changelog
through librdkafka"). librdkafka (confluent-kafka) does that work in C, on threads of its own
that do not hold the interpreter: here a record costs the loop one ``produce`` call and, later,
one delivery report.

The records are those of ``changelog.ChangelogWriter``: raw key, the entry's JSON, a null value
for a deletion, on the key's owner partition, in write order (one request in flight per broker,
so a retry cannot reorder a partition). A flush (before every commit, at a rebalance, at the
stop) waits until the broker has acknowledged every record written before it, partition by
partition, for at most ``changelog.FLUSH_BOUND_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, cast

from .changelog import FLUSH_BOUND_S, FailureLog

logger = logging.getLogger(__name__)

#: How often the loop serves librdkafka's delivery reports while records are unacknowledged.
POLL_INTERVAL_S = 0.005


class Producer(Protocol):
    """What the writer needs of ``confluent_kafka.Producer``."""

    def produce(
        self, topic: str, value: bytes | None, key: bytes, partition: int, on_delivery: Callable[[Any, Any], None]
    ) -> None:
        """Queue one record (BufferError: the queue is full)."""
        ...

    def poll(self, timeout: float) -> int:
        """Run the delivery reports that are due."""
        ...

    def purge(self) -> None:
        """Drop what is queued or in flight (their reports say so)."""
        ...

    def flush(self, timeout: float) -> int:
        """Wait up to *timeout* for what is queued; returns how many are left."""
        ...


def librdkafka_producer(config: dict[str, Any]) -> Producer:
    """A confluent-kafka producer with *config*, its log and its errors in warmline's log."""
    from confluent_kafka import Producer as _Producer  # imported here: only a worker that writes the changelog needs it

    def error(err: Any) -> None:
        logger.warning("l1 changelog producer: %s", err)

    producer = _Producer({**config, "logger": logging.getLogger("warmline.librdkafka"), "error_cb": error})
    return cast(Producer, producer)  # confluent-kafka's stubs type the report's arguments more narrowly


class RdkafkaChangelogWriter:
    """Changelog records produced through librdkafka in write order, their deliveries counted per partition."""

    def __init__(
        self,
        make_producer: Callable[[], Producer],
        topic: str,
        partition_of: Callable[[str], int],
        *,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self._make_producer = make_producer  # made on the first write, again after a stop
        self.topic = topic
        self._partition_of = partition_of  # the key's owner: ownership.owner_partition
        self._poll_interval_s = poll_interval_s
        self._producer: Producer | None = None
        self._pending: deque[tuple[bytes, bytes | None, int]] = deque()  # librdkafka's queue was full
        self._written: dict[int, int] = {}  # per partition: records written
        self._done: dict[int, int] = {}  # of them, acknowledged, refused or dropped
        self._written_total = self._done_total = 0  # the same, summed (read for every warmed event)
        self._flushes: list[tuple[dict[int, int], asyncio.Future[None]]] = []
        self._pump: asyncio.Task[None] | None = None
        self._failures = FailureLog()
        #: Records the broker acknowledged.
        self.delivered = 0

    def __len__(self) -> int:
        """Records written and not yet acknowledged (the produce backlog counts them)."""
        return self._written_total - self._done_total

    @property
    def written(self) -> int:
        """Records written since start."""
        return self._written_total

    @property
    def failed(self) -> int:
        """Records the producer or the broker refused, or a stop dropped (``warmline_l1_changelog_records_total``)."""
        return self._failures.count

    def write(self, key: str, value: bytes | None) -> None:
        """Produce one record (*value* None: a tombstone) after those written before it."""
        partition = self._partition_of(key)
        self._written[partition] = self._written.get(partition, 0) + 1
        self._written_total += 1
        record = (key.encode(), value, partition)
        if self._pending or not self._produce(record):
            self._pending.append(record)
        pump, loop = self._pump, asyncio.get_running_loop()
        if pump is None or pump.get_loop() is not loop:  # none running here (another loop's was closed)
            self._pump = loop.create_task(self._run(), name="l1 changelog deliveries")

    async def flush(self, timeout_s: float = FLUSH_BOUND_S) -> bool:
        """Return once every record written before this call is acknowledged or refused (True), or
        after *timeout_s* (False; they stay queued). Records written meanwhile are not waited for."""
        wanted = dict(self._written)
        if self._reached(wanted):
            return True
        waiter = asyncio.get_running_loop().create_future()
        self._flushes.append((wanted, waiter))
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout_s)
        except TimeoutError:
            logger.warning("l1 changelog: %d records not acknowledged within %.0f s", len(self), timeout_s)
            return False
        return True

    async def stop(self, timeout_s: float = FLUSH_BOUND_S) -> None:
        """Flush for at most *timeout_s*, then drop what is left and close the producer: a worker whose
        broker is gone must still stop (the entries stay in L2; a takeover's recovery misses them)."""
        await self.flush(timeout_s)
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        left = len(self)
        producer, self._producer = self._producer, None
        if producer is not None:
            producer.purge()  # what the broker has not acknowledged: its reports come as refusals
            producer.flush(0)
        self._pending.clear()  # never produced: dropped with what librdkafka still owes a report for
        owed = len(self)
        if owed:
            self._failures.add("dropped at stop", owed)
            self._done, self._done_total = dict(self._written), self._written_total
        if left:
            logger.warning("l1 changelog: %d records dropped at stop", left)
        self._settle()

    def _produce(self, record: tuple[bytes, bytes | None, int]) -> bool:
        """Hand *record* to librdkafka; False when its queue is full (the record waits here)."""
        key, value, partition = record
        if self._producer is None:
            try:
                self._producer = self._make_producer()
            except Exception as e:  # noqa: BLE001  # a producer librdkafka refuses to make fails the record, not the warm
                self._refused(partition, e)
                return True
        try:
            self._producer.produce(self.topic, value, key, partition, on_delivery=self._delivered)
        except BufferError:
            return False
        except Exception as e:  # noqa: BLE001  # a record librdkafka refuses must not stop the rest
            self._refused(partition, e)
        return True

    async def _run(self) -> None:
        """Serve delivery reports (and retry what waited for room) while records are unacknowledged."""
        pending = self._pending
        try:
            while len(self):
                while pending and self._produce(pending[0]):
                    pending.popleft()
                if self._producer is not None:
                    self._producer.poll(0)  # runs _delivered for each report
                self._settle()
                await asyncio.sleep(self._poll_interval_s)
        finally:
            self._pump = None

    def _delivered(self, error: Any, message: Any) -> None:
        self._count_done(message.partition())
        if error is not None:
            self._failures.add(error)
        else:
            self.delivered += 1

    def _refused(self, partition: int, error: BaseException) -> None:
        self._count_done(partition)
        self._failures.add(error)

    def _count_done(self, partition: int) -> None:
        self._done[partition] = self._done.get(partition, 0) + 1
        self._done_total += 1

    def _reached(self, wanted: dict[int, int]) -> bool:
        done = self._done
        return all(done.get(partition, 0) >= count for partition, count in wanted.items())

    def _settle(self) -> None:
        """Release the flushes whose records have all been acknowledged."""
        if self._flushes:
            waiting = []
            for wanted, waiter in self._flushes:
                if self._reached(wanted):
                    if not waiter.done():
                        waiter.set_result(None)
                else:
                    waiting.append((wanted, waiter))
            self._flushes = waiting
