"""The L1 changelog through librdkafka: records in write order on the key's partition, a flush that
waits for the broker's acknowledgement of what was written before it (and only that), bounded
flushes and stops, a full queue that loses nothing, refusals counted."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from warmline.models import CacheEntry
from warmline.stream.changelog import ENTRY, flush_writers
from warmline.stream.changelog_rdkafka import RdkafkaChangelogWriter


class Message:
    def __init__(self, partition: int) -> None:
        self._partition = partition

    def partition(self) -> int:
        return self._partition


class FakeRdkafka:
    """``confluent_kafka.Producer``'s shape: produce queues, poll delivers (except held partitions)."""

    def __init__(self, capacity: int = 1_000) -> None:
        self.capacity = capacity
        self.queued: list[tuple[str, bytes | None, bytes, int, Any]] = []
        self.acked: list[tuple[str, bytes | None, bytes, int]] = []
        self.held: set[int] = set()  # partitions whose broker does not answer
        self.refuse: dict[bytes, Any] = {}  # key -> the error its delivery report carries
        self.purged = 0
        self.poll_raises = 0  # polls that raise first (a callback or log handler failing inside poll)
        self.refuse_at_once: set[bytes] = set()  # keys produce() rejects synchronously (MSG_SIZE_TOO_LARGE)

    def produce(
        self, topic: str, value: bytes | None, key: bytes, partition: int, on_delivery: Callable[[Any, Any], None]
    ) -> None:
        if len(self.queued) >= self.capacity:
            raise BufferError("Local: Queue full")
        if key in self.refuse_at_once:
            raise ValueError("Broker: Message size too large")
        self.queued.append((topic, value, key, partition, on_delivery))

    def poll(self, timeout: float) -> int:
        if self.poll_raises:
            self.poll_raises -= 1
            raise RuntimeError("a log handler raised inside poll")
        ready = [record for record in self.queued if record[3] not in self.held]
        self.queued = [record for record in self.queued if record[3] in self.held]
        for topic, value, key, partition, report in ready:
            error = self.refuse.get(key)
            if error is None:
                self.acked.append((topic, value, key, partition))
            report(error, Message(partition))
        return len(ready)

    def purge(self, in_queue: bool = True, in_flight: bool = True, blocking: bool = True) -> None:
        for *_, partition, report in self.queued:
            report("_PURGE_QUEUE", Message(partition))
            self.purged += 1
        self.queued = []

    def flush(self, timeout: float) -> int:
        self.poll(0)
        return len(self.queued)


def _writer(producer: FakeRdkafka) -> RdkafkaChangelogWriter:
    return RdkafkaChangelogWriter(producer, "app-l1-changelog", lambda key: len(key) % 4, poll_interval_s=0)


async def test_records_go_out_in_write_order_on_each_keys_partition() -> None:
    producer = FakeRdkafka()
    writer = _writer(producer)
    entry = CacheEntry(b'{"customer_id":"C-1"}', 1.0, 2.0, customer_id="C-1")
    writer.write("phone:+1", ENTRY.dumps(entry))
    writer.write("customer_id:C-1", ENTRY.dumps(None))
    writer.write("phone:+1", None)  # a deletion: a tombstone
    assert len(writer) == 3  # produced, none acknowledged before the loop serves the reports
    assert await writer.flush()
    assert producer.acked == [
        ("app-l1-changelog", entry.to_bytes(), b"phone:+1", len("phone:+1") % 4),
        ("app-l1-changelog", b"", b"customer_id:C-1", len("customer_id:C-1") % 4),
        ("app-l1-changelog", None, b"phone:+1", len("phone:+1") % 4),
    ]
    assert len(writer) == 0 and writer.written == 3 and writer.failed == 0


async def test_a_flush_waits_for_the_acknowledgement_of_every_partition_written_before_it() -> None:
    producer = FakeRdkafka()
    writer = _writer(producer)
    producer.held = {1}
    writer.write("a", b"1")  # partition 1: held
    writer.write("bb", b"2")  # partition 2
    flush = asyncio.create_task(writer.flush())
    while ("app-l1-changelog", b"2", b"bb", 2) not in producer.acked:
        await asyncio.sleep(0)
    assert not flush.done()  # partition 2 acknowledged, partition 1 not: still waiting
    producer.held = set()
    assert await flush


async def test_a_flush_does_not_wait_for_records_written_after_it() -> None:
    producer = FakeRdkafka()
    writer = _writer(producer)
    writer.write("a", b"1")
    flush = asyncio.create_task(writer.flush())
    await asyncio.sleep(0)
    producer.held = {1}
    writer.write("b", b"2")  # the same partition, written after the flush began, never acknowledged
    assert await flush  # the first one's acknowledgement was enough
    assert len(writer) == 1


