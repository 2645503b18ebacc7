"""Lookups through Tansu and HTTP against a real worker process, Redis and the demo directory."""

from __future__ import annotations

import struct
from pathlib import Path

import aiohttp
import orjson
from aiokafka import AIOKafkaProducer

from harness.kafka import first_records
from warmline.models import DeadLetter, LookupReply, parse
from warmline.sources.demo.generate import sample_contacts

from .conftest import Cluster, http_get


async def test_kafka_request_reply_for_a_demo_customer(cluster: Cluster, demo_db: Path) -> None:
    cluster.worker()
    phone = sample_contacts(demo_db, "phone", 1, seed=11)[0]
    async with cluster.client() as client:
        first = await client.lookup("phone", phone, timeout_ms=5000)
        second = await client.lookup("phone", phone, timeout_ms=5000)
        by_id = await client.lookup("customer_id", first.customer.customer_id if first.customer else "?")
        missing = await client.lookup("phone", "+12025550000")
        invalid = await client.lookup("phone", "12")
    assert first.status == "ok" and first.source == "upstream"
    assert first.customer is not None and phone in first.customer.phones
    assert second.source == "l1" and second.customer == first.customer
    assert by_id.customer == first.customer
    assert missing.status == "not_found"
    assert invalid.status == "invalid" and invalid.error


async def test_unkeyed_and_raw_keyed_requests_are_rekeyed_and_answered(cluster: Cluster, demo_db: Path) -> None:
    cluster.worker()
    phones = sample_contacts(demo_db, "phone", 6, seed=12)
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap)
    await producer.start()
    try:
        for i, phone in enumerate(phones):
            body = {"request_id": f"rk-{i}", "by": "phone", "value": phone.replace("+1", "")}
            key = None if i % 2 else phone.encode()  # unkeyed, or keyed by the raw value
            await producer.send_and_wait(cluster.topic("lookup_request"), orjson.dumps(body), key=key)
    finally:
        await producer.stop()
    records = await first_records(cluster.tansu.bootstrap, cluster.topic("lookup_reply"), len(phones))
    replies = {r.request_id: r for r in (parse(LookupReply, rec.value) for rec in records)}
    assert set(replies) == {f"rk-{i}" for i in range(len(phones))}
    assert all(r.status == "ok" for r in replies.values())


async def test_garbage_goes_to_the_dlq_and_the_worker_keeps_answering(cluster: Cluster, demo_db: Path) -> None:
    cluster.worker()
    garbage = [
        b"\x00\xffnot json",
        b'{"request_id": "t-1", "by": "pho',
        orjson.dumps({"request_id": 17, "by": ["phone"], "value": None}),
        orjson.dumps({"request_id": "big", "by": "phone", "value": "9" * 200_000}),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap, max_request_size=1_048_576)
    await producer.start()
    try:
        for raw in garbage:
            await producer.send_and_wait(cluster.topic("lookup_request"), raw)
        # Parseable enough to answer: a request id and an unknown `by` → an `invalid` reply, and a dead letter.
        await producer.send_and_wait(
            cluster.topic("lookup_request"), orjson.dumps({"request_id": "fax-1", "by": "fax", "value": "1"})
        )
    finally:
        await producer.stop()
    letters = [
        parse(DeadLetter, r.value) for r in await first_records(cluster.tansu.bootstrap, cluster.topic("lookup_dlq"), 5)
    ]
    assert len(letters) == 5
    assert any("exceeds" in letter.reason for letter in letters)
    assert all(letter.original_size > 0 and letter.topic == cluster.topic("lookup_request") for letter in letters)
    big = next(letter for letter in letters if letter.original_size > 100_000)
    assert big.truncated
    replies = [
        parse(LookupReply, r.value)
        for r in await first_records(cluster.tansu.bootstrap, cluster.topic("lookup_reply"), 1)
    ]
    assert replies[0].request_id == "fax-1" and replies[0].status == "invalid"
    async with cluster.client() as client:
        ok = await client.lookup("customer_id", "C-000001")
    assert ok.status == "ok"


