"""RedisL2 against a real Redis: layout, batches, invalidation, and a Redis that dies and comes back."""

from __future__ import annotations

import asyncio
import shutil
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aredis

from harness.redis_servers import RedisServer
from warmline.cache.l2 import RedisL2
from warmline.commands.processes import free_port
from warmline.errors import L2Unavailable
from warmline.models import CacheEntry, normalize
from warmline.resilience import BreakerState, CircuitBreaker
from warmline.sources.demo.generate import sample_contacts

from ..conftest import random_suffix
from ..fakes import customer
from .conftest import Cluster, http_get

PHONE = normalize("phone", "+14155550123")
EMAIL = normalize("email", "ada@example.com")
CID = normalize("customer_id", "C-000001")


@pytest.fixture(name="l2")
async def _l2(redis_url: str) -> AsyncIterator[RedisL2]:
    client = aredis.from_url(redis_url)
    prefix = f"warmline:v1:test-{random_suffix()}:"
    yield RedisL2(client, prefix=prefix, op_timeout_s=0.5)
    keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=10_000)]
    if keys:
        await client.delete(*keys)
    await client.aclose()


async def test_record_is_stored_once_and_keys_point_at_it(l2: RedisL2, redis_url: str) -> None:
    entry = CacheEntry.of(customer(), fetched_at=time.time(), expires_at=time.time() + 60)
    await l2.put(PHONE, entry, 60)
    await l2.put(EMAIL, entry, 60)
    await l2.put(CID, entry, 60)
    assert await l2.get(PHONE) == entry
    assert await l2.get(CID) == entry
    assert await l2.mget([PHONE, EMAIL, CID, normalize("phone", "+14155550100")]) == [entry, entry, entry, None]
    client = aredis.from_url(redis_url)
    keys = sorted([k.decode() async for k in client.scan_iter(match=f"{l2._prefix}*", count=10_000)])
    await client.aclose()
    assert [k.removeprefix(l2._prefix) for k in keys] == [
        "cust:C-000001",
        "key:email:ada@example.com",
        "key:phone:+14155550123",
    ]
    await l2.delete_customer("C-000001")  # one DEL orphans every key pointing at the record
    assert await l2.mget([PHONE, EMAIL, CID]) == [None, None, None]


async def test_negative_entries_and_key_delete(l2: RedisL2) -> None:
    negative = CacheEntry.of(None, fetched_at=1.0, expires_at=2.0, matches=0)
    await l2.put(PHONE, negative, 30)
    await l2.put(CID, negative, 30)
    assert await l2.get(PHONE) == negative
    assert await l2.get(CID) == negative
    await l2.delete(PHONE)
    assert await l2.get(PHONE) is None


async def test_dead_redis_opens_the_breaker_quickly() -> None:
    client = aredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2)
    l2 = RedisL2(client, op_timeout_s=0.3, breaker=CircuitBreaker("redis", failure_threshold=2, reset_after_s=60))
    for _ in range(2):
        with pytest.raises(L2Unavailable):
            await l2.get(PHONE)
    with pytest.raises(L2Unavailable, match="circuit open"):  # refused without a Redis call
        await l2.get(PHONE)
    assert l2.breaker.state is BreakerState.OPEN
    await client.aclose()


@pytest.fixture(name="private_redis")
def _private_redis(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of our own, so a test can stop and restart it."""
    assert shutil.which("redis-server"), "redis-server is needed for this test"
    server = RedisServer("redis", tmp_path / "redis.log")
    server.start()
    yield server
    server.stop()


async def test_redis_stopped_mid_test(cluster: Cluster, demo_db: Path, private_redis: RedisServer) -> None:
    worker = cluster.worker(WARMLINE_REDIS_URL=f"redis://127.0.0.1:{private_redis.port}/0")
    phones = sample_contacts(demo_db, "phone", 4, seed=41)
    assert (await http_get(f"{worker.url}/v1/lookup", phone=phones[0]))[1]["X-Cache"] == "MISS"
    private_redis.kill()
    results = [await http_get(f"{worker.url}/v1/lookup", phone=p) for p in phones]
    assert [r[0] for r in results] == [200] * 4  # lookups keep working without L2
    assert results[0][1]["X-Cache"] == "L1"
    stats = (await http_get(f"{worker.url}/v1/stats"))[2]
    assert stats["l2"]["breaker"] in ("open", "half_open") and stats["cache"]["l2_errors"] >= 3
    private_redis.start()
    async with asyncio.timeout(20):  # the breaker probes after its reset time and closes by itself
        while True:
            await http_get(f"{worker.url}/v1/lookup", customer_id=f"C-{int(time.time() * 1000) % 1999 + 1:06d}")
            if (await http_get(f"{worker.url}/v1/stats"))[2]["l2"]["breaker"] == "closed":
                break
            await asyncio.sleep(0.3)
