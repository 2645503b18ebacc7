"""The lookup lane's own consumer and pump: lookups reach their agent without waiting for Faust's
fetch loop, each through the same ledger, and the ledger places the lane."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka import ConsumerRecord, TopicPartition
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP

from warmline.settings import Settings
from warmline.stream.intake import Intake
from warmline.stream.lookup_lane import LookupLane, lookup_lane_for
from warmline.stream.security import KafkaConnection
from warmline.stream.transport import TunedConsumer

from .test_transport import _consumer, _handed_out, _message, _Thread

LOOKUP, REKEYED, CALLS = TP("lookup-request", 0), TP("app-lookup-request-repartition", 0), TP("call-started", 0)


class _Lane(LookupLane):
    """A LookupLane without a broker: records put in by the test, the seeks it was asked for."""

    def __init__(self) -> None:
        super().__init__({LOOKUP.topic, REKEYED.topic}, {}, 5)
        self.records: dict[Any, list[Any]] = {}
        self.arrived = asyncio.Event()
        self.placed: list[dict[Any, int]] = []
        self.seeks: list[dict[Any, int]] = []
        self.high: dict[Any, int] = {}

    @property
    def started(self) -> bool:
        return True

    async def start(self) -> None:
        pass

    def place(self, starts: Mapping[Any, int]) -> None:
        self.placed.append({tp: o for tp, o in starts.items() if self.owns(tp)})

    def seek(self, offsets: Mapping[Any, int]) -> None:
        self.seeks.append({tp: o for tp, o in offsets.items() if self.owns(tp)})

    async def take(self, partitions: Collection[Any], timeout_s: float) -> dict[Any, list[Any]]:
        if not self.records and timeout_s > 0:
            await self.arrived.wait()
        taken = {tp: rs for tp, rs in self.records.items() if tp in partitions}
        for tp in taken:
            del self.records[tp]
        self.arrived.clear()
        return taken

    def put(self, tp: Any, *offsets: int) -> None:
        self.records[tp] = [f"{tp.topic}@{o}" for o in offsets]
        self.arrived.set()

    def highwater(self, tp: Any) -> int | None:
        return self.high.get(tp)


class _Wide:
    """Faust's fetch through its consumer thread: waits until the test releases it, says what it was asked."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.asked: list[set[Any]] = []
        self.release = asyncio.Event()
        self.records: dict[Any, list[Any]] = {}

        async def getmany(consumer: Any, active: set[Any], timeout: float) -> dict[Any, list[Any]]:
            self.asked.append(set(active))
            await self.release.wait()
            self.release.clear()
            return dict(self.records)

        monkeypatch.setattr(faust_consumer.ThreadDelegateConsumer, "_getmany", getmany)


def _with_lane(committed: dict[TP, int | None] | None = None) -> tuple[TunedConsumer, _Thread, _Lane]:
    """A consumer as Faust has it running (flow on, every committed partition fetched), with a lane."""
    lane = _Lane()
    monitor = SimpleNamespace(track_tp_end_offset=lambda tp, high: None)
    conf = SimpleNamespace(stream_processing_timeout=300.0)
    consumer, thread = _consumer(committed, lookup_lane=lane, lanes=None, intakes={}, monitor=monitor, conf=conf)
    vars(consumer).update(
        _stopped=asyncio.Event(),
        _crashed=asyncio.Event(),
        can_resume_flow=asyncio.Event(),
        _active_partitions=set(committed or ()),
        _paused_partitions=set(),
        flow_active=True,
    )
    return consumer, thread, lane


def _pumping(consumer: TunedConsumer, lane: _Lane, *active: TP) -> tuple[Intake, asyncio.Future[None]]:
    """*active* fetched, an intake for the lookup topic, and the lane's pump started."""
    vars(consumer)["_active_partitions"] = set(active)
    intake = Intake()
    app: Any = consumer.app  # the test's stand-in for Faust's app
    app.intakes[LOOKUP.topic] = intake  # as from_intakes fills it
    return intake, asyncio.ensure_future(consumer._pump_lane(lane))


def _then(lane: _Lane, event: Callable[[], None]) -> asyncio.Event:
    """*event* happens while the lane's next take is under way (after it took its records); the
    returned Event is set then."""
    taken = asyncio.Event()
    real_take = lane.take

    async def take(partitions: Collection[Any], timeout_s: float) -> dict[Any, list[Any]]:
        got = await real_take(partitions, timeout_s)
        event()
        taken.set()
        return got

    patched: Any = lane
    patched.take = take
    return taken


async def _stopped(pump: asyncio.Future[None]) -> None:
    pump.cancel()
    await asyncio.gather(pump, return_exceptions=True)


