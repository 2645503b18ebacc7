"""Briefs shared through Redis, and brief-ready-at-answer as `warmline simulate` reads it from a worker."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import redis.asyncio as aioredis
from aiokafka import AIOKafkaProducer

from warmline.cache import CachePolicy, TableL1, TieredCache
from warmline.commands.simulate import BriefingLookups
from warmline.llm.briefs import BriefService
from warmline.llm.fake_model import ANSWER_PREFIX
from warmline.lookups import LookupService
from warmline.models import LookupKey, normalize
from warmline.sources.base import Priority, SourceResult
from warmline.sources.demo.generate import sample_contacts

from ..conftest import random_suffix
from ..fakes import FakeClock, FakeSource, customer
from .conftest import Cluster, http_get


async def test_a_brief_made_on_one_worker_is_found_by_another_through_redis(redis_url: str) -> None:
    prefix = f"warmline:v1:test-{random_suffix()}:"
    client = aioredis.from_url(redis_url)
    try:

        async def fetch(key: LookupKey, priority: Priority) -> SourceResult:
            return await FakeSource().lookup(key)

        def service() -> BriefService:
            cache = TieredCache(TableL1({}, 10), None, fetch, CachePolicy(jitter=0), clock=FakeClock())
            return BriefService(LookupService(cache), redis=client, prefix=prefix, ttl_s=60)

        one, two = service(), service()
        made, _ = await one.serve(customer())
        found = await two.cached(customer())
        assert found == made and await two.cached(customer().model_copy(update={"tier": "gold"})) is None
        keys = [k async for k in client.scan_iter(match=f"{prefix}brief:*", count=10_000)]
        assert len(keys) == 1 and 0 < await client.ttl(keys[0]) <= 60
    finally:
        keys = [k async for k in client.scan_iter(match=f"{prefix}*", count=10_000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def _stats(url: str) -> dict[str, Any]:
    return (await http_get(f"{url}/v1/stats"))[2]


async def test_simulate_counts_briefs_ready_at_answer_from_the_x_brief_header(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker()
    phone = sample_contacts(demo_db, "phone", 1, seed=41)[0]
    async with aiohttp.ClientSession() as session:
        lookups = BriefingLookups(session, worker.url)
        assert lookups.brief_ratio() is None
        assert (await lookups.lookup("phone", phone)).status == "ok"
        assert lookups.brief_ratio() == 0.0  # nothing prepared it: made at answer
        await lookups.lookup("phone", phone)
        assert lookups.brief_ratio() == 0.5  # the second answer found it ready
        assert (await _stats(worker.url))["briefs"]["ready_at_answer_ratio"] == 0.5  # the worker counts the same


async def test_a_brief_prepared_from_call_started_is_served_from_cache_at_pick_up(
    cluster: Cluster, demo_db: Path
) -> None:
    worker = cluster.worker(WARMLINE_CHAT_MODEL="fake:200ms")
    phone = sample_contacts(demo_db, "phone", 1, seed=43)[0]
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap)
    await producer.start()
    try:
        call = {"call_id": "brief-1", "caller": phone, "queue": "test"}
        await producer.send_and_wait(
            cluster.topic("call_started"), orjson.dumps(call), key=str(normalize("phone", phone)).encode()
        )
    finally:
        await producer.stop()
    async with asyncio.timeout(30):  # the positive signal: the worker says it prepared one brief
        while (await _stats(worker.url))["briefs"]["prepared"] < 1:
            await asyncio.sleep(0.1)
    async with aiohttp.ClientSession() as session:
        body = {"input": {"question": "brief me", "lookup": {"by": "phone", "value": phone}}}
        async with session.post(f"{worker.url}/chat/invoke", json=body) as resp:
            assert resp.status == 200 and resp.headers["X-Brief"] == "ready"
            output = (await resp.json())["output"]
    assert output["brief"] is True and output["answer"].startswith(ANSWER_PREFIX)  # the model wrote it, beforehand
    briefs = (await _stats(worker.url))["briefs"]
    assert briefs["ready_at_answer"] == 1 and briefs["made_at_answer"] == 0 and briefs["prepared"] == 1
