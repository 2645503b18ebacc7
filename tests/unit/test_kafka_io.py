"""Key ownership matches Kafka's default partitioner; Spring headers are read and echoed; dead letters are counted."""

from __future__ import annotations

import asyncio
import struct

import pytest
from aiokafka.partitioner import DefaultPartitioner

from warmline.agents.kafka_io import SpringReply
from warmline.stream.ownership import owner_partition


def test_owner_partition_matches_the_java_default_partitioner() -> None:
    for i in range(200):
        key = f"phone:+1415555{i:04d}"
        assert owner_partition(key, 8) == DefaultPartitioner()(key.encode(), list(range(8)), list(range(8)))


def test_spring_headers() -> None:
    headers = [
        ("kafka_replyTopic", b"replies"),
        ("kafka_correlationId", b"\x01\x02"),
        ("kafka_replyPartition", struct.pack(">i", 3)),
    ]
    spring = SpringReply.from_headers(headers)
    assert (spring.topic, spring.correlation_id, spring.partition) == ("replies", b"\x01\x02", 3)
    assert spring.reply_headers() == [("kafka_correlationId", b"\x01\x02")]


def test_missing_or_bad_spring_headers_are_ignored() -> None:
    assert SpringReply.from_headers(None) == SpringReply()
    bad = SpringReply.from_headers([("kafka_replyPartition", b"xx"), ("kafka_replyTopic", b"\xff")])
    assert bad.partition is None and bad.topic is None and bad.reply_headers() is None


async def test_a_flood_of_dead_letters_logs_one_info_line_and_counts_every_letter(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    from warmline.agents.kafka_io import KafkaOutbox
    from warmline.metrics import Metrics
    from warmline.stream.backlog import ProduceBacklog

    from ..fakes import FakeEvent

    produced: list[tuple[str, bytes]] = []

    class Producer:
        async def send(self, topic: str, key: bytes | None, value: bytes, *rest: object) -> asyncio.Future[None]:
            produced.append((topic, value))
            done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            done.set_result(None)
            return done

    class App:
        producer = Producer()

    metrics = Metrics()
    now = [100.0]
    outbox = KafkaOutbox(App(), "dlq", metrics, ProduceBacklog(100), clock=lambda: now[0])
    with caplog.at_level(logging.INFO, logger="warmline.agents.kafka_io"):
        for _ in range(49):
            await outbox.dead_letter(FakeEvent(b"{not json"), "not JSON")
        now[0] += 0.999  # still within the second
        await outbox.dead_letter(FakeEvent(b"{not json"), "not JSON")
        lines = [r.getMessage() for r in caplog.records if "dead letter from" in r.getMessage()]
        assert lines == ["dead letter from lookup-request[0]@7: not JSON (0 more since the last such line)"]
        now[0] += 0.001  # a second after the first line: the next letter is logged with the count
        await outbox.dead_letter(FakeEvent(b"{not json"), "not JSON")
    lines = [r.getMessage() for r in caplog.records if "dead letter from" in r.getMessage()]
    assert lines[1:] == ["dead letter from lookup-request[0]@7: not JSON (49 more since the last such line)"]
    assert len(produced) == 51 and {topic for topic, _ in produced} == {"dlq"}
    assert (
        metrics.registry.get_sample_value(
            "warmline_messages_total", {"topic": "lookup-request", "outcome": "dead_letter"}
        )
        == 51
    )


async def test_dead_letters_go_through_their_own_producer_and_count_in_the_backlog() -> None:
    from warmline.agents.kafka_io import KafkaOutbox
    from warmline.metrics import Metrics
    from warmline.stream.backlog import ProduceBacklog

    from ..fakes import FakeEvent

    class Unused:
        async def send(self, *args: object) -> None:
            raise AssertionError("a dead letter went through the Faust producer")

    class App:
        producer = Unused()

    class DlqProducer:
        def __init__(self) -> None:
            self.sent: list[tuple[str, bytes | None]] = []
            self.delivery: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def send(
            self, topic: str, key: bytes | None, value: bytes, partition: int | None = None
        ) -> asyncio.Future[None]:
            self.sent.append((topic, key))
            return self.delivery

    dlq = DlqProducer()
    outbox = KafkaOutbox(App(), "dlq", Metrics(), ProduceBacklog(100), dlq_producer=dlq)
    delivery = await outbox.dead_letter(FakeEvent(b"[]"), "not an object")
    assert dlq.sent == [("dlq", None)]
    assert len(outbox.backlog) == 1  # counted until the broker has it
    dlq.delivery.set_result(None)
    await delivery
    await asyncio.sleep(0)
    assert len(outbox.backlog) == 0


async def test_a_batch_handed_over_after_the_drain_starts_nothing_and_acks_nothing() -> None:
    """A call-started batch timer can fire after shutdown's drain: its events go to the next owner."""
    from warmline.agents.kafka_io import HandlerPool

    from ..fakes import FakeEvent

    pool = HandlerPool(10)
    assert await pool.drain(0.1) == 0
    event = FakeEvent(b"{}")
    started: list[bool] = []

    async def handler() -> None:
        started.append(True)

    async def on_error(error: Exception) -> None:
        raise AssertionError("not reached")

    await pool.spawn_batch([event], handler, on_error)
    assert len(pool) == 0  # no task was started (a started task is held in the pool until done)
    assert event.acks == 0 and not started
