"""Lookups first: a lookup is answered while a call-started backlog is being worked through."""

from __future__ import annotations

import asyncio

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer

from warmline.models import normalize

from .conftest import Cluster, metric_sum

BACKLOG = 4000


async def test_a_lookup_is_served_while_warming_works_through_a_backlog(cluster: Cluster) -> None:
    worker = cluster.worker(WARMLINE_DEMO_LATENCY_MS="20", WARMLINE_SOURCE_CONCURRENCY="200")
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap, linger_ms=5)
    await producer.start()
    try:
        for i in range(BACKLOG):
            cid = f"C-{i % 2000 + 1:06d}"
            body = orjson.dumps({"call_id": f"burst-{i}", "caller": "unknown", "customer_id": cid})
            await producer.send(cluster.topic("call_started"), body, key=str(normalize("customer_id", cid)).encode())
        await producer.flush()
    finally:
        await producer.stop()
    handled = 'warmline_messages_total{outcome="'
    async with asyncio.timeout(60):  # warming has begun
        while await metric_sum(worker.url, handled) < 1:
            await asyncio.sleep(0.05)
    async with cluster.client() as client:
        reply = await client.lookup("customer_id", "C-001999", timeout_ms=20_000)
        after_reply = await metric_sum(worker.url, handled)
    assert reply.status == "ok"
    # The positive signal: the backlog was still being worked through when the lookup was answered,
    # and warming had stepped aside for it (or for the loop) at least once.
    assert after_reply < BACKLOG
    assert await metric_sum(worker.url, "warmline_warming_yields_total{") >= 1
    async with aiohttp.ClientSession() as session, session.get(f"{worker.url}/metrics") as resp:
        exported = await resp.text()
    lookup_topic = cluster.topic("lookup_request")
    assert f'warmline_consumer_lag{{lane="lookups",topic="{lookup_topic}"}}' in exported
    async with asyncio.timeout(60):  # and warming finishes: not starved
        while await metric_sum(worker.url, handled) < BACKLOG:
            await asyncio.sleep(0.2)


async def test_lookups_are_fetched_by_a_consumer_of_their_own(cluster: Cluster) -> None:
    worker = cluster.worker(WARMLINE_LOOKUP_LANE_CONSUMER="true")  # the default, said because this test is about it
    async with cluster.client() as client:
        replies = [await client.lookup("customer_id", f"C-{i:06d}", timeout_ms=20_000) for i in range(1, 9)]
    assert {r.status for r in replies} == {"ok"}
    # Two lookup topics of 4 partitions each (WARMLINE_TOPIC_PARTITIONS=4 here), all on this worker.
    assert "lookup lane: 8 partitions fetched by a consumer of their own" in worker.log_path.read_text()
