"""The L1 changelog writer: records in write order on the key's partition, nothing lost to one refusal,
and a flush that returns only once everything written has reached the producer."""

from __future__ import annotations

import asyncio
from typing import Any

from faust.exceptions import NotReady

from warmline.models import CacheEntry
from warmline.stream.changelog import ENTRY, ChangelogWriter, flush_writers


class FakeProducer:
    """Faust's ``Producer.send`` shape; each send can be held until released, or refused."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes, bytes | None, int]] = []
        self.deliveries: list[asyncio.Future[Any]] = []
        self.gate: asyncio.Event | None = None
        self.refuse: set[bytes] = set()
        self.hold: set[bytes] = set()  # keys whose send never returns (a partition whose batch never drains)
        self.not_ready = 0  # sends that raise NotReady first (the producer not started)

    async def send(
        self, topic: str, key: bytes, value: bytes | None, partition: int, timestamp: None, headers: None
    ) -> asyncio.Future[Any]:
        if self.not_ready:
            self.not_ready -= 1
            raise NotReady("Producer service not yet started")
        if self.gate is not None:
            await self.gate.wait()
        if key in self.hold:
            await asyncio.Event().wait()
        if key in self.refuse:
            raise RuntimeError("record too large")
        self.sent.append((topic, key, value, partition))
        delivery: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.deliveries.append(delivery)
        return delivery


def _writer(producer: FakeProducer) -> ChangelogWriter:
    return ChangelogWriter(lambda: producer.send, "app-l1-changelog", lambda key: len(key) % 4)


async def test_records_go_out_in_write_order_on_each_keys_partition() -> None:
    producer = FakeProducer()
    writer = _writer(producer)
    entry = CacheEntry(b'{"customer_id":"C-1"}', 1.0, 2.0, customer_id="C-1")
    writer.write("phone:+1", ENTRY.dumps(entry))
    writer.write("customer_id:C-1", ENTRY.dumps(None))  # a None value: what the table's codec writes for it
    writer.write("phone:+1", None)  # a deletion: a tombstone
    assert len(writer) == 3  # nothing handed over before the loop runs the writer
    await writer.flush()
    assert producer.sent == [
        ("app-l1-changelog", b"phone:+1", entry.to_bytes(), len("phone:+1") % 4),
        ("app-l1-changelog", b"customer_id:C-1", b"", len("customer_id:C-1") % 4),
        ("app-l1-changelog", b"phone:+1", None, len("phone:+1") % 4),
    ]
    assert len(writer) == 0


async def test_flush_waits_for_the_records_written_before_it_and_no_later_ones() -> None:
    producer = FakeProducer()
    producer.gate = asyncio.Event()  # aiokafka's batch for the partition is full: send waits
    writer = _writer(producer)
    writer.write("a", b"1")
    writer.write("b", b"2")
    flushing = asyncio.create_task(flush_writers([object(), type("T", (), {"changelog_writer": writer})()]))
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not flushing.done() and producer.sent == []
    writer.write("c", b"3")  # written while the flush waits: a commit must not wait for warming's next records
    producer.hold = {b"c"}
    producer.gate.set()
    await asyncio.wait_for(flushing, 10)  # a bound against hanging, not a timing assertion
    assert [key for _, key, _, _ in producer.sent] == [b"a", b"b"] and len(writer) == 1
    await writer.stop(timeout_s=0.01)  # c's send never returns: the stop drops it
    assert len(writer) == 0


async def test_a_flush_that_times_out_keeps_the_records_and_says_so() -> None:
    producer = FakeProducer()
    producer.gate = asyncio.Event()
    writer = _writer(producer)
    writer.write("a", b"1")
    assert await writer.flush(timeout_s=0.01) is False  # the bound under test is the 0.01 s
    producer.gate.set()
    assert await writer.flush() is True
    assert [key for _, key, _, _ in producer.sent] == [b"a"]


async def test_a_record_written_before_the_producer_started_waits_for_it() -> None:
    producer = FakeProducer()
    producer.not_ready = 2  # faust.exceptions.NotReady twice, then the producer is up
    writer = _writer(producer)
    writer.write("a", b"1")
    assert await writer.flush() is True
    assert [key for _, key, _, _ in producer.sent] == [b"a"] and writer.failed == 0


async def test_a_refused_record_is_counted_and_the_rest_still_go_out() -> None:
    producer = FakeProducer()
    producer.refuse = {b"big"}
    writer = _writer(producer)
    for key in ("a", "big", "b"):
        writer.write(key, b"v")
    await writer.flush()
    assert [key for _, key, _, _ in producer.sent] == [b"a", b"b"]
    producer.deliveries[1].set_exception(RuntimeError("broker refused"))  # refused later, by the broker
    producer.deliveries[0].set_result(None)
    await asyncio.sleep(0)  # the delivery callbacks run on the next turn
    assert writer.failed == 2


async def test_a_write_after_a_drain_ended_starts_another() -> None:
    producer = FakeProducer()
    writer = _writer(producer)
    writer.write("a", b"1")
    await writer.flush()
    writer.write("b", b"2")
    await writer.flush()
    assert [key for _, key, _, _ in producer.sent] == [b"a", b"b"]


async def test_a_stop_whose_producer_never_takes_the_records_drops_them_and_returns() -> None:
    producer = FakeProducer()
    producer.gate = asyncio.Event()  # the broker is gone: aiokafka never takes another record
    writer = _writer(producer)
    writer.write("a", b"1")
    writer.write("b", b"2")
    await asyncio.wait_for(writer.stop(timeout_s=0.01), 10)  # the bound under test is the 0.01 s
    assert len(writer) == 0 and producer.sent == []
    producer.gate.set()
    writer.write("c", b"3")  # a writer is usable after a stop that timed out (a new drain)
    await writer.flush()
    assert [key for _, key, _, _ in producer.sent] == [b"c"]


async def test_each_send_takes_warmings_turn_on_the_loop() -> None:
    """A drain of a warm batch's records is warm work: it may not hold the loop in one long step."""
    producer = FakeProducer()
    taken: list[int] = []

    class Turns:
        async def turn(self, key: object = None) -> None:
            taken.append(len(producer.sent))  # what had gone out when this turn was asked for

    writer = ChangelogWriter(lambda: producer.send, "t", lambda key: 0, Turns())  # type: ignore[arg-type]
    for key in ("a", "b", "c"):
        writer.write(key, b"v")
    await writer.flush()
    assert taken == [0, 1, 2]  # one turn before each send


def test_a_writer_whose_loop_was_closed_mid_drain_drains_on_the_next_loop() -> None:
    producer = FakeProducer()
    producer.hold = {b"a"}  # the first loop closes while this send waits
    writer = _writer(producer)

    async def first() -> None:
        writer.write("a", b"1")
        await asyncio.sleep(0)

    stale = asyncio.new_event_loop()
    stale.run_until_complete(first())
    stale.close()  # its drain task was never cancelled: it stays pending on a closed loop

    async def second() -> None:
        producer.hold = set()
        writer.write("b", b"2")
        assert await writer.flush(timeout_s=10) is True  # a bound against hanging

    asyncio.run(second())
    assert [key for _, key, _, _ in producer.sent] == [b"a", b"b"]
