"""LookupService: every outcome is a reply with the right status, never an exception."""

from __future__ import annotations

import asyncio

from warmline.cache import CachePolicy, TableL1, TieredCache
from warmline.http.responses import STATUS_CODES
from warmline.lookups import LookupService
from warmline.models import CacheTier, LookupKey, LookupStatus
from warmline.sources.base import Priority, SourceResult

from ..fakes import FakeClock, FakeSource, customer


def _service(source: FakeSource) -> LookupService:
    async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
        return await source.lookup(key)

    cache = TieredCache(TableL1({}, 100), None, fetch, CachePolicy(jitter=0), clock=FakeClock())
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
    source = FakeSource({"customer_id:C-1": customer("C-1")}, delay_s=0.1)
    svc = _service(source)
    reply = await svc.lookup("customer_id", "C-1", timeout_ms=10)
    assert reply.status is LookupStatus.TIMEOUT
    await asyncio.sleep(0.15)
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
