"""Pre-warming over Tansu and Redis: VIP lists, admin warming, schedules across workers, replay, priority, DLQ."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer
from rich.console import Console

from harness.kafka import first_records
from warmline.commands.embedded_broker import create_topics
from warmline.commands.replay import replay_file, replay_topic
from warmline.models import DeadLetter, parse
from warmline.settings import load_settings
from warmline.sources.demo.generate import sample_contacts

from .conftest import Cluster, http_get

ADMIN = {"Authorization": "Bearer s3cret"}
QUIET = Console(quiet=True)


async def _stats(url: str) -> dict[str, Any]:
    return (await http_get(f"{url}/v1/stats"))[2]


async def _until(check: Callable[[], Awaitable[bool]], timeout_s: float = 30.0) -> None:
    async with asyncio.timeout(timeout_s):
        while not await check():
            await asyncio.sleep(0.2)


def _vip_file(tmp: Path, keys: list[str], every: str | None = None) -> Path:
    path = tmp / "vip.yaml"
    lines = ["lists:", "  - name: platinum", f"    keys: {keys!r}"]
    if every:
        lines.append(f"    every: {every}")
    path.write_text("\n".join(lines) + "\n")
    return path


async def test_vip_list_is_warmed_at_start_up(cluster: Cluster, tmp_path: Path) -> None:
    keys = [f"customer_id:C-{i:06d}" for i in range(100, 110)]
    worker = cluster.worker(WARMLINE_VIP_FILE=str(_vip_file(tmp_path, keys)))

    async def warmed() -> bool:
        return bool((await _stats(worker.url))["l1"]["entries"] == len(keys))

    await _until(warmed)
    stats = await _stats(worker.url)
    assert stats["vip"]["last_job"]["warmed"] == len(keys) and stats["vip"]["last_job"]["reason"] == "start-up"
    for key in keys[:3]:
        assert (await http_get(f"{worker.url}/v1/lookup", customer_id=key.split(":")[1]))[1]["X-Cache"] == "L1"


async def test_admin_prewarm_with_job_stats(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker()
    phones = sample_contacts(demo_db, "phone", 8, seed=51)
    keys = [f"phone:{p}" for p in phones] + ["phone:+12025550000", "fax:1"]
    async with aiohttp.ClientSession() as s:
        async with s.post(f"{worker.url}/v1/prewarm", json={"keys": keys}) as resp:
            assert resp.status == 401
        async with s.post(f"{worker.url}/v1/prewarm", json={"keys": keys}, headers=ADMIN) as resp:
            first = await resp.json()
        async with s.post(f"{worker.url}/v1/prewarm", json={"keys": keys}, headers=ADMIN) as resp:
            second = await resp.json()
        async with s.post(f"{worker.url}/v1/prewarm", json={"lists": ["nope"]}, headers=ADMIN) as resp:
            assert resp.status == 400
    assert (first["total"], first["warmed"], first["not_found"], first["invalid"]) == (10, 8, 1, 1)
    assert first["p50_ms"] is not None and first["duration_s"] > 0
    assert (second["already_fresh"], second["warmed"], second["not_found"]) == (8, 0, 1)
    stats = await _stats(worker.url)
    assert stats["source"]["calls"] == 9  # the second job cost nothing: not-found is cached too
    assert stats["warm_jobs"]["admin"]["runs"] == 2 and stats["vip"]["runs"] == 0  # admin warms are not VIP runs


async def test_schedule_warms_each_key_once_across_two_workers(cluster: Cluster, tmp_path: Path) -> None:
    keys = [f"customer_id:C-{i:06d}" for i in range(200, 216)]
    vip = str(_vip_file(tmp_path, keys, every="2s"))
    a = cluster.worker(WARMLINE_VIP_FILE=vip)
    b = cluster.worker(WARMLINE_VIP_FILE=vip)

    async def settled() -> bool:
        sa, sb = await _stats(a.url), await _stats(b.url)
        return bool(
            sa["l1"]["entries"] + sb["l1"]["entries"] == len(keys) and sa["vip"]["runs"] >= 3 and sb["vip"]["runs"] >= 3
        )

    await _until(settled, 60)
    sa, sb = await _stats(a.url), await _stats(b.url)
    assert sa["l1"]["entries"] and sb["l1"]["entries"]  # the keys are split between the owners
    assert sa["source"]["calls"] + sb["source"]["calls"] == len(keys)  # each fetched once, whatever the firings
    assert "schedule" in sa["vip"]["last_job"]["reason"] and sa["vip"]["last_job"]["warmed"] == 0


async def test_replay_from_a_file(cluster: Cluster, demo_db: Path, tmp_path: Path) -> None:
    worker = cluster.worker()
    phones = sample_contacts(demo_db, "phone", 5, seed=61)
    path = tmp_path / "calls.jsonl"
    lines = [
        orjson.dumps({"call_id": f"r-{i}", "caller": p, "started_at": f"2026-11-25T07:00:0{i}Z"}).decode()
        for i, p in enumerate(phones)
    ]
    path.write_text("\n".join([*lines, '{"call_id": "broken"', ""]) + "\n")
    settings = load_settings(**_client_settings(cluster))
    report = await replay_file(settings, path, speed=20.0, console=QUIET)
    assert (report.published, len(report.skipped), report.keys) == (5, 1, 5)
    assert report.duration_s >= 4 / 20 * 0.9  # the recorded 4 s of gaps, 20× faster

    async def warm() -> bool:
        return bool((await _stats(worker.url))["l1"]["entries"] == 5)

    await _until(warm)


async def test_replay_from_topic_history_since_a_time(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker()
    history = cluster.topic("call_started") + "-history"
    await create_topics(cluster.tansu.bootstrap, [history], 4)
    phones = sample_contacts(demo_db, "phone", 6, seed=71)
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap)
    await producer.start()
    since = datetime.now(UTC)
    an_hour_ago_ms = int(since.timestamp() * 1000) - 3_600_000  # record times are the producer's to set
    try:
        for i, phone in enumerate(phones[:3]):
            body = orjson.dumps({"call_id": f"old-{i}", "caller": phone})
            await producer.send_and_wait(history, body, timestamp_ms=an_hour_ago_ms)
        for i, phone in enumerate(phones[3:]):
            await producer.send_and_wait(history, orjson.dumps({"call_id": f"new-{i}", "caller": phone}))
        await producer.send_and_wait(history, b"garbage")
    finally:
        await producer.stop()
    settings = load_settings(**_client_settings(cluster))
    report = await replay_topic(settings, history, since, http=None, concurrency=4, console=QUIET)
    assert report.keys == 3 and len(report.skipped) == 1
    tiers = [(await http_get(f"{worker.url}/v1/lookup", phone=p))[1]["X-Cache"] for p in phones]
    assert tiers[3:] == ["L1"] * 3 and tiers[:3] == ["MISS"] * 3


async def test_replay_over_http_is_counted_as_replay(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker()
    history = cluster.topic("call_started") + "-history"
    await create_topics(cluster.tansu.bootstrap, [history], 2)
    phones = sample_contacts(demo_db, "phone", 4, seed=81)
    since = datetime.now(UTC)
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap)
    await producer.start()
    try:
        for i, phone in enumerate(phones):
            await producer.send_and_wait(history, orjson.dumps({"call_id": f"h-{i}", "caller": phone}))
    finally:
        await producer.stop()
    settings = load_settings(**_client_settings(cluster), admin_token="s3cret")
    report = await replay_topic(settings, history, since, http=worker.url, concurrency=4, console=QUIET)
    assert report.keys == 4
    stats = await _stats(worker.url)
    assert stats["warm_jobs"]["replay"]["last_job"]["warmed"] == 4
    assert stats["warm_jobs"]["admin"]["runs"] == 0 and stats["vip"]["runs"] == 0
    tiers = [(await http_get(f"{worker.url}/v1/lookup", phone=p))[1]["X-Cache"] for p in phones]
    assert tiers == ["L1"] * 4


async def test_live_callers_go_before_a_bulk_warm(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker(
        WARMLINE_SOURCE_CONCURRENCY="2", WARMLINE_DEMO_LATENCY_MS="200", WARMLINE_PREWARM_CONCURRENCY="40"
    )
    bulk = [f"customer_id:C-{i:06d}" for i in range(300, 340)]  # 40 × 200 ms / 2 slots ≈ 4 s of source time
    async with aiohttp.ClientSession() as s:
        job = asyncio.create_task(s.post(f"{worker.url}/v1/prewarm", json={"keys": bulk}, headers=ADMIN))

        async def bulk_running() -> bool:
            return bool((await _stats(worker.url))["source"]["calls"] >= 2)

        await _until(bulk_running, 10)  # both source slots are busy with the bulk warm
        producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap)
        await producer.start()
        await producer.send_and_wait(
            cluster.topic("call_started"), orjson.dumps({"call_id": "live", "caller": "x", "customer_id": "C-000999"})
        )
        await producer.stop()

        async def warm() -> bool:
            return (await _stats(worker.url))["warm_at_answer"]["time_to_warm_ms"]["p50"] is not None

        await _until(warm, 10)
        calls_before_live = (await _stats(worker.url))["source"]["calls"] - 1
        assert not job.done()  # the bulk warm is still running: the live caller went ahead of it
        resp = await job
        stats = await resp.json()
    assert stats["warmed"] == 40
    # FIFO would have put it behind all 40 bulk calls; ahead of the queue it waits for a slot only.
    assert calls_before_live < 10, calls_before_live


async def test_bad_call_started_events_go_to_the_dlq(cluster: Cluster) -> None:
    cluster.worker()
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap)
    await producer.start()
    try:
        for raw in (b"{", orjson.dumps({"call_id": "c"}), orjson.dumps({"call_id": "c", "caller": "12"})):
            await producer.send_and_wait(cluster.topic("call_started"), raw)
    finally:
        await producer.stop()
    letters = [
        parse(DeadLetter, r.value) for r in await first_records(cluster.tansu.bootstrap, cluster.topic("lookup_dlq"), 3)
    ]
    assert {letter.topic for letter in letters} == {cluster.topic("call_started")}
    assert any("possible phone" in letter.reason for letter in letters)


def _client_settings(cluster: Cluster) -> dict[str, object]:
    return {
        "broker": cluster.tansu.url,
        "topic_call_started": cluster.topic("call_started"),
        "topic_lookup_request": cluster.topic("lookup_request"),
        "topic_lookup_reply": cluster.topic("lookup_reply"),
        "consumer_fetch_max_wait_ms": 5,
    }


async def test_calls_that_started_long_ago_are_not_warmed(cluster: Cluster) -> None:
    worker = cluster.worker(WARMLINE_CALL_MAX_AGE_S="60")
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap)
    await producer.start()
    try:
        old = {"call_id": "old", "caller": "x", "customer_id": "C-000401", "started_at": "2026-01-01T00:00:00Z"}
        new = {"call_id": "new", "caller": "x", "customer_id": "C-000402"}
        for body in (old, new):
            await producer.send_and_wait(cluster.topic("call_started"), orjson.dumps(body))
    finally:
        await producer.stop()

    async def new_one_warm() -> bool:
        return bool((await _stats(worker.url))["l1"]["entries"] >= 1)

    await _until(new_one_warm)

    async def old_one_skipped() -> bool:  # the worker's own count of calls it did not warm
        async with aiohttp.ClientSession() as s, s.get(f"{worker.url}/metrics") as resp:
            lines = (await resp.text()).splitlines()
        return any(
            ln.startswith("warmline_messages_total{") and 'outcome="too_old"' in ln and ln.endswith(" 1.0")
            for ln in lines
        )

    await _until(old_one_skipped)
    assert (await _stats(worker.url))["source"]["calls"] == 1  # only the live call cost an upstream call
    assert (await http_get(f"{worker.url}/v1/lookup", customer_id="C-000402"))[1]["X-Cache"] == "L1"


async def test_a_lookup_arriving_mid_warm_joins_the_warm(cluster: Cluster) -> None:
    worker = cluster.worker(WARMLINE_DEMO_LATENCY_MS="1500")
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap)
    await producer.start()
    try:
        call = {"call_id": "mid", "caller": "x", "customer_id": "C-000777"}
        await producer.send_and_wait(cluster.topic("call_started"), orjson.dumps(call))
    finally:
        await producer.stop()

    async def warming() -> bool:
        return bool((await _stats(worker.url))["source"]["calls"] == 1)

    await _until(warming, 10)  # the pre-warm's upstream call is under way (it takes 1.5 s)
    status, _, body = await http_get(f"{worker.url}/v1/lookup", customer_id="C-000777")
    stats = await _stats(worker.url)
    assert (status, body["customer"]["customer_id"]) == (200, "C-000777")
    assert stats["source"]["calls"] == 1 and stats["cache"]["coalesced"] == 1  # joined, not a second call
