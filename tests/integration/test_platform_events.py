"""A platform's own event on call-started, from a plain Kafka client, warms the caller (no bridge)."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaProducer

from warmline.sources.demo.generate import sample_contacts

from .conftest import Cluster, http_get, metric_sum, warmed_on_owner

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "platforms"


async def test_a_genesys_acd_start_event_warms_its_caller(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker()
    phone = sample_contacts(demo_db, "phone", 1, seed=19)[0]
    event = copy.deepcopy(orjson.loads((FIXTURES / "genesys_acd_start.json").read_bytes()))
    event["detail"]["eventBody"]["ani"] = f"tel:{phone}"
    event["detail"]["eventBody"]["eventTime"] = datetime.now(UTC).isoformat()  # a live call, not history
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap, linger_ms=0)
    await producer.start()
    try:  # unkeyed and unchanged, as an EventBridge → Kafka pipe delivers it
        await producer.send_and_wait(cluster.topic("call_started"), orjson.dumps(event))
    finally:
        await producer.stop()
    await warmed_on_owner(worker.url, cluster.base_env["WARMLINE_APP_ID"], timeout_s=60)  # positive signal
    counted = 'warmline_platform_events_total{outcome="queued",platform="genesys"}'  # labels sorted
    assert await metric_sum(worker.url, counted) == 1
    status, headers, body = await http_get(f"{worker.url}/v1/lookup", phone=phone)
    assert status == 200 and body["status"] == "ok"
    assert headers["X-Cache"] == "L1"  # warmed before anyone asked
