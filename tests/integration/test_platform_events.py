"""A platform's own event on call-started, from a plain Kafka client, warms the caller (no bridge)."""

from __future__ import annotations

import asyncio
import copy
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from warmline.sources.demo.generate import sample_contacts

from .conftest import Cluster, http_get

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "platforms"


async def _metric(url: str, line_start: str) -> float:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as resp:
        text = await resp.text()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start))


async def test_a_genesys_acd_start_event_warms_its_caller(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker()
    phone = sample_contacts(demo_db, "phone", 1, seed=19)[0]
    event = copy.deepcopy(orjson.loads((FIXTURES / "genesys_acd_start.json").read_bytes()))
    event["detail"]["eventBody"]["ani"] = f"tel:{phone}"
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap, linger_ms=0)
    await producer.start()
    try:  # unkeyed and unchanged, as an EventBridge → Kafka pipe delivers it
        await producer.send_and_wait(cluster.topic("call_started"), orjson.dumps(event))
    finally:
        await producer.stop()
    counted = 'warmline_platform_events_total{outcome="queued",platform="genesys"}'
    warmed = (
        "warmline_messages_total{"
        + f'outcome="warmed",topic="{cluster.base_env["WARMLINE_APP_ID"]}-call-started-repartition"'
    )
    async with asyncio.timeout(60):  # positive signals: recognised, then warmed on the owner
        while await _metric(worker.url, counted) < 1 or await _metric(worker.url, warmed) < 1:
            await asyncio.sleep(0.2)
    status, headers, body = await http_get(f"{worker.url}/v1/lookup", phone=phone)
    assert status == 200 and body["status"] == "ok"
    assert headers["X-Cache"] == "L1"  # warmed before anyone asked