async def test_spring_reply_headers_are_honoured_and_echoed(cluster: Cluster) -> None:
    cluster.worker()
    reply_topic = cluster.topic("lookup_reply") + "-spring"
    from warmline.commands.embedded_broker import create_topics

    await create_topics(cluster.tansu.bootstrap, [reply_topic], 4)
    producer = AIOKafkaProducer(bootstrap_servers=cluster.tansu.bootstrap)
    await producer.start()
    try:
        await producer.send_and_wait(
            cluster.topic("lookup_request"),
            orjson.dumps({"request_id": "sp-1", "by": "customer_id", "value": "C-000002"}),
            key=b"customer_id:C-000002",
            headers=[
                ("kafka_replyTopic", reply_topic.encode()),
                ("kafka_correlationId", b"corr-42"),
                ("kafka_replyPartition", struct.pack(">i", 2)),
            ],
        )
    finally:
        await producer.stop()
    [record] = await first_records(cluster.tansu.bootstrap, reply_topic, 1)
    assert record.partition == 2
    assert ("kafka_correlationId", b"corr-42") in list(record.headers)
    reply = parse(LookupReply, record.value)
    assert reply.customer is not None and reply.customer.customer_id == "C-000002"


async def test_http_lookup_batch_stats_and_admin_invalidation(cluster: Cluster, demo_db: Path) -> None:
    worker = cluster.worker()
    email = sample_contacts(demo_db, "email", 1, seed=13)[0]
    status, headers, body = await http_get(f"{worker.url}/v1/lookup", email=email)
    assert (status, headers["X-Cache"], body["status"]) == (200, "MISS", "ok")
    status, headers, body = await http_get(f"{worker.url}/v1/lookup", email=email.upper())
    assert (status, headers["X-Cache"], body["source"]) == (200, "L1", "l1")
    assert headers["X-Request-ID"]
    assert (await http_get(f"{worker.url}/v1/lookup", phone="+12025550000"))[0] == 404
    assert (await http_get(f"{worker.url}/v1/lookup", phone="12"))[0] == 400
    assert (await http_get(f"{worker.url}/v1/lookup"))[0] == 400

    async with aiohttp.ClientSession() as s:
        batch = {
            "lookups": [{"by": "customer_id", "value": f"C-{i:06d}"} for i in range(1, 8)]
            + [{"by": "phone", "value": "1"}],
            "concurrency": 3,
        }
        async with s.post(f"{worker.url}/v1/lookup/batch", json=batch) as resp:
            results = (await resp.json())["results"]
        assert [r["customer"]["customer_id"] for r in results[:7]] == [f"C-{i:06d}" for i in range(1, 8)]
        assert results[7]["status"] == "invalid"
        async with s.post(f"{worker.url}/v1/lookup/batch", data=b"{not json") as resp:
            assert resp.status == 400

        key = f"email:{email}"
        async with s.delete(f"{worker.url}/v1/cache/{key}") as resp:
            assert resp.status == 401
        async with s.delete(f"{worker.url}/v1/cache/{key}", headers={"Authorization": "Bearer s3cret"}) as resp:
            assert resp.status == 200 and (await resp.json())["l1_held"] is True
        async with s.get(f"{worker.url}/metrics") as resp:
            text = await resp.text()
        assert "warmline_lookups_total" in text
        assert 'warmline_cache_events_total{event="hit_l1"} 1.0' in text
        assert "# TYPE warmline_oldest_unacked_seconds gauge" in text  # the scrape read the live consumer unharmed
    assert (await http_get(f"{worker.url}/v1/lookup", email=email))[1]["X-Cache"] == "MISS"
    stats = (await http_get(f"{worker.url}/v1/stats"))[2]
    assert stats["cache"]["hits"]["l1"] >= 1 and stats["source"]["calls"] >= 9
