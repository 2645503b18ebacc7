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
stop) waits until every record written before it is acknowledged or refused, record by record
(one sequence over all partitions), for at most ``changelog.FLUSH_BOUND_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, cast

from .changelog import FLUSH_BOUND_S, LimitedWarnings, WriterCounts

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

    def purge(self, in_queue: bool = True, in_flight: bool = True, blocking: bool = True) -> None:
        """Drop what is queued or in flight (their reports say so)."""
        ...

    def flush(self, timeout: float) -> int:
        """Wait up to *timeout* for what is queued; returns how many are left."""
        ...


def librdkafka_producer(config: dict[str, Any]) -> Producer:
    """A confluent-kafka producer with *config*, its log and its errors in warmline's log (raises
    ``confluent_kafka.KafkaException`` when librdkafka refuses the configuration or its files)."""
    from confluent_kafka import Producer as _Producer  # imported here: only a worker that writes the changelog needs it

    errors = LimitedWarnings(logger)

    def error(err: Any) -> None:
        errors.warning("l1 changelog producer: %s", err)

    producer = _Producer({**config, "logger": logging.getLogger("warmline.librdkafka"), "error_cb": error})
    return cast(Producer, producer)  # confluent-kafka's stubs type the report's arguments more narrowly


class _Done:
    """Which records (by sequence number) are done: acknowledged, refused or dropped. Reports can
    come out of order (a record refused at once while an earlier one is in flight, or partitions
    answering at their own pace), so a flush waits for ``first_open``, not for a count."""

    __slots__ = ("ahead", "first_open")

    def __init__(self) -> None:
        self.first_open = 0
        self.ahead: set[int] = set()

    def mark(self, seq: int) -> bool:
        """Mark record *seq* done; False if it already was (a report after a stop settled it)."""
        if seq < self.first_open or seq in self.ahead:
            return False
        if seq != self.first_open:
            self.ahead.add(seq)
            return True
        self.first_open += 1
        while self.first_open in self.ahead:
            self.ahead.remove(self.first_open)
            self.first_open += 1
        return True


class RdkafkaChangelogWriter(WriterCounts):
    """Changelog records produced through librdkafka in write order, each one's report awaited."""

    def __init__(
        self,
        producer: Producer,
        topic: str,
        partition_of: Callable[[str], int],
        *,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        super().__init__()
        self._producer: Producer | None = producer  # None once stopped
        self.topic = topic
        self._partition_of = partition_of  # the key's owner: ownership.owner_partition
        self._poll_interval_s = poll_interval_s
        self._pending: deque[tuple[bytes, bytes | None, int, int]] = deque()  # librdkafka's queue was full
        self._done = _Done()
        self._completed = 0  # records done, in any order (the backlog's count)
        self._pump: asyncio.Task[None] | None = None
        self._pump_errors = LimitedWarnings(logger)

    def __len__(self) -> int:
        """Records written and not yet done (the produce backlog counts them)."""
        return self._written - self._completed

    def write(self, key: str, value: bytes | None) -> None:
        """Produce one record (*value* None: a tombstone) after those written before it."""
        seq = self._written
        self._written += 1
        producer = self._producer
        if producer is None:  # stopped: nothing would ever send or flush it, so counted, not left
            self._refused(seq, "written after the stop")
            return
        record = (key.encode(), value, self._partition_of(key), seq)
        if self._pending or not self._produce(producer, record):
            self._pending.append(record)
        self._ensure_pump()

    async def flush(self, timeout_s: float = FLUSH_BOUND_S) -> bool:
        """Return once every record written before this call is done (True), or after *timeout_s*
        (False; they stay queued). Records written meanwhile are not waited for."""
        if len(self):
            self._ensure_pump()
        if await self._flushes.wait(self._written, self._done.first_open, timeout_s):
            return True
        logger.warning("l1 changelog: %d records not acknowledged within %.1f s", len(self), timeout_s)
        return False

    async def stop(self, timeout_s: float = FLUSH_BOUND_S) -> None:
        """Flush for at most *timeout_s*, then drop what is left and let the producer go: a worker
        whose broker is gone must still stop (the entries stay in L2; a takeover's recovery misses
        them, and brings back an entry whose tombstone was dropped)."""
        await self.flush(timeout_s)
        pump, self._pump = self._pump, None
        if pump is not None:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pump
        producer, self._producer = self._producer, None
        try:
            if producer is not None:
                producer.purge(blocking=False)  # nothing left to wait for: the close must not either
                producer.flush(0)  # the reports that are due: acknowledged ones still count as delivered
        finally:
            self._pending.clear()
            owed = len(self)
            if owed:
                logger.warning("l1 changelog: %d records dropped at stop", owed)
                self._failures.add("dropped at stop", owed)
                self._done.first_open, self._done.ahead = self._written, set()
                self._completed = self._written
            self._flushes.settle(self._done.first_open)

    def _produce(self, producer: Producer, record: tuple[bytes, bytes | None, int, int]) -> bool:
        """Hand *record* to librdkafka; False when its queue is full (the record waits here)."""
        key, value, partition, seq = record
        try:
            producer.produce(self.topic, value, key, partition, on_delivery=functools.partial(self._delivered, seq))
        except BufferError:
            return False
        except Exception as e:  # noqa: BLE001  # a record librdkafka refuses must not stop the rest
            self._refused(seq, e)
        return True

    def _ensure_pump(self) -> None:
        """A task serving the reports while records are open: started, or started again if it ended."""
        pump, loop = self._pump, asyncio.get_running_loop()
        if pump is None or pump.done() or pump.get_loop() is not loop:
            self._pump = loop.create_task(self._run(), name="l1 changelog deliveries")

    async def _run(self) -> None:
        """Serve delivery reports (and retry what waited for room) while records are open."""
        pending = self._pending
        try:
            while len(self) and (producer := self._producer) is not None:
                try:
                    while pending and self._produce(producer, pending[0]):
                        pending.popleft()
                    producer.poll(0)  # runs _delivered for each report
                except Exception:  # noqa: BLE001  # a log handler or callback raised inside poll: go on next round
                    self._pump_errors.warning("l1 changelog: serving delivery reports failed", exc_info=True)
                self._flushes.settle(self._done.first_open)
                await asyncio.sleep(self._poll_interval_s)
        finally:
            if self._pump is asyncio.current_task():
                self._pump = None

    def _delivered(self, seq: int, error: Any, message: Any) -> None:
        if not self._complete(seq):
            return
        if error is not None:
            self._failures.add(error)
        else:
            self.delivered += 1

    def _refused(self, seq: int, error: object) -> None:
        if self._complete(seq):
            self._failures.add(error)

    def _complete(self, seq: int) -> bool:
        if not self._done.mark(seq):
            return False
        self._completed += 1
        return True
