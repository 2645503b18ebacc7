"""Warming's intake: the consumer hands a fetch's call-started records over at once, past its ledger,
and the agent takes them as Faust's streams would (tracked, acked, skipped when stale)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from types import SimpleNamespace
from typing import Any, cast

import pytest
from faust.types import TP, Message

from warmline.agents.kafka_io import HandlerPool, KafkaOutbox, consume_intake
from warmline.metrics import Metrics
from warmline.stream.backlog import ProduceBacklog
from warmline.stream.intake import Intake, IntakeEvent
from warmline.stream.transport import TunedConsumer

from .test_transport import _consumer, _flow_events, _message, bare_consumer

CALL, CALL_2, LOOKUP = TP("call-started", 0), TP("call-started", 1), TP("lookup-request", 0)


class _Tracker:
    def __init__(self) -> None:
        self.tracked: list[int] = []
        self.acked: list[int] = []

    def track_message(self, message: Any) -> None:
        self.tracked.append(message.offset)

    def ack(self, message: Any) -> bool:
        self.acked.append(message.offset)
        return True


async def test_take_waits_for_an_offer_and_returns_everything_in_order() -> None:
    intake = Intake()
    tracker = _Tracker()
    taking = asyncio.ensure_future(intake.take())
    for _ in range(5):
        await asyncio.sleep(0)
    assert not taking.done()  # nothing offered: the agent waits
    intake.offer(tracker, [_message(CALL, 10), _message(CALL_2, 4)])
    intake.offer(tracker, [_message(CALL, 11)])
    assert [(e.message.partition, e.message.offset) for e in await taking] == [(0, 10), (1, 4), (0, 11)]
    assert len(intake) == 0


def test_an_intake_is_full_at_its_bound_and_a_clear_empties_it() -> None:
    intake = Intake(max_pending=3)
    intake.offer(_Tracker(), [_message(CALL, o) for o in range(2)])
    assert not intake.full
    intake.offer(_Tracker(), [_message(CALL, 2)])
    assert intake.full
    assert intake.clear() == 3
    assert not intake.full and len(intake) == 0


def test_an_event_is_tracked_and_acked_through_faust_s_consumer() -> None:
    tracker = _Tracker()
    message = _message(CALL, 7)
    event = IntakeEvent(message, tracker)
    inbound: dict[Any, float] = {}
    event.track(inbound, 12.5)
    assert message.tracked and tracker.tracked == [7]
    assert inbound == {CALL: 12.5}  # Faust's livelock check sees the partition's stream at work
    assert event.ack() and tracker.acked == [7]


# --- the consumer: intake topics go to the intake, past the ledger, a fetch at a time ---


async def _drain(
    consumer: TunedConsumer, batch: list[Message], monkeypatch: pytest.MonkeyPatch, stop_after: int = -1
) -> list[int]:
    """What the consumer's getmany yields to Faust of *batch*; stops reading after *stop_after* records if given."""
    from faust.transport.drivers import aiokafka as faust_aiokafka

    async def faust_getmany(self: TunedConsumer, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        for message in batch:
            message.generation_id = consumer.app.consumer_generation_id
            yield message.tp, message

    monkeypatch.setattr(faust_aiokafka.Consumer, "getmany", faust_getmany)
    yielded: list[int] = []
    fetch = cast(AsyncGenerator[tuple[TP, Message], None], consumer.getmany(timeout=1.0))
    async for _, message in fetch:
        yielded.append(message.offset)
        if len(yielded) == stop_after:
            break
    await fetch.aclose()  # a generator closed before it ran out (the worker stopping)
    return yielded


def _with_intake() -> tuple[TunedConsumer, Intake]:
    intake = Intake()
    consumer, _ = _consumer({CALL: 10, CALL_2: 4, LOOKUP: 5}, intakes={CALL.topic: intake})
    vars(consumer)["_on_message_in"] = lambda tp, offset, message: None  # Faust's sensors, set by its __init__
    return consumer, intake


async def test_records_of_an_intake_s_topic_go_to_the_intake_not_to_faust(monkeypatch: pytest.MonkeyPatch) -> None:
    consumer, intake = _with_intake()
    await consumer.seek_to_committed()
    batch = [_message(CALL, 10), _message(LOOKUP, 5), _message(CALL_2, 4), _message(CALL, 11), _message(CALL, 9)]
    assert await _drain(consumer, batch, monkeypatch) == [5]  # only the lookup reaches Faust's streams
    taken = await intake.take()
    # Past the ledger: 9 comes before the start and is dropped, as it would be for a stream.
    assert [(e.message.partition, e.message.offset) for e in taken] == [(0, 10), (1, 4), (0, 11)]
    # Handed out and not done: the commit waits for them.
    assert consumer._new_offset(CALL) == 10
    for event in taken:
        event.track({}, 0.0)
        event.ack()
    assert consumer._new_offset(CALL) == 12 and consumer._new_offset(CALL_2) == 5


async def test_a_fetch_closed_early_still_hands_over_what_the_ledger_admitted(monkeypatch: pytest.MonkeyPatch) -> None:
    # The worker stopping mid-fetch: what the ledger admitted goes to the agent, not nowhere.
    consumer, intake = _with_intake()
    await consumer.seek_to_committed()
    batch = [_message(CALL, 10), _message(LOOKUP, 5), _message(CALL, 11)]
    assert await _drain(consumer, batch, monkeypatch, stop_after=1) == [5]
    assert len(intake) == 1
    assert [e.message.offset for e in await intake.take()] == [10]
    assert consumer._ledger.next_offset(CALL) == 11  # 11 was never admitted: it is fetched again


async def test_a_full_intake_s_partitions_are_left_out_of_the_fetch() -> None:
    from warmline.stream.delivery import DeliveryLedger

    from .test_lanes import _Thread

    intake = Intake(max_pending=1)
    thread = _Thread()
    consumer = bare_consumer(SimpleNamespace(lanes=None, intakes={CALL.topic: intake}), thread)
    consumer._ledger = DeliveryLedger()
    await consumer._getmany({CALL, CALL_2, LOOKUP}, 1.0)
    intake.offer(_Tracker(), [_message(CALL, 1)])
    await consumer._getmany({CALL, CALL_2, LOOKUP}, 1.0)
    assert [active for active, _ in thread.fetches] == [{CALL, CALL_2, LOOKUP}, {LOOKUP}]


async def test_a_flow_resume_empties_the_intake_and_the_ledger_hands_its_records_out_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer, intake = _with_intake()
    _flow_events(consumer)
    await consumer.seek_to_committed()
    await _drain(consumer, [_message(CALL, 10), _message(CALL, 11)], monkeypatch)
    assert len(intake) == 2
    consumer.resume_flow()
    assert len(intake) == 0
    assert consumer._ledger.next_offset(CALL) == 10
    assert await _drain(consumer, [_message(CALL, 10), _message(CALL, 11)], monkeypatch) == []
    assert [e.message.offset for e in await intake.take()] == [10, 11]


# --- the agent: each event as a stream would hand it, one flush per fetch ---


class _Handler:
    def __init__(self) -> None:
        self.seen: list[int] = []
        self.flushed: list[list[int]] = []
        self.flushes = asyncio.Event()

    async def handle(self, event: Any) -> None:
        self.seen.append(event.message.offset)
        event.ack()

    async def flush(self) -> None:
        self.flushed.append(list(self.seen))
        self.flushes.set()


async def _flushed(handler: _Handler, agent: asyncio.Future[None]) -> None:
    """Wait for the handler's next flush; an agent that ended instead raises its error here."""
    flushed: asyncio.Future[Any] = asyncio.ensure_future(handler.flushes.wait())
    await asyncio.wait([flushed, agent], return_when=asyncio.FIRST_COMPLETED)
    if agent.done():
        flushed.cancel()
        agent.result()
        raise AssertionError("the agent ended")


async def test_the_agent_skips_what_a_stream_would_and_flushes_after_each_fetch() -> None:
    intake = Intake()
    tracker = _Tracker()
    flow = SimpleNamespace(active=True)
    monitor = SimpleNamespace(stream_inbound_time={})
    app = SimpleNamespace(
        consumer_generation_id=2, flow_control=SimpleNamespace(is_active=lambda: flow.active), monitor=monitor
    )
    outbox = KafkaOutbox(SimpleNamespace(), "dlq", Metrics(), ProduceBacklog(1000))
    handler = _Handler()
    agent = asyncio.ensure_future(consume_intake(intake, app, handler, HandlerPool(10), outbox))
    try:
        old = _message(CALL, 3, generation=1)  # fetched before the rebalance
        intake.offer(tracker, [old, _message(CALL, 10, generation=2), _message(CALL, 11, generation=2)])
        await _flushed(handler, agent)
        assert handler.flushed == [[10, 11]]
        assert tracker.tracked == [10, 11] and tracker.acked == [10, 11]
        assert not old.tracked  # not handed to the agent: the ledger hands it out again
        assert set(monitor.stream_inbound_time) == {CALL}

        handler.flushes.clear()
        flow.active = False  # a rebalance suspended the flow
        intake.offer(tracker, [_message(CALL, 12, generation=2)])
        await _flushed(handler, agent)
        assert handler.seen == [10, 11] and tracker.tracked == [10, 11]
    finally:
        agent.cancel()
        await asyncio.gather(agent, return_exceptions=True)