def _record(tp: TP, offset: int) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(tp.topic, tp.partition, offset, 1_000, 0, None, b"{}", None, 0, 2, ())


async def test_a_lookup_reaches_its_intake_while_faust_s_fetch_of_the_rest_waits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer, _, lane = _with_lane()
    consumer._ledger.restart({LOOKUP: 7, CALLS: 0}, 1)
    wide = _Wide(monkeypatch)  # Faust's fetch of call-started: never released in this test
    intake, pump = _pumping(consumer, lane, LOOKUP, CALLS)
    faust = asyncio.ensure_future(consumer._getmany({LOOKUP, CALLS}, 1.0))
    lane.records[LOOKUP] = [_record(LOOKUP, 7), _record(LOOKUP, 8)]
    lane.arrived.set()
    taken = await asyncio.wait_for(intake.take(), 10)  # a guard, not a measure
    assert [event.message.offset for event in taken] == [7, 8]
    assert {event.message.generation_id for event in taken} == {1}
    assert consumer._ledger.next_offset(LOOKUP) == 9  # admitted by the ledger, as Faust's records are
    assert wide.asked == [{CALLS}]  # Faust's consumer never fetches the lookup lane
    assert not faust.done()
    await _stopped(pump)
    await _stopped(faust)


async def test_what_the_lane_takes_while_the_flow_is_suspended_is_put_back() -> None:
    consumer, _, lane = _with_lane()
    consumer._ledger.restart({LOOKUP: 7}, 1)
    intake, pump = _pumping(consumer, lane, LOOKUP)

    def a_rebalance_begins() -> None:
        consumer.flow_active = False

    taken = _then(lane, a_rebalance_begins)
    lane.records[LOOKUP] = [_record(LOOKUP, 7)]
    lane.arrived.set()
    await asyncio.wait_for(taken.wait(), 10)
    await asyncio.sleep(0)  # the pump's turn after the take
    assert len(intake) == 0 and consumer._ledger.next_offset(LOOKUP) == 7  # not handed out, not admitted
    assert lane.seeks[-1] == {LOOKUP: 7}  # and put back: the lane fetches it again
    await _stopped(pump)


async def test_what_the_lane_takes_across_a_new_generation_is_fetched_again_from_the_ledger_s_start() -> None:
    consumer, _, lane = _with_lane()
    consumer._ledger.restart({LOOKUP: 7}, 1)
    intake, pump = _pumping(consumer, lane, LOOKUP)

    def a_new_generation_starts_at_7_too() -> None:
        app: Any = consumer.app
        app.consumer_generation_id = 2
        consumer._ledger.restart({LOOKUP: 7}, 2)

    taken = _then(lane, a_new_generation_starts_at_7_too)
    lane.records[LOOKUP] = [_record(LOOKUP, 7), _record(LOOKUP, 8)]
    lane.arrived.set()
    await asyncio.wait_for(taken.wait(), 10)
    await asyncio.sleep(0)
    assert len(intake) == 0 and lane.seeks[-1] == {LOOKUP: 7}  # nothing lost to the lane's position
    await _stopped(pump)


async def test_the_pump_outlives_a_failure_and_puts_back_what_it_took() -> None:
    consumer, _, lane = _with_lane()
    consumer._ledger.restart({LOOKUP: 7}, 1)
    _, pump = _pumping(consumer, lane, LOOKUP)
    app: Any = consumer.app
    del app.intakes[LOOKUP.topic]  # handing on fails: no intake for the topic
    lane.records[LOOKUP] = [_record(LOOKUP, 7)]
    lane.arrived.set()
    await asyncio.wait_for(_until(lambda: bool(lane.seeks)), 10)
    assert lane.seeks[-1] == {LOOKUP: 7} and not pump.done()
    intake = app.intakes[LOOKUP.topic] = Intake()  # fixed: the next take hands it on
    lane.records[LOOKUP] = [_record(LOOKUP, 7)]
    lane.arrived.set()
    taken = await asyncio.wait_for(intake.take(), 10)
    assert [event.message.offset for event in taken] == [7]
    await _stopped(pump)


async def _until(condition: Callable[[], bool]) -> None:
    while not condition():
        await asyncio.sleep(0.001)


async def test_a_record_past_the_next_offset_has_the_lane_fetch_again_from_there() -> None:
    consumer, thread, lane = _with_lane({LOOKUP: 10})
    consumer._ledger.restart({LOOKUP: 10}, 1)
    intake, pump = _pumping(consumer, lane, LOOKUP)
    lane.records[LOOKUP] = [_record(LOOKUP, 12)]
    lane.arrived.set()
    await asyncio.wait_for(_until(lambda: bool(lane.seeks)), 10)
    assert lane.seeks[-1] == {LOOKUP: 10} and thread.seeks[-1] == {LOOKUP: 10}
    assert len(intake) == 0 and consumer._new_offset(LOOKUP) == 10  # nothing committed past what was not handed out
    await _stopped(pump)


