"""Lookups first: warming yields while lookups wait or the loop is late, in bounded slices; never on Faust's pauses."""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping
from types import SimpleNamespace
from typing import Any

import pytest
from faust.types import TP
from prometheus_client import generate_latest

from warmline.metrics import Metrics
from warmline.stream.lanes import INVALIDATION, LOOKUPS, WARMING, Lanes, LanesWatch
from warmline.stream.transport import TunedConsumer

from .test_transport import bare_consumer

LOOKUP, LOOKUP_REKEYED = TP("lookup-request", 0), TP("app-lookup-request-repartition", 3)
CALL, CALL_REKEYED = TP("call-started", 0), TP("app-call-started-repartition", 3)
CHANGED, CHANGELOG = TP("customer-changed", 1), TP("app-l1-changelog", 3)
TOPICS = {
    LOOKUPS: (LOOKUP.topic, LOOKUP_REKEYED.topic),
    WARMING: (CALL.topic, CALL_REKEYED.topic),
    INVALIDATION: (CHANGED.topic,),
}


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class _Backlog:
    """The consumer's lag per partition, as the test sets it; records which topics were asked for."""

    def __init__(self) -> None:
        self.lags: dict[TP, int] = {}
        self.asked: list[Collection[str] | None] = []

    def __call__(self, topics: Collection[str] | None) -> Mapping[TP, int]:
        self.asked.append(topics)
        return {tp: lag for tp, lag in self.lags.items() if topics is None or tp.topic in topics}


def _lanes(**kwargs: Any) -> tuple[Lanes, _Backlog, _Clock]:
    backlog, clock = _Backlog(), _Clock()
    return Lanes(TOPICS, backlog, clock=clock, **kwargs), backlog, clock


async def test_warming_waits_its_turn_while_a_lookup_waits_and_goes_on_once_it_is_served() -> None:
    lanes, backlog, _ = _lanes()
    backlog.lags = {CALL: 5000, LOOKUP: 0}
    assert not lanes.check()  # a warming backlog alone: warming goes on
    await asyncio.wait_for(lanes.turn(), 1)

    backlog.lags[LOOKUP_REKEYED] = 1  # a lookup re-keyed to this worker is not done
    assert lanes.check() and lanes.yielding
    assert backlog.asked[-1] == frozenset(TOPICS[LOOKUPS])  # the check reads only the lookup lane's lag
    order: list[str] = []

    async def warm() -> None:
        await lanes.turn()
        order.append("warm")

    waiting = asyncio.create_task(warm())
    await asyncio.sleep(0)
    order.append("lookup served")
    backlog.lags[LOOKUP_REKEYED] = 0
    assert not lanes.check()
    await asyncio.wait_for(waiting, 1)
    assert order == ["lookup served", "warm"]
    assert lanes.counts == {"late_loop": 0, "lookups_waiting": 1, "produce_backlog": 0, "sliced": 0}


def test_only_the_warming_lane_is_held_and_only_while_yielding() -> None:
    lanes, backlog, _ = _lanes()
    everything = {LOOKUP, LOOKUP_REKEYED, CALL, CALL_REKEYED, CHANGED, CHANGELOG}
    assert lanes.held(everything) == set()
    backlog.lags = {LOOKUP: 2}
    lanes.check()
    assert lanes.held(everything) == {CALL, CALL_REKEYED}


def test_a_late_loop_makes_warming_yield_until_it_is_on_time() -> None:
    lanes, _, _ = _lanes(late_s=0.02)
    lanes.observe_loop(0.015)
    assert not lanes.check()
    lanes.observe_loop(0.08)  # HTTP requests wait in that loop too
    assert lanes.check()
    assert lanes.counts["late_loop"] == 1
    lanes.observe_loop(0.001)
    assert not lanes.check()