async def test_a_flush_gives_up_after_its_bound_and_a_stop_drops_the_rest() -> None:
    producer = FakeRdkafka()
    writer = _writer(producer)
    producer.held = {1}
    writer.write("a", b"1")
    assert not await writer.flush(timeout_s=0.01)
    assert len(writer) == 1
    await writer.stop(timeout_s=0.01)
    assert producer.purged == 1 and writer.failed == 1 and len(writer) == 0
    assert await writer.flush()  # nothing left to wait for


async def test_a_full_queue_keeps_the_records_in_order_until_there_is_room() -> None:
    producer = FakeRdkafka(capacity=2)
    writer = _writer(producer)
    keys = [f"k{i}" for i in range(7)]
    for key in keys:
        writer.write(key, key.encode())
    assert len(producer.queued) == 2 and len(writer) == 7  # five wait in the writer
    producer.poll(0)  # room again, before the writer has moved its five along
    writer.write("k7", b"k7")  # still behind them
    keys.append("k7")
    assert await writer.flush()
    assert [key for _, _, key, _ in producer.acked] == [key.encode() for key in keys]
    assert writer.failed == 0


async def test_refusals_are_counted_and_do_not_stop_the_rest() -> None:
    producer = FakeRdkafka()
    writer = _writer(producer)
    producer.refuse = {b"a": "MSG_SIZE_TOO_LARGE"}
    writer.write("a", b"1")
    writer.write("b", b"2")
    assert await writer.flush()
    assert writer.failed == 1 and [key for _, _, key, _ in producer.acked] == [b"b"]
    assert writer.delivered == 1


async def test_table_flushes_reach_the_writer() -> None:
    producer = FakeRdkafka()
    writer = _writer(producer)
    writer.write("a", b"1")

    class Table:
        changelog_writer = writer

    await flush_writers([Table()])
    assert len(writer) == 0 and len(producer.acked) == 1


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_writer_serves_reports_on_the_next_loop_when_its_old_one_closed() -> None:
    producer = FakeRdkafka()
    writer = _writer(producer)
    producer.held = {1}

    async def first() -> None:
        writer.write("a", b"1")
        await asyncio.sleep(0)

    asyncio.run(first())  # the loop closes with the record unacknowledged
    producer.held = set()

    async def second() -> bool:
        writer.write("b", b"2")
        return await writer.flush()

    assert asyncio.run(second())
    assert len(writer) == 0


async def test_a_record_refused_at_once_does_not_release_a_flush_waiting_for_an_earlier_one() -> None:
    producer = FakeRdkafka()
    writer = _writer(producer)
    producer.held = {1}
    writer.write("a", b"1")  # partition 1, in flight
    flush = asyncio.create_task(writer.flush(timeout_s=5))
    await asyncio.sleep(0)
    producer.refuse_at_once = {b"b"}
    writer.write("b", b"x" * 10)  # partition 1 too, written after the flush began, refused at once
    assert writer.failed == 1
    for _ in range(20):  # the pump serves reports meanwhile: the refusal must not count for "a"
        await asyncio.sleep(0)
    assert not flush.done()
    producer.held = set()
    assert await flush


async def test_reports_are_served_again_after_the_pump_ended_or_failed() -> None:
    producer = FakeRdkafka()
    writer = _writer(producer)
    writer.write("a", b"1")
    assert await writer.flush()
    for _ in range(5):  # the pump has nothing open and ends
        await asyncio.sleep(0)
    writer.write("b", b"2")
    assert await writer.flush(timeout_s=1)
    producer.poll_raises = 1
    writer.write("c", b"3")
    assert await writer.flush(timeout_s=1)  # a poll that raised once is not the end of the reports
    assert writer.delivered == 3 and len(writer) == 0


async def test_a_stop_drops_what_waits_for_room_and_later_writes_are_counted_not_left() -> None:
    producer = FakeRdkafka(capacity=1)
    writer = _writer(producer)
    producer.held = {1}
    writer.write("a", b"1")  # in librdkafka's queue, never acknowledged
    writer.write("b", b"2")  # waits in the writer for room
    await writer.stop(timeout_s=0.01)
    assert writer.failed == 2 and len(writer) == 0
    writer.write("c", b"3")  # after the stop: nothing would send it
    assert writer.failed == 3 and len(writer) == 0 and producer.queued == []
