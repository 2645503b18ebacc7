"""In-process figures: L1 hit, L2 hit vs a bare Redis GET, and singleflight coalescing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import redis.asyncio as aredis

from warmline.cache import CachePolicy, RedisL2, TableL1, TieredCache
from warmline.lookups import LookupService
from warmline.models import CacheEntry, Customer, LookupKey, normalize
from warmline.sources.base import Priority, SourceResult

from .stats import Result, summary_ms

CUSTOMER = Customer(
    customer_id="C-000042",
    name="Ada Lovelace",
    phones=("+14155550123",),
    emails=("ada@example.com",),
    tier="vip",
    status="active",
    language="en",
)
KEY = normalize("phone", "+14155550123")


def _service(l2: RedisL2 | None, source_calls: list[str], latency_s: float = 0.0) -> LookupService:
    async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
        source_calls.append(str(key))
        await asyncio.sleep(latency_s)
        return SourceResult(CUSTOMER, 1)

    cache = TieredCache(TableL1({}, 200_000), l2, fetch, CachePolicy())
    return LookupService(cache)


async def l1_hit(n: int = 50_000) -> Result:
    """Median time of a full L1-hit lookup (normalize → L1 → LookupReply) inside the process."""
    svc = _service(None, [])
    await svc.lookup("phone", "+14155550123")
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await svc.lookup("phone", "(415) 555-0123")
        samples.append(time.perf_counter() - t0)
    s = summary_ms(samples)
    return Result("L1 hit in-process (median)", s["p50_ms"] * 1000, "µs", "< 20 µs", s["p50_ms"] * 1000 < 20, detail=s)


async def l2_hit(redis_url: str, n: int = 3000) -> list[Result]:
    """L2 hit (index GET + record GET) against a bare GET of the same Redis, in one run."""
    return await l2_hit_on(aredis.from_url(redis_url), n)


async def l2_hit_on(client: Any, n: int, label: str = "") -> list[Result]:
    """l2_hit on *client* (a Redis, a Sentinel primary, a RedisCluster), rows named with *label*; closes it."""
    prefix = "warmline:v1:bench:"
    l2 = RedisL2(client, prefix=prefix, op_timeout_s=1.0)
    now = time.time()
    await l2.put(KEY, CacheEntry.of(CUSTOMER, now, now + 600), 600)
    await client.set(prefix + "bare", b"x" * 300)
    bare, phone = [], []
    for _ in range(n):  # interleaved, so machine noise hits both alike
        t0 = time.perf_counter()
        await client.get(prefix + "bare")
        t1 = time.perf_counter()
        assert await l2.get(KEY) is not None
        t2 = time.perf_counter()
        bare.append(t1 - t0)
        phone.append(t2 - t1)
    await client.delete(*[k async for k in client.scan_iter(match=prefix + "*")])
    await client.aclose()
    b, p = summary_ms(bare), summary_ms(phone)
    ratio = p["p50_ms"] / b["p50_ms"]
    return [
        Result(
            f"bare Redis GET{label} (floor)",
            b["p50_ms"],
            "ms p50",
            "floor",
            None,
            detail=b,
            samples_ms=[x * 1000 for x in bare],
        ),
        Result(
            f"L2 hit (phone key: 2 GETs){label}",
            p["p50_ms"],
            "ms p50",
            "< 3× bare GET",
            ratio < 3,
            floor=b["p50_ms"],
            detail={**p, "ratio_to_floor": round(ratio, 2)},
            samples_ms=[x * 1000 for x in phone],
        ),
    ]


async def singleflight(concurrency: int = 100) -> Result:
    """N concurrent lookups of one missing key → source calls."""
    calls: list[str] = []
    svc = _service(None, calls, latency_s=0.2)
    replies = await asyncio.gather(*(svc.lookup("phone", "+14155550123") for _ in range(concurrency)))
    assert all(r.status == "ok" for r in replies)
    return Result(
        f"{concurrency} concurrent misses of one key", len(calls), "source calls", "exactly 1", len(calls) == 1
    )
