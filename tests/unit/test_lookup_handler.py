"""The lookup-request handler with fakes: who answers, one hop at most, where replies may go, acks after delivery."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from warmline.agents.kafka_io import HandlerPool, InboundEvent
from warmline.agents.lookup_requests import LookupRequestHandler
from warmline.models import LookupKey
from warmline.sources.base import SourceResult
from warmline.stream.topics import TopicPlan

from ..fakes import FakeEvent, FakeOutbox, FakeOwnership, FakeSource, customer, fake_runtime

REPARTITION = "wl-lookup-request-repartition"


def _handler(
    outbox: FakeOutbox, *, owned: set[int], rekeyed: bool = False, source: FakeSource | None = None
) -> LookupRequestHandler:
    runtime = fake_runtime(source or FakeSource({"customer_id:C-000001": customer()}), app_id="wl")
    plan = TopicPlan.of(runtime.settings, "l1")
    return LookupRequestHandler(
        runtime.lookups,
        outbox,
        HandlerPool(10),
        FakeOwnership(owned),
        plan,
        REPARTITION,
        rekeyed=rekeyed,
    )


REQUEST = {"request_id": "r-1", "by": "customer_id", "value": "C-000001", "reply_to": "my-replies"}


async def _settle(handler: LookupRequestHandler) -> None:
    tasks = list(handler._pool._tasks)
    if tasks:
        await asyncio.gather(*tasks)


async def test_a_key_owned_elsewhere_is_rekeyed_once_onto_its_owners_partition() -> None:
    outbox = FakeOutbox()
    event = FakeEvent(REQUEST)
    await _handler(outbox, owned={0, 1}).handle(event)
    await asyncio.wait_for(_until(lambda: outbox.sent), 5)
    assert outbox.sent == [{"topic": REPARTITION, "key": "customer_id:C-000001", "partition": 3}]
    assert event.acks == 0  # not before the re-keyed copy is on the broker
    outbox.deliver_all()
    await asyncio.sleep(0)
    assert event.acks == 1


async def test_a_rekeyed_message_is_answered_even_where_ownership_looks_elsewhere() -> None:
    outbox = FakeOutbox()
    handler = _handler(outbox, owned=set(), rekeyed=True)
    await handler.handle(FakeEvent(REQUEST))
    await asyncio.wait_for(_until(lambda: outbox.sent), 5)
    assert [s["topic"] for s in outbox.sent] == ["my-replies"]  # answered, never forwarded again
    assert outbox.sent[0]["value"]["status"] == "ok"


async def test_the_owner_answers_directly_whatever_partition_it_arrived_on() -> None:
    outbox = FakeOutbox()
    handler = _handler(outbox, owned={3})
    event = FakeEvent(REQUEST)
    event.message.partition = 0
    await handler.handle(event)
    await asyncio.wait_for(_until(lambda: outbox.sent), 5)
    assert [s["topic"] for s in outbox.sent] == ["my-replies"]
    assert event.acks == 0  # the slow path awaits delivery before acking
    outbox.deliver_all()
    await _settle(handler)
    assert event.acks == 1


@pytest.mark.parametrize(
    "topic",
    [
        "call-started",
        "lookup-request",
        "customer-changed",
        "lookup-dlq",
        "wl-l1-changelog",
        REPARTITION,
        "wl-__assignor-__leader",
        "__consumer_offsets",
    ],
)
async def test_replies_never_go_into_topics_warmline_reads_or_owns(topic: str) -> None:
    outbox = FakeOutbox()
    await _handler(outbox, owned={3}).handle(FakeEvent({**REQUEST, "reply_to": topic}))
    assert outbox.sent[0]["topic"] == "dlq" and topic in outbox.sent[0]["reason"]
    assert outbox.sent[1]["topic"] == "lookup-reply" and outbox.sent[1]["value"]["status"] == "invalid"


@pytest.mark.parametrize("name", [b"no spaces allowed", b"x" * 250, b"..", "caf\u00e9".encode()])
async def test_a_spring_reply_topic_kafka_refuses_is_dead_lettered_not_awaited(name: bytes) -> None:
    # The faults run's hostile flood: such a header held the reply produce in its metadata wait.
    outbox = FakeOutbox()
    event = FakeEvent(REQUEST)
    event.message.headers = [("kafka_replyTopic", name), ("kafka_correlationId", b"c-1")]
    await _handler(outbox, owned={3}).handle(event)
    assert outbox.sent[0]["topic"] == "dlq" and "not a valid Kafka topic name" in outbox.sent[0]["reason"]
    assert outbox.sent[1]["topic"] == "lookup-reply" and outbox.sent[1]["value"]["status"] == "invalid"
    assert [t for t in (m["topic"] for m in outbox.sent) if t not in ("dlq", "lookup-reply")] == []


async def test_an_unexpected_failure_is_answered_with_an_error_then_acked() -> None:
    class Exploding(FakeSource):
        async def lookup(self, key: LookupKey) -> SourceResult:
            raise RuntimeError("boom")

    outbox = FakeOutbox()
    handler = _handler(outbox, owned={3}, source=Exploding())
    event = FakeEvent(REQUEST)
    await handler.handle(event)
    await asyncio.wait_for(_until(lambda: outbox.sent), 5)
    outbox.deliver_all()
    await _settle(handler)
    assert outbox.sent[0]["value"]["status"] == "error" and outbox.sent[0]["value"]["request_id"] == "r-1"
    assert event.acks == 1


async def test_drain_cancels_what_outlives_the_grace_and_leaves_it_unacked() -> None:
    source = FakeSource({"customer_id:C-000001": customer()})
    source.gate = asyncio.Event()  # never opened: the lookup hangs
    outbox = FakeOutbox()
    handler = _handler(outbox, owned={3}, source=source)
    event = FakeEvent(REQUEST)
    await handler.handle(event)
    await asyncio.wait_for(_until(lambda: source.calls), 5)
    assert await handler._pool.drain(0) == 1
    assert event.acks == 0 and outbox.sent == []
    assert handler._pool.closing


async def _until(check: Any) -> None:
    while not check():
        await asyncio.sleep(0)


class _FullBatches(FakeOutbox):
    """An outbox whose sends wait while ``full`` is clear, as aiokafka's append waits for the broker
    to take a partition's full batch (on the embedded broker every batch is full at one record)."""

    def __init__(self) -> None:
        super().__init__()
        self.room = asyncio.Event()
        self.room.set()
        self.waiting = 0

    async def _wait_for_room(self) -> None:
        self.waiting += 1
        await self.room.wait()
        self.waiting -= 1

    async def send(self, topic: str, key: bytes | None, value: bytes, **kw: Any) -> asyncio.Future[None]:
        await self._wait_for_room()
        return await super().send(topic, key, value, **kw)

    async def rekey(self, event: InboundEvent, topic: str, owner_key: str, partition: int) -> asyncio.Future[None]:
        await self._wait_for_room()
        return await super().rekey(event, topic, owner_key, partition)


