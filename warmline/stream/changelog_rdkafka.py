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
stop) waits until every record written before it is acknowledged or refused, record by record,
for at most ``changelog.FLUSH_BOUND_S``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol, cast

from .changelog import FLUSH_BOUND_S, FailureLog, LimitedWarnings

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


class _Partition:
    """One partition's records by sequence number: how many were written, and the first not yet done
    (acknowledged, refused or dropped). Reports can come out of order (a record refused at once
    while an earlier one is in flight), so a flush waits for ``first_open``, not for a count."""

    __slots__ = ("done_ahead", "first_open", "written")

    def __init__(self) -> None:
        self.written = 0
        self.first_open = 0
        self.done_ahead: set[int] = set()

    def complete(self, seq: int) -> bool:
        """Mark record *seq* done; False if it already was (a report after a stop settled it)."""
        if seq < self.first_open or seq in self.done_ahead:
            return False
        if seq != self.first_open:
            self.done_ahead.add(seq)
            return True
        self.first_open += 1
        while self.first_open in self.done_ahead:
            self.done_ahead.remove(self.first_open)
            self.first_open += 1
        return True


class RdkafkaChangelogWriter:
    """Changelog records produced through librdkafka in write order, each one's report awaited per partition."""

    def __init__(
        self,
        make_producer: Callable[[], Producer],
        topic: str,
        partition_of: Callable[[str], int],
        *,
        producer: Producer | None = None,
        poll_interval_s: float = POLL_INTERVAL_S,
    ) -> None:
        self._make_producer = make_producer  # used on the first write when no *producer* is given
        self.topic = topic
        self._partition_of = partition_of  # the key's owner: ownership.owner_partition
        self._poll_interval_s = poll_interval_s
        self._producer = producer
        self._stopped = False
        self._pending: deque[tuple[bytes, bytes | None, int, int]] = deque()  # librdkafka's queue was full
        self._partitions: dict[int, _Partition] = {}
        self._written_total = self._done_total = 0  # summed over partitions (read for every warmed event)
        self._flushes: list[tuple[dict[int, int], asyncio.Future[None]]] = []
        self._pump: asyncio.Task[None] | None = None
        self._failures = FailureLog()
        self._pump_errors = LimitedWarnings(logger)
        #: Records the broker acknowledged.
        self.delivered = 0

    def __len__(self) -> int:
        """Records written and not yet done (the produce backlog counts them)."""
        return self._written_total - self._done_total

    @property
    def written(self) -> int:
        """Records written since start."""
        return self._written_total

    @property
    def failed(self) -> int:
        """Records refused, dropped at a stop or written after it (``warmline_l1_changelog_records_total``)."""
        return self._failures.count

    def write(self, key: str, value: bytes | None) -> None:
        """Produce one record (*value* None: a tombstone) after those written before it."""
        partition = self._partition_of(key)
        part = self._partitions.get(partition)
        if part is None:
            part = self._partitions[partition] = _Partition()
        seq = part.written
        part.written += 1
        self._written_total += 1
        if self._stopped:  # nothing would ever send or flush it: counted, not left dangling
            self._refused(partition, seq, "written after the stop")
            return
        record = (key.encode(), value, partition, seq)
        if self._pending or not self._produce(record):
            self._pending.append(record)
        self._ensure_pump()

    async def flush(self, timeout_s: float = FLUSH_BOUND_S) -> bool:
        """Return once every record written before this call is done (True), or after *timeout_s*
        (False; they stay queued). Records written meanwhile are not waited for."""
        wanted = {partition: part.written for partition, part in self._partitions.items()}
        if self._reached(wanted):
            return True
        self._ensure_pump()
        waiter = asyncio.get_running_loop().create_future()
        entry = (wanted, waiter)
        self._flushes.append(entry)
        try:
            await asyncio.wait_for(asyncio.shield(waiter), timeout_s)
        except TimeoutError:
            logger.warning("l1 changelog: %d records not acknowledged within %.1f s", len(self), timeout_s)
            return False
        finally:
            if entry in self._flushes:
                self._flushes.remove(entry)
        return True

    async def stop(self, timeout_s: float = FLUSH_BOUND_S) -> None:
        """Flush for at most *timeout_s*, then drop what is left and let the producer go: a worker
        whose broker is gone must still stop (the entries stay in L2; a takeover's recovery misses
        them, and brings back an entry whose tombstone was dropped)."""
        await self.flush(timeout_s)
        self._stopped = True
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
                for part in self._partitions.values():
                    part.first_open, part.done_ahead = part.written, set()
                self._done_total = self._written_total
            self._settle()

    def _produce(self, record: tuple[bytes, bytes | None, int, int]) -> bool:
        """Hand *record* to librdkafka; False when its queue is full (the record waits here)."""
        key, value, partition, seq = record
        if self._producer is None:
            try:
                self._producer = self._make_producer()
            except Exception as e:  # noqa: BLE001  # a producer librdkafka refuses to make fails the record, not the warm
                self._refused(partition, seq, e)
                return True
        try:
            self._producer.produce(
                self.topic, value, key, partition, on_delivery=functools.partial(self._delivered, partition, seq)
            )
        except BufferError:
            return False
        except Exception as e:  # noqa: BLE001  # a record librdkafka refuses must not stop the rest
            self._refused(partition, seq, e)
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
            while len(self):
                try:
                    while pending and self._produce(pending[0]):
                        pending.popleft()
                    if self._producer is not None:
                        self._producer.poll(0)  # runs _delivered for each report
                except Exception:  # noqa: BLE001  # a log handler or callback raised inside poll: go on next round
                    self._pump_errors.warning("l1 changelog: serving delivery reports failed", exc_info=True)
                self._settle()
                await asyncio.sleep(self._poll_interval_s)
        finally:
            if self._pump is asyncio.current_task():
                self._pump = None

    def _delivered(self, partition: int, seq: int, error: Any, message: Any) -> None:
        if not self._complete(partition, seq):
            return
        if error is not None:
            self._failures.add(error)
        else:
            self.delivered += 1

    def _refused(self, partition: int, seq: int, error: object) -> None:
        if self._complete(partition, seq):
            self._failures.add(error)

    def _complete(self, partition: int, seq: int) -> bool:
        if not self._partitions[partition].complete(seq):
            return False
        self._done_total += 1
        return True

    def _reached(self, wanted: dict[int, int]) -> bool:
        parts = self._partitions
        return all(parts[partition].first_open >= count for partition, count in wanted.items())

    def _settle(self) -> None:
        """Release the flushes whose records are all done."""
        for wanted, waiter in list(self._flushes):
            if not waiter.done() and self._reached(wanted):
                waiter.set_result(None)
