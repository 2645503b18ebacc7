"""TieredCache read path with a fake clock, a fake source and a fake L2."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Hashable, Sequence

import pytest

from warmline.cache import CachePolicy, TableL1, TieredCache
from warmline.errors import SourceUnavailable
from warmline.loop_turns import LoopTurns
from warmline.models import CacheEntry, CacheTier, LookupKey, normalize
from warmline.sources.base import Priority, SourceResult

from ..fakes import FakeClock, FakeL2, FakeSource, customer

KEY = normalize("phone", "+14155550123")
MISSING = normalize("phone", "+14155550199")


def _cache(source: FakeSource, l2: FakeL2 | None, clock: FakeClock, **policy: float) -> TieredCache:
    async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
        return await source.lookup(key)

    p = CachePolicy(l1_ttl_s=300, l2_ttl_s=3600, negative_ttl_s=30, max_stale_s=600, jitter=0, rng=random.Random(0))
    for k, v in policy.items():
        setattr(p, k, v)
    return TieredCache(TableL1({}, 1000), l2, fetch, p, clock=clock)


@pytest.fixture(name="source")
def _source() -> FakeSource:
    return FakeSource({str(KEY): customer()})


async def test_cold_miss_then_l1_hit(source: FakeSource) -> None:
    l2 = FakeL2()
    cache = _cache(source, l2, FakeClock())
    first = await cache.get(KEY)
    assert first.tier is CacheTier.UPSTREAM and first.entry.customer == customer()
    assert str(KEY) in l2.data
    second = await cache.get(KEY)
    assert second.tier is CacheTier.L1
    assert source.calls == [str(KEY)]


async def test_l2_hit_is_promoted_to_l1(source: FakeSource) -> None:
    l2, clock = FakeL2(), FakeClock()
    await _cache(source, l2, clock).get(KEY)  # fills L2 through another "worker"
    cache = _cache(source, l2, clock)
    assert (await cache.get(KEY)).tier is CacheTier.L2
    assert (await cache.get(KEY)).tier is CacheTier.L1
    assert len(source.calls) == 1
    assert cache.stats.snapshot()["hits"] == {"l1": 1, "l2": 1}


async def test_l1_ttl_falls_back_to_l2_before_the_source(source: FakeSource) -> None:
    clock = FakeClock()
    cache = _cache(source, FakeL2(), clock)
    await cache.get(KEY)
    clock.advance(301)  # past L1 TTL, inside L2 TTL
    assert (await cache.get(KEY)).tier is CacheTier.L2
    assert len(source.calls) == 1


async def test_not_found_is_cached_briefly(source: FakeSource) -> None:
    clock = FakeClock()
    cache = _cache(source, FakeL2(), clock)
    assert not (await cache.get(MISSING)).entry.found
    assert not (await cache.get(MISSING)).entry.found
    assert source.calls.count(str(MISSING)) == 1
    clock.advance(31)
    await cache.get(MISSING)
    assert source.calls.count(str(MISSING)) == 2


async def test_hundred_concurrent_misses_make_one_source_call(source: FakeSource) -> None:
    source.delay_s = 0.02
    cache = _cache(source, FakeL2(), FakeClock())
    results = await asyncio.gather(*(cache.get(KEY) for _ in range(100)))
    assert len(source.calls) == 1
    assert sum(r.shared for r in results) == 99


async def test_stale_while_revalidate_serves_stale_and_refreshes_once(source: FakeSource) -> None:
    clock = FakeClock()
    cache = _cache(source, None, clock, l1_ttl_s=10, l2_ttl_s=10)
    await cache.get(KEY)
    clock.advance(11)
    source.gate = asyncio.Event()
    stale = await asyncio.gather(*(cache.get(KEY) for _ in range(10)))
    assert all(r.stale for r in stale)
    source.gate.set()
    await asyncio.sleep(0.01)
    assert len(source.calls) == 2  # the first fetch, and exactly one refresh
    fresh = await cache.get(KEY)
    assert fresh.tier is CacheTier.L1 and not fresh.stale


async def test_stale_entries_keep_serving_during_an_outage(source: FakeSource) -> None:
    clock = FakeClock()
    cache = _cache(source, None, clock, l1_ttl_s=10, l2_ttl_s=10)
    await cache.get(KEY)
    clock.advance(11)
    source.down = True
    result = await cache.get(KEY, max_age_s=5)  # wants fresh: tries the source, falls back to stale
    assert result.stale and result.entry.customer == customer()
    clock.advance(600)  # beyond max-stale: nothing left to serve
    with pytest.raises(SourceUnavailable):
        await cache.get(KEY)


async def test_source_errors_are_not_cached(source: FakeSource) -> None:
    cache = _cache(source, FakeL2(), FakeClock())
    source.down = True
    with pytest.raises(SourceUnavailable):
        await cache.get(KEY)
    source.down = False
    assert (await cache.get(KEY)).tier is CacheTier.UPSTREAM


async def test_l2_outage_costs_nothing_but_l2(source: FakeSource) -> None:
    l2 = FakeL2()
    l2.down = True
    cache = _cache(source, l2, FakeClock())
    assert (await cache.get(KEY)).tier is CacheTier.UPSTREAM
    assert (await cache.get(KEY)).tier is CacheTier.L1
    assert cache.stats.l2_errors == 2  # the failed read and the failed write


async def test_invalidate_drops_both_tiers(source: FakeSource) -> None:
    l2 = FakeL2()
    cache = _cache(source, l2, FakeClock())
    await cache.get(KEY)
    held = await cache.invalidate(KEY)
    assert held is not None and str(KEY) not in l2.data
    assert (await cache.get(KEY)).tier is CacheTier.UPSTREAM


async def test_warm_reports_whether_it_fetched(source: FakeSource) -> None:
    cache = _cache(source, None, FakeClock())
    assert (await cache.warm(KEY))[1] is True
    assert (await cache.warm(KEY))[1] is False


class BatchCountingL2(FakeL2):
    def __init__(self) -> None:
        super().__init__()
        self.mgets = self.puts = self.put_manys = 0

    async def mget(self, keys: Sequence[LookupKey]) -> list[CacheEntry | None]:
        self.mgets += 1
        return await super().mget(keys)

    async def put(self, key: LookupKey, entry: CacheEntry, keep_s: float) -> None:
        self.puts += 1
        await super().put(key, entry, keep_s)

    async def put_many(self, items: Sequence[tuple[LookupKey, CacheEntry, float]]) -> None:
        self.put_manys += 1
        await super().put_many(items)


async def test_warm_many_skips_l1_reads_l2_once_and_writes_l2_once() -> None:
    keys = [normalize("customer_id", f"C-{i}") for i in range(6)]
    source = FakeSource({str(k): customer(f"C-{i}") for i, k in enumerate(keys)})
    l2, clock = BatchCountingL2(), FakeClock()
    other = _cache(source, l2, clock)
    await other.get(keys[0])  # in L2 only, for this worker
    cache = _cache(source, l2, clock)
    await cache.get(keys[1])  # in this worker's L1
    source.calls.clear()
    l2.mgets = l2.puts = l2.put_manys = 0
    source.down = False
    results = await cache.warm_many([*keys, normalize("phone", "+14155550100")])
    tiers = {str(k): r.tier for k, r in results.items() if not isinstance(r, Exception)}
    assert tiers[str(keys[0])] is CacheTier.L2 and tiers[str(keys[1])] is CacheTier.L1
    assert [tiers[str(k)] for k in keys[2:]] == [CacheTier.UPSTREAM] * 4
    assert sorted(source.calls) == sorted([str(k) for k in keys[2:]] + ["phone:+14155550100"])
    assert (l2.mgets, l2.puts, l2.put_manys) == (1, 0, 1)
    assert all(cache.peek_l1(k) is not None for k in keys)
    assert all(str(k) in l2.data for k in keys)


async def test_warm_many_reports_source_errors_per_key(source: FakeSource) -> None:
    source.down = True
    cache = _cache(source, FakeL2(), FakeClock())
    results = await cache.warm_many([KEY, MISSING])
    assert all(isinstance(r, SourceUnavailable) for r in results.values())
    assert cache.peek_l1(KEY) is None


class _CountedTurns(LoopTurns):
    """LoopTurns that count the turns asked for, by key (None: a step with no key)."""

    def __init__(self, budget_s: float = 0.002, clock: Callable[[], float] = time.perf_counter) -> None:
        super().__init__(budget_s, clock=clock)
        self.asked: list[object] = []

    async def turn(self, key: Hashable | None = None) -> None:
        self.asked.append(key)
        await super().turn(key)


def _turned_cache(source: FakeSource, turns: LoopTurns) -> TieredCache:
    async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
        return await source.lookup(key)

    policy = CachePolicy(l1_ttl_s=300, l2_ttl_s=3600, negative_ttl_s=30, max_stale_s=600, jitter=0)
    return TieredCache(TableL1({}, 1000), FakeL2(), fetch, policy, clock=FakeClock(), turns=turns)


async def test_warm_work_takes_a_turn_for_each_answer_stored_and_for_the_pipeline_and_lookups_take_none(
    source: FakeSource,
) -> None:
    turns = _CountedTurns()
    cache = _turned_cache(source, turns)
    await cache.get(MISSING)  # a lookup, from the source: no turn
    assert turns.asked == []
    others = [normalize("phone", "+14155550100"), normalize("phone", "+14155550101")]
    await cache.warm_many([KEY, *others])
    assert sorted(map(str, turns.asked)) == sorted([str(KEY), *map(str, others), "None"])  # 3 answers, 1 pipeline
    await cache.warm_many([KEY])  # fresh in L1 already: nothing to store, no pipeline
    await cache.warm(normalize("phone", "+14155550102"))  # a bulk warm's one key takes its turn too
    assert len(turns.asked) == 5


async def test_a_lookup_that_joins_a_warm_s_source_call_lets_it_store_the_answer_without_a_turn() -> None:
    source = FakeSource({str(KEY): customer()})
    source.gate = asyncio.Event()  # the source answers when the test says
    turns = _CountedTurns()
    cache = _turned_cache(source, turns)
    warm = asyncio.ensure_future(cache.warm_many([KEY]))
    while not cache._flights.in_flight(str(KEY)):
        await asyncio.sleep(0)
    lookup = asyncio.ensure_future(cache.get(KEY))  # joins the warm's source call before it answers
    await asyncio.sleep(0)
    source.gate.set()
    result = await asyncio.wait_for(lookup, 10)  # a guard, not a measure
    assert result.entry.customer == customer() and result.shared
    await warm
    assert str(KEY) not in turns.asked  # the answer was stored without asking for a turn


class _Clock:
    """10 ms later at every read: every warm step runs over the budget."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.01
        return self.now