async def test_the_agent_takes_the_next_lookup_while_a_reply_waits_for_the_broker() -> None:
    outbox = _FullBatches()
    handler = _handler(outbox, owned={3})
    warmed = FakeEvent(REQUEST)  # a miss: fills L1
    await handler.handle(warmed)
    await asyncio.wait_for(_until(lambda: outbox.sent), 5)
    outbox.room.clear()
    hits = [FakeEvent({**REQUEST, "request_id": f"r-{n}"}) for n in (2, 3)]
    for event in hits:  # returns while the reply waits: one waiting reply no longer holds the next lookup
        await asyncio.wait_for(handler.handle(event), 5)
    await asyncio.wait_for(_until(lambda: outbox.waiting == 2), 5)
    assert len(outbox.sent) == 1 and [e.acks for e in hits] == [0, 0]
    outbox.room.set()
    await asyncio.wait_for(_until(lambda: len(outbox.sent) == 3), 5)
    assert [s["value"]["request_id"] for s in outbox.sent[1:]] == ["r-2", "r-3"]
    assert [e.acks for e in hits] == [0, 0]  # still not before the replies are on the broker
    outbox.deliver_all()
    await _settle(handler)
    assert [e.acks for e in hits] == [1, 1]


async def test_a_reply_that_cannot_be_produced_is_dead_lettered_then_acked() -> None:
    class _Refusing(FakeOutbox):
        async def send(self, topic: str, key: bytes | None, value: bytes, **kw: Any) -> asyncio.Future[None]:
            if topic == "my-replies" and self.sent:
                raise ValueError("record too large")
            return await super().send(topic, key, value, **kw)

    outbox = _Refusing()
    handler = _handler(outbox, owned={3})
    await handler.handle(FakeEvent(REQUEST))  # a miss: fills L1, replied
    await asyncio.wait_for(_until(lambda: outbox.sent), 5)
    event = FakeEvent({**REQUEST, "request_id": "r-2"})
    await handler.handle(event)  # an L1 hit whose reply the producer refuses
    await asyncio.wait_for(_until(lambda: len(outbox.sent) == 2), 5)
    assert outbox.sent[1]["topic"] == "dlq" and "record too large" in outbox.sent[1]["reason"]
    assert event.acks == 0  # not before the dead letter is on the broker
    outbox.deliver_all()
    await _settle(handler)
    assert event.acks == 1


async def test_a_reply_the_broker_does_not_take_leaves_its_request_for_redelivery() -> None:
    outbox = FakeOutbox()
    handler = _handler(outbox, owned={3})
    await handler.handle(FakeEvent(REQUEST))  # a miss: fills L1, replied
    await asyncio.wait_for(_until(lambda: outbox.sent), 5)
    outbox.deliver_all()
    event = FakeEvent({**REQUEST, "request_id": "r-2"})
    await handler.handle(event)  # an L1 hit
    await asyncio.wait_for(_until(lambda: len(outbox.deliveries) == 2), 5)
    outbox.deliveries[1].set_exception(TimeoutError("the broker did not answer"))
    await _settle(handler)
    assert [s["topic"] for s in outbox.sent] == ["my-replies", "my-replies"]  # no dead letter for a valid request
    assert event.acks == 0  # left for redelivery: the next owner answers it


async def test_a_rekeyed_copy_is_produced_apart_and_acked_once_delivered() -> None:
    outbox = _FullBatches()
    handler = _handler(outbox, owned={0, 1})
    outbox.room.clear()
    event = FakeEvent(REQUEST)
    await asyncio.wait_for(handler.handle(event), 5)  # returns while the copy waits for room
    await asyncio.wait_for(_until(lambda: outbox.waiting == 1), 5)
    outbox.room.set()
    await asyncio.wait_for(_until(lambda: outbox.sent), 5)
    assert outbox.sent == [{"topic": REPARTITION, "key": "customer_id:C-000001", "partition": 3}]
    assert event.acks == 0
    outbox.deliver_all()
    await _settle(handler)
    assert event.acks == 1
