"""A worker killed (-9) while call-started events are being warmed: the next owner warms every caller.

Warming's intake (``stream/intake.py``) acks an event only when its warm is done, so the commit never
passes an event whose warm was cut off. (Faust's per-record delivery, ``WARMLINE_WARMING_INTAKE=false``,
passed the same test; it is left out of ``make test`` for time.)
"""

from __future__ import annotations

import asyncio
import os
import signal

import orjson
from aiokafka import AIOKafkaProducer

from .conftest import Cluster, http_get, metric_sum

CALLERS = [f"C-{i:06d}" for i in range(300, 500)]


async def _l1_entries(url: str) -> int:
    entries: int = (await http_get(f"{url}/v1/stats"))[2]["l1"]["entries"]
    return entries


async def _source_calls(url: str) -> int:
    calls: int = (await http_get(f"{url}/v1/stats"))[2]["source"]["calls"]
    return calls


async def test_a_worker_killed_mid_warm_leaves_no_caller_cold(cluster: Cluster) -> None:
    # Source calls of 0.5–4 s: when the worker dies some warms are done (acked), the rest in flight.
    first = cluster.worker(
        WARMLINE_DEMO_LATENCY_MS="500-4000", WARMLINE_SOURCE_TIMEOUT_MS="30000", WARMLINE_WARMING_INTAKE="true"
    )
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap, linger_ms=0)
    await producer.start()
    try:  # unkeyed, as a telephony integration might send them: every partition, re-keyed to the owner
        for i, customer_id in enumerate(CALLERS):
            body = {"call_id": f"kill-{i}", "caller": "unknown", "customer_id": customer_id}
            await producer.send_and_wait(cluster.topic("call_started"), orjson.dumps(body))
    finally:
        await producer.stop()
    warmed = 'warmline_messages_total{outcome="warmed"'  # on either topic: the worker owns every key
    async with asyncio.timeout(60):  # positive signal: some warms done, and more still waiting for the source
        while await metric_sum(first.url, warmed) < 20:
            await asyncio.sleep(0.05)
    assert first.proc is not None
    os.killpg(first.proc.pid, signal.SIGKILL)
    await asyncio.to_thread(first.proc.wait, 30)
    first.proc = None

    after = cluster.worker(WARMLINE_DEMO_LATENCY_MS="5", WARMLINE_WARMING_INTAKE="true")  # the next owner
    async with asyncio.timeout(120):
        while await _l1_entries(after.url) < len(CALLERS):
            await asyncio.sleep(0.2)
    for customer_id in CALLERS:  # each caller answered from what warming stored, never from the source
        status, headers, _ = await http_get(f"{after.url}/v1/lookup", customer_id=customer_id)
        assert (status, headers["X-Cache"]) == (200, "L1"), customer_id
    # The kill cut warms off: the next worker fetched those callers itself (what the first finished
    # is in Redis and the L1 changelog, and comes from there).
    assert await _source_calls(after.url) > 0
