"""What the broker holds, read without disturbing the workers: topics from their beginning, a group's commits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, TypeAlias

from aiokafka import AIOKafkaConsumer, ConsumerRecord
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

logger = logging.getLogger(__name__)

Record: TypeAlias = ConsumerRecord[bytes, bytes]
#: How long a reader of every partition waits for a topic to appear in the broker's metadata.
METADATA_WAIT_S = 30.0


@contextlib.asynccontextmanager
async def from_start(
    bootstrap: str, topics: Iterable[str], partitions: int | None = None, **config: Any
) -> AsyncIterator[AIOKafkaConsumer]:
    """A consumer without a group, assigned partitions 0…*partitions*-1 of *topics* (None: every partition the
    broker knows) at their beginning; *config* goes to AIOKafkaConsumer."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=5, **config)
    await consumer.start()
    try:
        names = list(topics)
        if partitions is None:
            tps = await _every_partition(consumer, names)
        else:
            tps = [TopicPartition(t, p) for t in names for p in range(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        yield consumer
    finally:
        await consumer.stop()


async def _every_partition(consumer: AIOKafkaConsumer, names: list[str]) -> list[TopicPartition]:
    """Every partition of *names*, once the broker's metadata has them all: a topic a worker has not
    created yet would otherwise be read as one without partitions (LookupError after METADATA_WAIT_S)."""
    known: dict[str, set[int] | None] = {}
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(METADATA_WAIT_S):
            while True:
                await consumer.topics()  # fetch the metadata that partitions_for_topic reads
                known = {t: consumer.partitions_for_topic(t) for t in names}
                if all(known.values()):
                    return [TopicPartition(t, p) for t in names for p in sorted(known[t] or ())]
                await asyncio.sleep(0.2)
    missing = sorted(t for t in names if not known.get(t))
    raise LookupError(f"the broker has no partitions for {missing} after {METADATA_WAIT_S:g} s")


async def first_records(bootstrap: str, topic: str, count: int, timeout_s: float = 15.0) -> list[Record]:
    """The first *count* records of every partition of *topic* together (TimeoutError after *timeout_s*)."""
    return await records_until(bootstrap, topic, lambda found: len(found) >= count, timeout_s)


async def records_until(
    bootstrap: str, topic: str, done: Callable[[list[Record]], bool], timeout_s: float = 15.0
) -> list[Record]:
    """Every partition of *topic* read from its start until *done* says so of what was read (TimeoutError
    after *timeout_s*)."""
    found: list[Record] = []
    async with asyncio.timeout(timeout_s), from_start(bootstrap, [topic]) as consumer:  # the topic's metadata too
        while not done(found):
            for records in (await consumer.getmany(timeout_ms=200)).values():
                found.extend(records)
    return found


class TopicReader:
    """Hands every record of *topics*, from their beginning, to *take* in a background task until stop().

    A broker that is frozen or down is asked again: the fault runs read through their faults.
    """

    def __init__(
        self,
        bootstrap: str,
        topics: Iterable[str],
        take: Callable[[Record], None],
        partitions: int | None = None,
        **config: Any,
    ) -> None:
        self._open = from_start(bootstrap, topics, partitions, **config)
        self._take = take
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(await self._open.__aenter__()))

    async def _run(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                batches = await consumer.getmany(timeout_ms=200)
            except KafkaError as e:
                logger.info("topic reader: %r", e)
                await asyncio.sleep(0.2)
                continue
            for records in batches.values():
                for record in records:
                    self._take(record)

    async def stop(self) -> None:
        """Stop reading (what was fetched has been taken) and close the consumer."""
        if self._task is not None:
            task, self._task = self._task, None
            task.cancel()
            try:
                with contextlib.suppress(asyncio.CancelledError):
                    await task  # re-raises what ended the reader early (a failing take)
            finally:
                await self._open.__aexit__(None, None, None)


async def committed(bootstrap: str, group: str, topics: list[str], partitions: int) -> dict[str, int | None]:
    """The committed offset of consumer *group*, per partition of *topics* (None: nothing committed).

    Read through a consumer that names the group but only assigns (never joins, so the workers'
    group is not disturbed); aiokafka's admin OffsetFetch is not understood by Tansu.
    """
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        tps = [TopicPartition(t, p) for t in topics for p in range(partitions)]
        consumer.assign(tps)
        return {f"{tp.topic}[{tp.partition}]": await consumer.committed(tp) for tp in tps}
    finally:
        await consumer.stop()


async def trace(bootstrap: str, topics: list[str], ids: set[str]) -> dict[str, dict[str, list[int]]]:
    """Every record of *topics* whose value names one of *ids*: request id → {topic: [partition, offset]}."""
    found: dict[str, dict[str, list[int]]] = {}
    if not ids:
        return found
    async with from_start(bootstrap, topics) as consumer:
        while True:  # until a second passes with nothing new (Tansu's end offsets can be low)
            batch = await consumer.getmany(timeout_ms=1000)
            if not batch:
                return found
            for tp, records in batch.items():
                for record in records:
                    value = record.value or b""
                    for rid in ids:
                        if rid.encode() in value:
                            found.setdefault(rid, {})[tp.topic] = [tp.partition, record.offset]
