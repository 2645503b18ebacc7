"""LookupService: every outcome is a reply with the right status, never an exception."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from warmline.cache import CachePolicy, TableL1, TieredCache
from warmline.http.responses import STATUS_CODES
from warmline.lookups import LookupService
from warmline.models import CacheEntry, CacheTier, LookupKey, LookupStatus
from warmline.sources.base import Priority, SourceResult

from ..fakes import FakeClock, FakeL2, FakeSource, customer


def _service(source: FakeSource, l2: FakeL2 | None = None) -> LookupService:
    async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
        return await source.lookup(key)

    cache = TieredCache(TableL1({}, 100), l2, fetch, CachePolicy(jitter=0), clock=FakeClock())
    return LookupService(cache, default_timeout_ms=1000)


async def test_statuses() -> None:
    source = FakeSource({"customer_id:C-000001": customer()})
    svc = _service(source)
    ok = await svc.lookup("customer_id", "C-000001", request_id="r1")
    assert (ok.status, ok.source, ok.request_id) == (LookupStatus.OK, CacheTier.UPSTREAM, "r1")
    assert (await svc.lookup("customer_id", "C-000001")).source is CacheTier.L1
    assert (await svc.lookup("customer_id", "C-404")).status is LookupStatus.NOT_FOUND
    invalid = await svc.lookup("phone", "12")
    assert invalid.status is LookupStatus.INVALID and invalid.error
    source.down = True
    assert (await svc.lookup("customer_id", "C-2")).status is LookupStatus.UNAVAILABLE


async def test_timeout_reply_and_the_fetch_still_fills_the_cache() -> None:
    source = FakeSource({"customer_id:C-1": customer("C-1")})
    source.gate = asyncio.Event()  # the source answers only when the test says so
    svc = _service(source)
    reply = await svc.lookup("customer_id", "C-1", timeout_ms=10)
    assert reply.status is LookupStatus.TIMEOUT
    source.gate.set()
    async with asyncio.timeout(5):  # the shared fetch outlived the caller's deadline and lands in L1
        while svc.peek(svc.key_for("customer_id", "C-1")) is None:
            await asyncio.sleep(0)
    assert (await svc.lookup("customer_id", "C-1")).source is CacheTier.L1


async def test_batch_keeps_input_order() -> None:
    source = FakeSource({f"customer_id:C-{i}": customer(f"C-{i}") for i in range(20)}, delay_s=0.01)
    replies = await _service(source).lookup_many(
        [("customer_id", f"C-{i}") for i in range(20)] + [("phone", "1")], concurrency=4
    )
    assert [r.customer.customer_id for r in replies[:20] if r.customer] == [f"C-{i}" for i in range(20)]
    assert replies[-1].status is LookupStatus.INVALID


def test_every_status_has_an_http_code() -> None:
    assert set(STATUS_CODES) == set(LookupStatus)


class CountingL2(FakeL2):
    def __init__(self) -> None:
        super().__init__()
        self.mgets = 0
        self.gets = 0

    async def mget(self, keys: Sequence[LookupKey]) -> list[CacheEntry | None]:
        self.mgets += 1
        return await super().mget(keys)

    async def get(self, key: LookupKey) -> CacheEntry | None:
        self.gets += 1
        return await super().get(key)


async def test_batch_reads_l2_with_one_mget_and_reports_each_tier() -> None:
    records = {f"customer_id:C-{i}": customer(f"C-{i}") for i in range(6)}
    l2 = CountingL2()
    await _service(FakeSource(records), l2).lookup_many([("customer_id", f"C-{i}") for i in range(4)])  # fills L2
    l2.mgets = l2.gets = 0
    source = FakeSource(records)
    svc = _service(source, l2)
    await svc.lookup("customer_id", "C-0")  # in L1 now
    l2.gets = 0
    replies = await svc.lookup_many([("customer_id", f"C-{i}") for i in range(6)])
    assert [r.source for r in replies] == [
        CacheTier.L1,
        CacheTier.L2,
        CacheTier.L2,
        CacheTier.L2,
        CacheTier.UPSTREAM,
        CacheTier.UPSTREAM,
    ]
    assert l2.mgets == 1
    assert source.calls == ["customer_id:C-4", "customer_id:C-5"]  # C-0 came from L2 too
