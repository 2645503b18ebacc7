"""The lookup lane's own consumer: lookups do not wait for Faust's wide fetch, and the ledger places it."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from typing import Any

import pytest
from aiokafka import TopicPartition
from faust.transport import consumer as faust_consumer
from faust.types import TP

from warmline.settings import Settings
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
    lane = _Lane()
    consumer, thread = _consumer(committed, lookup_lane=lane, lanes=None)
    consumer._wide = None
    consumer._kept = {}
    return consumer, thread, lane


async def test_a_lookup_is_handed_on_while_faust_s_fetch_of_the_rest_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    consumer, _, lane = _with_lane()
    wide = _Wide(monkeypatch)
    lane.put(LOOKUP, 7)
    got = await asyncio.wait_for(consumer._getmany({LOOKUP, REKEYED, CALLS}, 1.0), 10)  # a guard, not a measure
    assert got == {LOOKUP: ["lookup-request@7"]}
    assert wide.asked == [{CALLS}]  # Faust's consumer never fetches the lookup lane
    # Faust's fetch is not thrown away: the next call hands on what it brings.
    wide.records = {CALLS: ["call-started@3"]}
    wide.release.set()
    assert await asyncio.wait_for(consumer._getmany({LOOKUP, REKEYED, CALLS}, 1.0), 10) == {CALLS: ["call-started@3"]}
    assert wide.asked == [{CALLS}]  # the same fetch, awaited again, not a second one


async def test_what_the_lane_took_for_a_cancelled_call_goes_to_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    consumer, _, lane = _with_lane()
    wide = _Wide(monkeypatch)
    call = asyncio.ensure_future(consumer._getmany({LOOKUP, CALLS}, 1.0))
    while not wide.asked:
        await asyncio.sleep(0)
    lane.put(LOOKUP, 4)
    call.cancel()  # cancelled in the same turn the lane's records arrived
    await asyncio.gather(call, return_exceptions=True)
    got = await asyncio.wait_for(consumer._getmany({LOOKUP, CALLS}, 1.0), 10)
    assert got == {LOOKUP: ["lookup-request@4"]}


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
    assert await _handed_out(consumer, [_message(LOOKUP, 12)], monkeypatch) == []
    assert lane.seeks[-1] == {LOOKUP: 10}
    assert consumer._new_offset(LOOKUP) == 10  # nothing committed past what was not handed out


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