async def test_the_lane_starts_each_generation_where_the_ledger_does_and_follows_its_refetches(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    consumer, thread, lane = _with_lane({LOOKUP: 10, CALLS: 5})
    paused: list[Any] = []

    class _Aiokafka:
        def assignment(self) -> set[TopicPartition]:
            return {TopicPartition(tp.topic, tp.partition) for tp in thread.assigned}

        def pause(self, *tps: TopicPartition) -> None:
            paused.extend(tps)

    async def call_thread(fun: Any, *args: Any) -> Any:
        return await fun(*args)

    thread_any: Any = thread
    thread_any._ensure_consumer = _Aiokafka
    thread_any.call_thread = call_thread
    await consumer.seek_to_committed()
    assert lane.placed == [{LOOKUP: 10}]
    assert paused == [TopicPartition(LOOKUP.topic, 0)]  # Faust's consumer keeps it assigned, not fetched
    # A record past the next offset: the ledger refetches, and the lane is the consumer that must move.
    assert consumer._pump is not None and not consumer._pump.done()  # placed: the lane's pump runs from now on
    assert await _handed_out(consumer, [_message(LOOKUP, 12)], monkeypatch) == []
    assert lane.seeks[-1] == {LOOKUP: 10}
    assert consumer._new_offset(LOOKUP) == 10  # nothing committed past what was not handed out
    await _stopped(consumer._pump)


async def test_faust_s_livelock_check_asks_the_lane_s_pump_about_its_partitions(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Faust's own check reads its consumer's fetch state, where the lane's partitions stay paused.
    consumer, _, lane = _with_lane()
    faust_checked: list[Any] = []
    monkeypatch.setattr(faust_aiokafka.Consumer, "verify_event_path", lambda self, now, tp: faust_checked.append(tp))
    consumer._ledger.restart({LOOKUP: 7}, 1)
    consumer._lane_took_at = 0.0
    intake, pump = _pumping(consumer, lane, LOOKUP)
    lane.records[LOOKUP] = [_record(LOOKUP, 7)]
    lane.arrived.set()
    await asyncio.wait_for(intake.take(), 10)  # a guard, not a measure
    took = consumer._lane_took_at
    assert took > 0.0  # the take was recorded
    await _stopped(pump)
    with caplog.at_level(logging.ERROR):
        consumer.verify_event_path(took + 299.0, LOOKUP)
        assert not caplog.records
        consumer.verify_event_path(took + 300.5, LOOKUP)  # not 300.0: took + 300.0 - took may round below it
        consumer.verify_event_path(took + 300.5, REKEYED)  # the same pump: said once, not per partition
        assert ["lookup lane's pump has taken nothing" in r.getMessage() for r in caplog.records] == [True]
        consumer.verify_event_path(took + 601.0, REKEYED)  # still stuck a timeout later: said again
        assert len(caplog.records) == 2
    said = re.sub(r"for \d+ s", "for N s", caplog.records[0].getMessage().split(": ", 1)[1])
    operations = " ".join((Path(__file__).parents[2] / "docs" / "operations.md").read_text().split())
    assert said in operations  # the line docs/operations.md tells operators to watch for
    consumer.verify_event_path(took, CALLS)
    assert faust_checked == [CALLS]  # every other partition: Faust's check
    caplog.clear()
    vars(consumer)["flow_active"] = False  # a rebalance or a table recovery: the pump takes nothing by design
    with caplog.at_level(logging.ERROR):
        consumer.verify_event_path(took + 1000.0, LOOKUP)
        vars(consumer)["flow_active"] = True
        consumer.verify_event_path(took + 1299.0, LOOKUP)  # counted from the suspension's last check
        assert not caplog.records


def test_lag_of_the_lane_s_partitions_reads_the_lane_s_high_watermark() -> None:
    consumer, _, lane = _with_lane()
    consumer._ledger.restart({LOOKUP: 3}, 1)
    lane.high[LOOKUP] = 9
    assert consumer.lag() == {LOOKUP: 6}


def test_the_lane_is_on_unless_the_setting_turns_it_off() -> None:
    connection = KafkaConnection("127.0.0.1:9092")
    assert lookup_lane_for(Settings(lookup_lane_consumer=False), connection, {"lookup-request"}) is None
    lane = lookup_lane_for(Settings(), connection, {"lookup-request"})
    assert lane is not None and lane.owns(LOOKUP) and not lane.owns(CALLS)


_ = _Thread  # the fake thread the tests above extend