async def test_a_lookup_that_joins_a_warm_queued_for_its_turn_lets_it_go_at_once() -> None:
    source = FakeSource({str(KEY): customer()})
    source.gate = asyncio.Event()
    turns = _CountedTurns(clock=_Clock())
    cache = _turned_cache(source, turns)
    hogging = True

    async def hog() -> None:  # other warm work, always over the budget: a queue for the turns
        while hogging:
            await turns.turn()

    hogs = [asyncio.ensure_future(hog()) for _ in range(50)]
    warm = asyncio.ensure_future(cache.warm_many([KEY]))
    await asyncio.sleep(0)
    source.gate.set()
    while str(KEY) not in turns.asked:  # the warm's answer is in, and its turn queued
        await asyncio.sleep(0)
    assert turns._keyed.get(str(KEY)) is not None
    result = await asyncio.wait_for(cache.get(KEY), 10)  # joins the warm's call: a guard, not a measure
    assert result.entry.customer == customer() and turns.expedited == 1
    hogging = False
    await asyncio.gather(warm, *hogs)


@pytest.mark.parametrize("yields", range(6))
async def test_a_lookup_joining_a_warm_s_call_at_any_moment_never_waits_for_its_turn(yields: int) -> None:
    # The lookup starts *yields* loop steps after the warm: before the warm's call exists, in the
    # step its call task is created but has not run yet, or later while the source is answering.
    source = FakeSource({str(KEY): customer()})
    source.gate = asyncio.Event()
    turns = _CountedTurns()
    cache = _turned_cache(source, turns)
    warm = asyncio.ensure_future(cache.warm_many([KEY]))
    for _ in range(yields):
        await asyncio.sleep(0)
    lookup = asyncio.ensure_future(cache.get(KEY))
    for _ in range(3):
        await asyncio.sleep(0)
    source.gate.set()
    result = await asyncio.wait_for(lookup, 10)  # a guard, not a measure
    await warm
    assert result.entry.customer == customer()
    assert result.shared  # every moment here is within the warm's call (the source answers after)
    assert str(KEY) not in turns.asked  # so that call stored its answer without a turn
    assert cache._joined == {}  # and nothing is left marked
