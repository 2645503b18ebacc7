"""Warm-at-answer on the platforms' own answered events, on a worker: over the webhook and over Kafka.

Fixtures: tests/fixtures/platforms (README.md there cites each platform's documentation).
"""

from __future__ import annotations

import asyncio
import copy
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer

from warmline.sources.demo.generate import sample_contacts

from ..unit.test_platform_docs import example
from .conftest import Cluster, http_get, metric_sum, warmed_on_owner

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "platforms"


def _fixture(name: str) -> Any:
    return copy.deepcopy(orjson.loads((FIXTURES / name).read_bytes()))


async def _post(url: str, event: Any) -> tuple[int, Any]:
    async with aiohttp.ClientSession() as s, s.post(url, json=event) as resp:
        return resp.status, await resp.json(content_type=None)


async def _answers(url: str, platform: str, at_least: int = 1, field: str = "answered") -> dict[str, Any]:
    """Wait until the worker's /v1/stats counts *at_least* of *platform*'s answers in *field*."""
    async with asyncio.timeout(30):
        while True:
            _, _, stats = await http_get(f"{url}/v1/stats")
            figures = stats["warm_at_answer"]["platforms"].get(platform)
            if figures is not None and figures[field] >= at_least:
                return dict(figures)
            await asyncio.sleep(0.2)


async def test_connect_s_numberless_answer_is_joined_by_contact_id_and_counted_warm_once(
    cluster: Cluster, demo_db: Path
) -> None:
    worker = cluster.worker()
    phone = sample_contacts(demo_db, "phone", 1, seed=31)[0]
    hook = f"{worker.url}/v1/events/connect"
    lambda_event = _fixture("connect_lambda.json")
    lambda_event["Details"]["ContactData"]["CustomerEndpoint"]["Address"] = phone
    status, body = await _post(hook, lambda_event)
    assert status == 202 and body["accepted"][0]["outcome"] == "queued"
    await warmed_on_owner(worker.url, cluster.base_env["WARMLINE_APP_ID"])
    status, body = await _post(hook, _fixture("connect_contact_event_queued.json"))  # no number: matched by id
    assert status == 202 and body["accepted"][0]["outcome"] == "queued", body
    connected = _fixture("connect_contact_event_connected_lowercase.json")
    status, body = await _post(hook, connected)
    assert status == 202 and body["accepted"] == [
        {"call_id": "4a573372-1f28-4e26-b97b-000000000001", "kind": "answered", "outcome": "answered"}
    ]
    figures = await _answers(worker.url, "connect")
    assert figures["warm"] == {"l1": 1, "l2": 0, "cold": 0} and figures["answered_before_queued"] == 0
    assert figures["queued_to_warm_ms"]["p50"] is not None
    status, _ = await _post(hook, connected)  # EventBridge delivers at least once
    assert status == 202
    figures = await _answers(worker.url, "connect", field="repeated_answers")  # positive signal: seen, not counted
    assert figures["answered"] == 1
    series = 'warmline_calls_answered_total{platform="connect",warm="l1"}'
    assert await metric_sum(worker.url, series) == 1


async def test_an_answer_before_its_queued_event_counts_once_on_kafka(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker()
    phone = sample_contacts(demo_db, "phone", 1, seed=37)[0]
    queued, answered = _fixture("genesys_acd_start.json"), _fixture("genesys_user_start.json")
    for event in (queued, answered):
        event["detail"]["eventBody"]["ani"] = f"tel:{phone}"
        event["detail"]["eventBody"]["eventTime"] = datetime.now(UTC).isoformat()  # a live call, not history
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap, linger_ms=0)
    await producer.start()
    try:  # unchanged, as an EventBridge → Kafka pipe delivers them: the answer first
        await producer.send_and_wait(cluster.topic("call_started"), orjson.dumps(answered))
        figures = await _answers(worker.url, "genesys")
        assert figures["answered"] == 1 and figures["answered_before_queued"] == 1
        assert figures["warm"]["l1"] == 0  # warmline had not been told of the call: not warm, and said so
        await producer.send_and_wait(cluster.topic("call_started"), orjson.dumps(queued))
        await warmed_on_owner(worker.url, cluster.base_env["WARMLINE_APP_ID"])  # the late queued call still warms
        await producer.send_and_wait(cluster.topic("call_started"), orjson.dumps(answered))  # redelivered
        figures = await _answers(worker.url, "genesys", field="repeated_answers")
    finally:
        await producer.stop()
    assert figures["answered"] == 1  # counted once, when it first arrived
    _, headers, body = await http_get(f"{worker.url}/v1/lookup", phone=phone)
    assert body["status"] == "ok" and headers["X-Cache"] == "L1"


async def test_the_aircall_mapping_of_the_docs_works_on_a_worker_with_no_code(
    cluster: Cluster, demo_db: Path, tmp_path: Path
) -> None:
    mapping = tmp_path / "aircall.yaml"
    mapping.write_text(example("aircall-mapping"))  # docs/platforms.md, "Your own platform", as written
    worker = cluster.worker(WARMLINE_EVENT_MAPPINGS=str(mapping))
    phone = sample_contacts(demo_db, "phone", 1, seed=43)[0]
    now = int(time.time())
    created, answered = _fixture("aircall_call_created.json"), _fixture("aircall_call_answered.json")
    for event, at in ((created, now), (answered, now + 1)):
        event["data"]["raw_digits"] = phone
        event["timestamp"] = event["data"]["started_at"] = at
    answered["data"]["answered_at"] = now + 1
    status, body = await _post(f"{worker.url}/v1/events/aircall", created)
    assert status == 202 and body["accepted"][0]["outcome"] == "queued", body
    await warmed_on_owner(worker.url, cluster.base_env["WARMLINE_APP_ID"])
    status, body = await _post(f"{worker.url}/v1/events/aircall", answered)
    assert status == 202 and body["accepted"][0]["outcome"] == "answered", body
    figures = await _answers(worker.url, "aircall")
    assert figures["warm"] == {"l1": 1, "l2": 0, "cold": 0} and figures["queue_wait_ms"]["p50"] == 1000.0
    assert figures["queues"] == {"Support line": {"answered": 1, "l1": 1}}