def test_warming_gets_a_slice_after_yielding_for_max_yield_s() -> None:
    lanes, backlog, clock = _lanes(max_yield_s=0.25, slice_s=0.05)
    backlog.lags = {LOOKUP: 1}  # lookups never stop coming
    decisions = []
    for _ in range(60):  # 0.6 s in 10 ms checks
        decisions.append(lanes.check())
        clock.now += 0.01
    # 25 checks held (0.25 s), then a 5-check slice, then held again: never starved, never a free-for-all.
    assert decisions[:25] == [True] * 25
    assert decisions[25:30] == [False] * 5
    assert decisions[30:55] == [True] * 25
    assert lanes.counts["sliced"] == 2 and lanes.counts["lookups_waiting"] == 2


def test_by_default_warming_keeps_half_the_time_while_lookups_never_stop_coming() -> None:
    lanes, backlog, clock = _lanes()
    backlog.lags = {LOOKUP: 1}
    decisions = []
    for _ in range(1000):  # 10 s in 10 ms checks
        decisions.append(lanes.check())
        clock.now += 0.01
    assert 0.45 <= decisions.count(False) / len(decisions) <= 0.55  # yielding, but not starved
    assert decisions[:5] == [True] * 5  # a lookup that just arrived still goes first


async def test_release_lets_warming_go_on() -> None:
    lanes, backlog, _ = _lanes()
    backlog.lags = {LOOKUP: 1}
    assert lanes.check()
    lanes.release()
    await asyncio.wait_for(lanes.turn(), 1)
    assert lanes.held({CALL}) == set()


def test_lag_is_summed_per_lane_and_topic() -> None:
    lanes, backlog, _ = _lanes()
    backlog.lags = {LOOKUP: 2, TP("lookup-request", 1): 3, CALL: 7, CHANGELOG: 4}
    assert lanes.lag() == {
        (LOOKUPS, "lookup-request"): 5,
        (WARMING, "call-started"): 7,
        ("other", CHANGELOG.topic): 4,
    }


def test_the_lag_metric_has_a_lane_and_a_topic() -> None:
    lanes, backlog, _ = _lanes()
    backlog.lags = {LOOKUP: 2, CALL: 7}
    metrics = Metrics()
    metrics.export_lanes(lanes.lag)
    text = generate_latest(metrics.registry).decode()
    assert 'warmline_consumer_lag{lane="lookups",topic="lookup-request"} 2.0' in text
    assert 'warmline_consumer_lag{lane="warming",topic="call-started"} 7.0' in text


async def test_the_watch_measures_the_loop_and_releases_when_it_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    lanes, backlog, _ = _lanes()
    backlog.lags = {LOOKUP: 1}
    checked = asyncio.Event()
    check = lanes.check

    def counted() -> bool:
        held = check()
        checked.set()
        return held

    monkeypatch.setattr(lanes, "check", counted)
    watch = LanesWatch(lanes, interval_s=0.001)
    await watch.start()
    try:
        await asyncio.wait_for(checked.wait(), 5)
        assert lanes.yielding
    finally:
        await watch.stop()
    assert not lanes.yielding  # stopped: nothing would ever release warming


# --- the consumer side: held partitions are left out of Faust's fetch, Faust's own pauses untouched ---


class _Thread:
    def __init__(self, highwaters: dict[TP, int | None] | None = None) -> None:
        self.fetches: list[tuple[set[TP] | None, float]] = []
        self.highwaters = highwaters or {}

    async def getmany(self, active: set[TP] | None, timeout: float) -> dict[TP, list[int]]:
        self.fetches.append((None if active is None else set(active), timeout))
        return {tp: [1] for tp in active or ()}

    def highwater(self, tp: TP) -> int | None:
        if tp not in self.highwaters:
            raise AssertionError("Partition is not assigned")  # what aiokafka does for a revoked partition
        return self.highwaters[tp]


def _consumer(lanes: Lanes | None, thread: _Thread) -> TunedConsumer:
    from warmline.stream.delivery import DeliveryLedger

    consumer = bare_consumer(SimpleNamespace(lanes=lanes), thread)
    consumer._ledger = DeliveryLedger()
    return consumer


