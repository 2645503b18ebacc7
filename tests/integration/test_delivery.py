"""Exactly one reply per parseable request across a shutdown; the worker's own topics and their layout."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid

import orjson
from aiokafka import AIOKafkaProducer

from warmline.stream.topics import changelog_topic, repartition_topic

from ..interop.rdkafka import RdClient, create_topics, partitions_of
from .conftest import Cluster, http_get


async def _send(bootstrap: str, topic: str, bodies: list[dict[str, object]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
    await producer.start()
    try:
        for body in bodies:
            await producer.send_and_wait(topic, orjson.dumps(body))
    finally:
        await producer.stop()


async def test_sigterm_mid_flight_leaves_requests_for_the_next_owner(cluster: Cluster) -> None:
    slow = {
        "WARMLINE_DEMO_LATENCY_MS": "10000",
        "WARMLINE_SOURCE_TIMEOUT_MS": "30000",
        "WARMLINE_SHUTDOWN_GRACE_S": "0.2",
    }
    worker = cluster.worker(**slow)
    reply_topic = f"replies-{uuid.uuid4().hex[:6]}"
    create_topics(cluster.tansu.bootstrap, [reply_topic], 1)
    ids = {f"mid-{i}": f"C-{i:06d}" for i in range(100, 150)}
    bodies: list[dict[str, object]] = [
        {"request_id": r, "by": "customer_id", "value": c, "reply_to": reply_topic} for r, c in ids.items()
    ]
    await _send(cluster.tansu.bootstrap, cluster.topic("lookup_request"), bodies)
    async with asyncio.timeout(30):  # positive signal: all 50 upstream calls are in flight
        while (await http_get(f"{worker.url}/v1/stats"))[2]["source"]["calls"] < len(ids):
            await asyncio.sleep(0.1)
    assert worker.proc is not None
    os.killpg(worker.proc.pid, signal.SIGTERM)
    assert await asyncio.to_thread(worker.proc.wait, 30) == 0
    worker.proc = None

    cluster.worker(WARMLINE_DEMO_LATENCY_MS="5")  # the next owner of every partition
    client = RdClient(cluster.tansu.bootstrap, cluster.topic("lookup_request"), reply_topic)
    try:
        got = client.replies(set(ids), timeout_s=60)
    finally:
        client.close()
    assert len(got) == len(ids)  # none lost
    assert {r[0]["customer"]["customer_id"] for r in got.values()} == set(ids.values())


async def test_missing_topics_are_created_and_a_wrong_internal_count_stops_the_worker(cluster: Cluster) -> None:
    bootstrap = cluster.tansu.bootstrap
    worker = cluster.worker()  # nobody created any topic: the worker makes them, with the configured count
    for name in ("call_started", "lookup_request", "customer_changed", "lookup_reply", "lookup_dlq"):
        assert partitions_of(bootstrap, cluster.topic(name)) == 4
    app_id = cluster.base_env["WARMLINE_APP_ID"]
    assert partitions_of(bootstrap, repartition_topic(app_id, "lookup-request")) == 4
    assert partitions_of(bootstrap, changelog_topic(app_id, "l1")) == 4
    log = worker.log_path.read_text()
    assert f"topic {cluster.topic('call_started')} did not exist: created it with 4 partitions" in log
    worker.stop()

    env = {**cluster.base_env, "WARMLINE_TOPIC_PARTITIONS": "6", "WARMLINE_WEB_PORT": "0"}
    proc = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "warmline", "worker"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "has 4 partitions but WARMLINE_TOPIC_PARTITIONS is 6" in " ".join(proc.stderr.split())
    assert "Traceback" not in proc.stderr
