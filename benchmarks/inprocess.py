"""In-process figures: L1 hit (through the Faust table), L2 hit vs a bare Redis GET, and singleflight coalescing."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aredis

from warmline.bootstrap import build_runtime
from warmline.cache import CachePolicy, RedisL2, TableL1, TieredCache
from warmline.lookups import LookupService
from warmline.models import CacheEntry, Customer, LookupKey, normalize
from warmline.models.keys import normalize_phone
from warmline.settings import Settings
from warmline.sources.base import Priority, SourceResult
from warmline.stream.app import build_app

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


class SlowSource:
    """A Source that answers CUSTOMER for any key after *latency_s*, counting its calls."""

    name = "slow"

    def __init__(self, latency_s: float) -> None:
        self.latency_s = latency_s
        self.calls: list[str] = []

    async def lookup(self, key: LookupKey) -> SourceResult:
        self.calls.append(str(key))
        await asyncio.sleep(self.latency_s)
        return SourceResult(CUSTOMER, 1)

    async def ping(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


AREAS = ("212", "310", "415", "617", "646", "702", "808", "917")
FORMATS = ("+1 ({a}) {e}-{l}", "{a}.{e}.{l}", "1-{a}-{e}-{l}", "({a}) {e} {l}", "+1{a}{e}{l}")


def fresh_phones(n: int) -> list[str]:
    """*n* distinct US numbers, each written in one of several formats (no input string repeats)."""
    out = []
    for i in range(n):
        area, exchange, line = AREAS[i % len(AREAS)], 200 + i // (10_000 * len(AREAS)), (i // len(AREAS)) % 10_000
        out.append(FORMATS[i % len(FORMATS)].format(a=area, e=exchange, l=f"{line:04d}"))
    return out


def _faust_l1(entries: dict[str, CacheEntry]) -> TableL1:
    """L1 as the worker builds it (TableL1 over the app's Faust table, its store as the local view),
    holding *entries*: written to the store, as a changelog recovery fills it (a write through the
    table itself needs a running producer)."""
    settings = Settings(broker="kafka://127.0.0.1:1", redis_url="", data_dir=Path(tempfile.gettempdir()))
    table = build_app(settings).l1_table
    store = table.data  # type: ignore[attr-defined]  # TableT omits the store faust.Table has
    store.update(entries)
    return TableL1(table, 2 * len(entries), store)


async def l1_hit(n: int = 50_000) -> list[Result]:
    """An L1 hit the way the HTTP view answers it, inside the process: a raw phone is normalized,
    read from the worker's Faust table (through TableL1) and the reply encoded as JSON.

    Two rows from one interleaved run: every input string new (``normalize`` parses each time),
    and the same callers again (its lru_cache answers). The table holds one entry per number.
    """
    phones = fresh_phones(n)
    now = time.time()
    entries = {}
    for i, raw in enumerate(phones):
        key = normalize("phone", raw)
        customer = CUSTOMER.model_copy(update={"customer_id": f"C-{i:06d}", "phones": (key.value,)})
        entries[str(key)] = CacheEntry.of(customer, now, now + 3600)
    l1 = _faust_l1(entries)
    normalize_phone.cache_clear()  # the fill parsed them: start the fresh row from an empty cache
    svc = LookupService(TieredCache(l1, None, _no_source, CachePolicy(l1_ttl_s=3600)))
    fresh, repeat, sizes = [], [], 0
    for i, raw in enumerate(phones):  # interleaved, so machine noise hits both rows alike
        t0 = time.perf_counter()
        body = (await svc.lookup("phone", raw)).to_json()
        t1 = time.perf_counter()
        again = (await svc.lookup("phone", raw)).to_json()
        t2 = time.perf_counter()
        fresh.append(t1 - t0)
        repeat.append(t2 - t1)
        sizes += len(body)
        for answer in (body, again):  # each the right customer, from L1
            assert b'"source":"l1"' in answer, answer
            assert f'"C-{i:06d}"'.encode() in answer, answer
    rows = []
    for name, samples in (("new input string each time", fresh), ("repeat caller, normalize cached", repeat)):
        s = summary_ms(samples)
        us = round(s["p50_ms"] * 1000, 1)
        rows.append(
            Result(
                f"L1 hit in-process, normalize → Faust table → JSON reply, {name} (median)",
                us,
                "µs",
                "< 20 µs",
                us < 20,
                detail={**s, "distinct_keys": n, "mean_body_bytes": round(sizes / n)},
            )
        )
    return rows


async def _no_source(key: LookupKey, priority: Priority) -> SourceResult:
    raise AssertionError(f"an L1 hit reached the source for {key.redacted}")


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
    await client.delete(*[k async for k in client.scan_iter(match=prefix + "*", count=10_000)])
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
    source = SlowSource(latency_s=0.2)
    runtime = build_runtime(Settings(redis_url=""), source=source)  # the worker's wiring, without Faust
    svc = runtime.lookups
    replies = await asyncio.gather(*(svc.lookup("phone", "+14155550123") for _ in range(concurrency)))
    await runtime.aclose()
    assert all(r.status == "ok" for r in replies)
    calls = source.calls
    return Result(
        f"{concurrency} concurrent misses of one key", len(calls), "source calls", "exactly 1", len(calls) == 1
    )
