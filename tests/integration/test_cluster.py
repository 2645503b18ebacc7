"""Restarts, changelog recovery, L2 after L1 loss, two workers with owner routing, pre-warm, invalidation."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer
from confluent_kafka import Message, Producer

from harness.broker import random_suffix
from harness.kafka import first_records, records_until
from tests.interop.rdkafka import create_topics
from warmline.models import CacheEntry
from warmline.sources.demo.generate import sample_contacts

from .conftest import Cluster, WorkerProcess, http_get

ADMIN = {"Authorization": "Bearer s3cret"}


async def _produce(bootstrap: str, topic: str, value: dict[str, object], key: bytes | None = None) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(topic, orjson.dumps(value), key=key)
    finally:
        await producer.stop()


async def _wait_for_l1_entries(url: str, at_least: int, timeout_s: float = 15.0) -> None:
    async with asyncio.timeout(timeout_s):
        while (await http_get(f"{url}/v1/stats"))[2]["l1"]["entries"] < at_least:
            await asyncio.sleep(0.1)


async def test_restart_recovers_l1_from_the_changelog_and_a_new_group_uses_l2(cluster: Cluster, demo_db: Path) -> None:
    phones = sample_contacts(demo_db, "phone", 5, seed=21)
    first = cluster.worker()
    for phone in phones:
        assert (await http_get(f"{first.url}/v1/lookup", phone=phone))[1]["X-Cache"] == "MISS"
    first.stop()

    again = cluster.worker()  # same app id: the L1 table comes back from its changelog
    tiers = [(await http_get(f"{again.url}/v1/lookup", phone=p))[1]["X-Cache"] for p in phones]
    assert tiers == ["L1"] * len(phones)
    again.stop()

    fresh = cluster.worker(WARMLINE_APP_ID=cluster.base_env["WARMLINE_APP_ID"] + "-other")  # L1 lost, Redis kept
    tiers = [(await http_get(f"{fresh.url}/v1/lookup", phone=p))[1]["X-Cache"] for p in phones]
    assert tiers == ["L2"] * len(phones)
    tiers = [(await http_get(f"{fresh.url}/v1/lookup", phone=p))[1]["X-Cache"] for p in phones]
    assert tiers == ["L1"] * len(phones)  # promoted


async def _split_between(a: WorkerProcess, b: WorkerProcess) -> None:
    """Wait until both workers are ready with a stable, disjoint split of the 4 partitions."""
    async with asyncio.timeout(60):
        while True:
            sa, sb = (await http_get(f"{a.url}/readyz"))[2], (await http_get(f"{b.url}/readyz"))[2]
            pa, pb = set(sa["l1_partitions"]), set(sb["l1_partitions"])
            if sa["ready"] and sb["ready"] and pa and pb and not pa & pb and len(pa | pb) == 4:
                return
            await asyncio.sleep(0.2)


async def test_two_workers_share_partitions_and_http_goes_to_the_owner(cluster: Cluster) -> None:
    a = cluster.worker()
    b = cluster.worker()
    await _split_between(a, b)
    ids = [f"C-{i:06d}" for i in range(30, 46)]
    for cid in ids:  # first lookups alternate between the workers
        worker = a if int(cid[-2:]) % 2 else b
        status, headers, _ = await http_get(f"{worker.url}/v1/lookup", customer_id=cid)
        assert (status, headers["X-Cache"]) == (200, "MISS")
    for cid in ids:  # the other worker answers from the owner's L1
        worker = b if int(cid[-2:]) % 2 else a
        assert (await http_get(f"{worker.url}/v1/lookup", customer_id=cid))[1]["X-Cache"] == "L1"
    entries_a = (await http_get(f"{a.url}/v1/stats"))[2]["l1"]["entries"]
    entries_b = (await http_get(f"{b.url}/v1/stats"))[2]["l1"]["entries"]
    assert entries_a + entries_b == len(ids)  # each key lives on exactly one worker
    assert entries_a and entries_b


def _librdkafka_partitions(bootstrap: str, keys: list[bytes]) -> dict[bytes, int]:
    """Where librdkafka's murmur2 partitioner (Java's default) puts each key among 4 partitions: a scratch topic."""
    topic = f"scratch-{random_suffix()}"
    create_topics(bootstrap, [topic], 4)
    producer = Producer({"bootstrap.servers": bootstrap, "partitioner": "murmur2", "linger.ms": 0})
    delivered: dict[bytes, int | None] = {}

    def record(err: object, msg: Message) -> None:
        delivered[msg.key() or b""] = msg.partition()

    for key in keys:
        producer.produce(topic, b"", key=key, on_delivery=record)
    producer.flush(15)
    assert set(delivered) == set(keys) and None not in delivered.values()
    return {key: partition for key, partition in delivered.items() if partition is not None}


async def test_call_started_prewarms_l1_and_invalidation_drops_it(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker()
    phone = sample_contacts(demo_db, "phone", 1, seed=31)[0]
    national = phone.removeprefix("+1")
    await _produce(
        cluster.tansu.bootstrap,
        cluster.topic("call_started"),
        {"call_id": "c-1", "caller": national, "queue": "billing"},
    )
    await _wait_for_l1_entries(worker.url, 1)
    status, headers, body = await http_get(f"{worker.url}/v1/lookup", phone=phone)
    assert (status, headers["X-Cache"]) == (200, "L1")
    cid = body["customer"]["customer_id"]

    await _produce(cluster.tansu.bootstrap, cluster.topic("customer_changed"), {"customer_id": cid})
    async with asyncio.timeout(15):  # the id's owner fans out to the phone's owner
        while (await http_get(f"{worker.url}/v1/stats"))[2]["l1"]["entries"] > 0:
            await asyncio.sleep(0.1)
    assert (await http_get(f"{worker.url}/v1/lookup", phone=phone))[1]["X-Cache"] == "MISS"

    # The L1 changelog as a foreign reader sees it: the warm's record, then the invalidation's tombstone,
    # on the partition Kafka's default partitioner gives the key (librdkafka's murmur2 as the oracle).
    changelog = f"{cluster.base_env['WARMLINE_APP_ID']}-l1-changelog"
    key = f"phone:{phone}".encode()
    every = await records_until(
        cluster.tansu.bootstrap, changelog, lambda rs: any(r.key == key and r.value is None for r in rs), 30
    )
    records = [r for r in every if r.key == key]
    assert [r.value is None for r in records[:2]] == [False, True]
    assert CacheEntry.from_bytes(records[0].value or b"").customer_id == cid
    partitions = await asyncio.to_thread(_librdkafka_partitions, cluster.tansu.bootstrap, [key])
    assert {r.partition for r in records} == {partitions[key]}


async def test_two_workers_keep_no_standby_copy_of_each_others_l1(cluster: Cluster, demo_db: Path) -> None:
    """Faust would keep a standby copy of the other worker's L1 partitions: memory outside the LRU bound
    and every changelog record read twice, for nothing with the in-memory store (docs/operations.md)."""
    a = cluster.worker()
    b = cluster.worker()
    await _split_between(a, b)
    # More than Faust's standby buffer (1,000 records) lands on each worker's partitions: a copy would
    # show. Only customers that exist: a not-found entry expires (and is swept) after 30 s.
    ids = [f"customer_id:C-{i:06d}" for i in range(1, 1_201)]
    keys = ids + [f"phone:{p}" for p in sample_contacts(demo_db, "phone", 1_200, seed=71)]
    async with aiohttp.ClientSession() as s, s.post(f"{a.url}/v1/prewarm", json={"keys": keys}, headers=ADMIN) as resp:
        job = await resp.json()
    assert (job["total"], job["warmed"]) == (len(keys), len(keys))
    entries = [(await http_get(f"{w.url}/v1/stats"))[2]["l1"]["entries"] for w in (a, b)]
    assert sum(entries) == len(keys) and all(entries)

    # Both workers' changelog records, each on the partition Kafka's default partitioner gives its key.
    sample = [k.encode() for k in keys[::150]]
    changelog = f"{cluster.base_env['WARMLINE_APP_ID']}-l1-changelog"
    records = await first_records(cluster.tansu.bootstrap, changelog, len(keys), timeout_s=30)
    expected = await asyncio.to_thread(_librdkafka_partitions, cluster.tansu.bootstrap, sample)
    assert {r.key: r.partition for r in records if r.key in expected} == expected
