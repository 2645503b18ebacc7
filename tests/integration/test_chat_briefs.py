"""Briefs shared through Redis, and brief-ready-at-answer as `warmline simulate` reads it from a worker."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import redis.asyncio as aioredis

from warmline.cache import CachePolicy, TableL1, TieredCache
from warmline.commands.simulate import BriefingLookups
from warmline.llm.briefs import BriefService
from warmline.models import LookupKey
from warmline.sources.base import Priority, SourceResult
from warmline.sources.demo.generate import sample_contacts

from ..conftest import random_suffix
from ..fakes import FakeClock, FakeSource, customer
from .conftest import Cluster


async def test_a_brief_made_on_one_worker_is_found_by_another_through_redis(redis_url: str) -> None:
    prefix = f"warmline:v1:test-{random_suffix()}:"
    client = aioredis.from_url(redis_url)
    try:

        async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
            return await FakeSource().lookup(key)

        def service() -> BriefService:
            cache = TieredCache(TableL1({}, 10), None, fetch, CachePolicy(jitter=0), clock=FakeClock())
            return BriefService(cache, redis=client, prefix=prefix, ttl_s=60)

        one, two = service(), service()
        made = await one.brief(customer())
        found = await two.cached(customer())
        assert found == made and await two.cached(customer().model_copy(update={"tier": "gold"})) is None
        keys = [k async for k in client.scan_iter(match=f"{prefix}brief:*")]
        assert len(keys) == 1 and 0 < await client.ttl(keys[0]) <= 60
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_simulate_reads_brief_ready_at_answer_from_the_worker(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker()
    phone = sample_contacts(demo_db, "phone", 1, seed=41)[0]
    async with aiohttp.ClientSession() as session:
        lookups = BriefingLookups(session, worker.url)
        assert await lookups.brief_ratio() is None
        assert (await lookups.lookup("phone", phone)).status == "ok"
        assert await lookups.brief_ratio() == 0.0  # nothing prepared it: made at answer
        await lookups.lookup("phone", phone)
        assert await lookups.brief_ratio() == 0.5  # the second answer found it ready
