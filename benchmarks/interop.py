"""A librdkafka client (confluent-kafka) sending unkeyed requests, against its own bare round trip.

The floor is what the same client pays on the same broker without warmline: produce to a topic,
an aiokafka echo (the worker's client, 5 ms fetch wait) copies the record to a second topic, the
client reads it back. An L1 hit answered by the worker that received it costs about that; a
key owned by the other worker adds one hop through the repartition topic.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import aiohttp
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from confluent_kafka import Consumer, Producer
from confluent_kafka import TopicPartition as RdPartition

from warmline.commands.embedded_broker import create_topics
from warmline.stream.ownership import owner_partition

from .stack import BenchStack
from .stats import Result, p99_against_floor


def _rd_producer(bootstrap: str) -> Producer:
    return Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})


def _rd_reader(bootstrap: str, topic: str) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": f"bench-{uuid.uuid4().hex[:6]}",
            "fetch.wait.max.ms": 5,
            "enable.auto.commit": False,
        }
    )
    _, high = consumer.get_watermark_offsets(RdPartition(topic, 0), timeout=10)
    consumer.assign([RdPartition(topic, 0, high)])  # from the end, resolved now (not at the first fetch)
    return consumer


@contextmanager
def _aiokafka_echo(bootstrap: str, source: str, dest: str) -> Iterator[None]:
    """Copy every record of *source* to *dest* in a thread of its own (its own event loop)."""
    stop = threading.Event()
    ready = threading.Event()

    async def run() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, linger_ms=0)
        consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, fetch_max_wait_ms=5)
        await producer.start()
        await consumer.start()
        tp = TopicPartition(source, 0)
        consumer.assign([tp])
        await consumer.seek_to_end(tp)
        await consumer.position(tp)
        ready.set()
        while not stop.is_set():
            for records in (await consumer.getmany(timeout_ms=100)).values():
                for r in records:
                    await producer.send(dest, r.value)
        await consumer.stop()
        await producer.stop()

    thread = threading.Thread(target=asyncio.run, args=(run(),), daemon=True)
    thread.start()
    ready.wait(30)
    try:
        yield
    finally:
        stop.set()
        thread.join(10)


def _await_reply(consumer: Consumer, want: str, timeout_s: float = 10.0) -> dict[str, object]:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        msg = consumer.poll(0.5)
        if msg is None or msg.error() is not None:
            continue
        body = json.loads(msg.value())
        if body.get("request_id", want) == want:
            return body  # type: ignore[no-any-return]
    raise TimeoutError(want)


def _floor(bootstrap: str, ping: str, pong: str, n: int) -> list[float]:
    producer, reader = _rd_producer(bootstrap), _rd_reader(bootstrap, pong)
    samples = []
    with _aiokafka_echo(bootstrap, ping, pong):
        for i in range(n + 20):
            t0 = time.perf_counter()
            producer.produce(ping, json.dumps({"i": i}).encode())
            producer.poll(0)
            _await_reply(reader, "")
            if i >= 20:  # the first ones settle connections
                samples.append(time.perf_counter() - t0)
    reader.close()
    return samples


def _ours(
    bootstrap: str, request_topic: str, reply: str, requests: list[tuple[str, int | None]], n: int
) -> list[float]:
    producer, reader = _rd_producer(bootstrap), _rd_reader(bootstrap, reply)
    samples = []
    for i in range(n + 20):
        cid, partition = requests[i % len(requests)]
        rid = uuid.uuid4().hex
        body = json.dumps({"request_id": rid, "by": "customer_id", "value": cid, "reply_to": reply}).encode()
        t0 = time.perf_counter()
        if partition is None:
            producer.produce(request_topic, body)  # unkeyed: librdkafka picks a partition
        else:
            producer.produce(request_topic, body, partition=partition)
        producer.poll(0)
        answer = _await_reply(reader, rid)
        if i >= 20:
            samples.append(time.perf_counter() - t0)
            assert answer["source"] == "l1", answer
    reader.close()
    return samples


async def _topics(stack: BenchStack) -> tuple[str, str, str]:
    suffix = uuid.uuid4().hex[:6]
    names = (f"rd-ping-{suffix}", f"rd-pong-{suffix}", f"rd-replies-{suffix}")
    await create_topics(stack.tansu.bootstrap, names, 1)
    return names


async def _warm(url: str, ids: list[str]) -> None:
    async with aiohttp.ClientSession() as s:
        body = {"lookups": [{"by": "customer_id", "value": c} for c in ids], "concurrency": 50}
        async with s.post(f"{url}/v1/lookup/batch", json=body) as resp:
            assert resp.status == 200


def _pair(name: str, floor: list[float], ours: list[float], bound: float) -> list[Result]:
    return p99_against_floor(f"{name}: bare librdkafka round trip (floor)", name, floor, ours, bound)


async def unkeyed_one_worker(stack: BenchStack, n: int) -> list[Result]:
    """Unkeyed L1-hit requests to one worker: it owns every key, so it answers at once."""
    ping, pong, reply = await _topics(stack)
    ids = [f"C-{i:06d}" for i in range(1, 51)]
    await _warm(stack.url, ids)
    boot, topic = stack.tansu.bootstrap, stack.topics["lookup_request"]
    floor = await asyncio.to_thread(_floor, boot, ping, pong, n)
    ours = await asyncio.to_thread(_ours, boot, topic, reply, [(c, None) for c in ids], n)
    return _pair("unkeyed request→reply, L1 hit, one worker (librdkafka)", floor, ours, 1.3)


async def other_owner_two_workers(stack: BenchStack, n: int) -> list[Result]:
    """Two workers; each request lands on a partition of one worker for a key the other owns: one hop."""
    second_url = await stack.add_worker()
    owned = {}
    async with aiohttp.ClientSession() as s:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            for url in (stack.url, second_url):
                async with s.get(f"{url}/readyz") as resp:
                    owned[url] = set((await resp.json())["l1_partitions"])
            if all(owned.values()) and sum(len(p) for p in owned.values()) == 8:
                break
            await asyncio.sleep(0.5)
    first, second = owned[stack.url], owned[second_url]
    ids = [f"C-{i:06d}" for i in range(1, 400)]
    requests = []
    for cid in ids:  # arrive on a partition of the worker that does NOT own the key
        home = owner_partition(f"customer_id:{cid}", 8)
        requests.append((cid, min(second if home in first else first)))
    await _warm(stack.url, ids[:100])
    ping, pong, reply = await _topics(stack)
    boot, topic = stack.tansu.bootstrap, stack.topics["lookup_request"]
    floor = await asyncio.to_thread(_floor, boot, ping, pong, n)
    ours = await asyncio.to_thread(_ours, boot, topic, reply, requests[:100], n)
    return _pair("unkeyed request→reply for a key the other worker owns (one hop)", floor, ours, 2.3)
