"""The harness reads topics from their beginning: in the background through broker errors, or the first few records."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import pytest
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import TopicPartition

from harness import kafka


class ScriptedConsumer:
    """Answers getmany() from a script: a batch, or an error to raise; then nothing, until stopped."""

    script: ClassVar[list[Any]] = []
    unknown_rounds: ClassVar[int] = 0  # metadata rounds before the topic has partitions
    last: ScriptedConsumer

    def __init__(self, **config: Any) -> None:
        self.config, self.stopped = config, False
        self.assigned: list[TopicPartition] = []
        self.sought: tuple[TopicPartition, ...] = ()
        self.metadata_rounds = 0
        ScriptedConsumer.last = self

    async def start(self) -> None:
        pass

    async def topics(self) -> set[str]:
        self.metadata_rounds += 1
        return {"replies"}

    def partitions_for_topic(self, topic: str) -> set[int] | None:
        return {1, 0} if self.metadata_rounds > self.unknown_rounds else None

    def assign(self, tps: list[TopicPartition]) -> None:
        self.assigned = tps

    async def seek_to_beginning(self, *tps: TopicPartition) -> None:
        self.sought = tps

    async def getmany(self, timeout_ms: int) -> dict[TopicPartition, list[Any]]:
        if not self.script:
            await asyncio.sleep(timeout_ms / 1000)
            return {}
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        batch: dict[TopicPartition, list[Any]] = step
        return batch

    async def stop(self) -> None:
        self.stopped = True


@pytest.mark.parametrize(("partitions", "expected"), [(None, [0, 1]), (3, [0, 1, 2])])
async def test_the_reader_takes_every_record_from_the_start_through_a_broker_error(
    monkeypatch: pytest.MonkeyPatch, partitions: int | None, expected: list[int]
) -> None:
    tp = TopicPartition("replies", 0)
    ScriptedConsumer.script = [{tp: ["a", "b"]}, KafkaConnectionError(), {tp: ["c"]}]
    monkeypatch.setattr(kafka, "AIOKafkaConsumer", ScriptedConsumer)
    taken: list[Any] = []
    reader = kafka.TopicReader("127.0.0.1:9092", ["replies"], taken.append, partitions, request_timeout_ms=10_000)
    await reader.start()
    async with asyncio.timeout(10):
        while len(taken) < 3:
            await asyncio.sleep(0.01)
    await reader.stop()
    consumer = ScriptedConsumer.last
    assert taken == ["a", "b", "c"]
    assert [tp.partition for tp in consumer.assigned] == expected and tuple(consumer.assigned) == consumer.sought
    assert consumer.config["enable_auto_commit"] is False and consumer.config["request_timeout_ms"] == 10_000
    assert consumer.stopped


async def test_first_records_reads_every_partition_from_the_start_until_it_has_enough(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tp = TopicPartition("replies", 1)
    ScriptedConsumer.script = [{tp: ["a"]}, {tp: ["b", "c"]}, {tp: ["never asked for"]}]
    monkeypatch.setattr(kafka, "AIOKafkaConsumer", ScriptedConsumer)
    assert await kafka.first_records("127.0.0.1:9092", "replies", 2) == ["a", "b", "c"]
    consumer = ScriptedConsumer.last
    assert [tp.partition for tp in consumer.sought] == [0, 1] and consumer.stopped


async def test_first_records_gives_up_after_its_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    ScriptedConsumer.script = []
    monkeypatch.setattr(kafka, "AIOKafkaConsumer", ScriptedConsumer)
    with pytest.raises(TimeoutError):
        await kafka.first_records("127.0.0.1:9092", "replies", 1, timeout_s=0.3)
    assert ScriptedConsumer.last.stopped


async def test_a_topic_not_yet_created_is_read_once_the_broker_has_its_partitions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tp = TopicPartition("replies", 0)
    ScriptedConsumer.script = [{tp: ["a"]}]
    monkeypatch.setattr(ScriptedConsumer, "unknown_rounds", 2)
    monkeypatch.setattr(kafka, "AIOKafkaConsumer", ScriptedConsumer)
    assert await kafka.first_records("127.0.0.1:9092", "replies", 1) == ["a"]
    consumer = ScriptedConsumer.last
    assert consumer.metadata_rounds == 3 and [tp.partition for tp in consumer.assigned] == [0, 1]


async def test_a_topic_that_never_appears_is_an_error_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ScriptedConsumer, "unknown_rounds", 10**9)
    monkeypatch.setattr(kafka, "AIOKafkaConsumer", ScriptedConsumer)
    monkeypatch.setattr(kafka, "METADATA_WAIT_S", 0.3)
    with pytest.raises(LookupError, match="replies"):
        await kafka.first_records("127.0.0.1:9092", "replies", 1)
    assert ScriptedConsumer.last.stopped


async def test_stop_closes_the_consumer_when_taking_a_record_failed(monkeypatch: pytest.MonkeyPatch) -> None:
    ScriptedConsumer.script = [{TopicPartition("replies", 0): ["a"]}]
    monkeypatch.setattr(kafka, "AIOKafkaConsumer", ScriptedConsumer)

    refused = asyncio.Event()

    def refuse(record: Any) -> None:
        refused.set()
        raise ValueError(record)

    reader = kafka.TopicReader("127.0.0.1:9092", ["replies"], refuse)
    await reader.start()
    await refused.wait()  # the reader's task ended with the error in the same step
    with pytest.raises(ValueError, match="a"):
        await reader.stop()
    assert ScriptedConsumer.last.stopped