async def test_the_consumer_leaves_held_partitions_out_of_faust_s_fetch() -> None:
    lanes, backlog, _ = _lanes()
    thread = _Thread()
    consumer = _consumer(lanes, thread)
    faust_active = {LOOKUP, CALL, CALL_REKEYED, CHANGELOG}  # Faust's own set, its pauses already applied
    assert set(await consumer._getmany(faust_active, 1.0)) == faust_active

    backlog.lags = {LOOKUP: 1}
    lanes.check()
    records = await consumer._getmany(faust_active, 1.0)
    assert set(records) == {LOOKUP, CHANGELOG}
    assert thread.fetches[-1] == ({LOOKUP, CHANGELOG}, 0.01)  # a short wait, so the release is seen soon
    assert faust_active == {LOOKUP, CALL, CALL_REKEYED, CHANGELOG}  # Faust's set is not touched

    backlog.lags = {LOOKUP: 0}
    lanes.check()
    # Released: what Faust had paused (CALL_REKEYED, say, for recovery) stays paused: the lanes resume nothing.
    assert set(await consumer._getmany({LOOKUP, CALL}, 1.0)) == {LOOKUP, CALL}


async def test_nothing_left_to_fetch_is_a_short_wait_not_every_partition() -> None:
    lanes, backlog, _ = _lanes()
    thread = _Thread()
    consumer = _consumer(lanes, thread)
    backlog.lags = {LOOKUP: 1}
    lanes.check()
    assert await consumer._getmany({CALL, CALL_REKEYED}, 1.0) == {}
    assert thread.fetches == []  # aiokafka would read an empty set as "every partition"


async def test_without_lanes_the_fetch_is_faust_s() -> None:
    thread = _Thread()
    consumer = _consumer(None, thread)
    await consumer._getmany({CALL}, 1.0)
    assert thread.fetches == [({CALL}, 1.0)]


def test_the_consumer_s_lag_is_the_high_watermark_less_the_lowest_offset_not_done() -> None:
    thread = _Thread({LOOKUP: 10, CALL: 500, CALL_REKEYED: None})
    consumer = _consumer(None, thread)
    consumer._ledger.restart({LOOKUP: 4, CALL: 100, CALL_REKEYED: 0, CHANGED: 0})
    assert consumer._ledger.admit(LOOKUP, 4) is not None
    # LOOKUP: 4 handed out, not done → 10 − 4; CALL: nothing handed out → 500 − 100;
    # no high watermark yet, or revoked meanwhile (CHANGED): no figure.
    assert consumer.lag() == {LOOKUP: 6, CALL: 400}
    assert consumer.lag([LOOKUP.topic]) == {LOOKUP: 6}
    consumer._ledger.done(LOOKUP, 4)
    thread.highwaters[LOOKUP] = 5
    assert consumer.lag([LOOKUP.topic]) == {LOOKUP: 0}


def test_warming_holds_without_slices_while_the_broker_is_behind() -> None:
    waiting = [5000]
    backlog, clock = _Backlog(), _Clock()
    lanes = Lanes(TOPICS, backlog, produce_backlog=lambda: waiting[0], max_produce_backlog=1000, clock=clock)
    decisions = []
    for _ in range(40):  # 0.4 s: past max_yield_s, and still held (warming cannot outrun the broker)
        decisions.append(lanes.check())
        clock.now += 0.01
    assert all(decisions) and lanes.counts["produce_backlog"] == 1 and lanes.counts["sliced"] == 0
    waiting[0] = 999
    assert not lanes.check()


async def test_warming_yields_while_a_request_is_served_and_goes_on_after() -> None:
    lanes, backlog, _ = _lanes()
    backlog.lags = {CALL: 50}
    with lanes.serving():  # a platform's webhook waits for its event to be on Kafka
        assert lanes.check() and lanes.yielding
        assert lanes.held({CALL, LOOKUP}) == {CALL}
    assert not lanes.check()
    await asyncio.wait_for(lanes.turn(), 1)
    assert lanes.counts["lookups_waiting"] == 1
