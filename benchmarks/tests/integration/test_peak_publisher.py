"""The morning-peak benchmark's burst publisher (librdkafka) puts every call-started event on the broker."""

from __future__ import annotations

import json
import time
from pathlib import Path

import orjson
from aiokafka.partitioner import DefaultPartitioner
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from benchmarks.peak import _burst_main, _cid, _key
from harness.broker import Broker


def _read_all(bootstrap: str, topic: str, partitions: int) -> list[tuple[bytes, dict[str, str], int]]:
    """Every record of *topic*: an end marker is appended to each partition, and read up to all of them
    (a positive signal that nothing more is coming)."""
    marker = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
    for p in range(partitions):
        marker.produce(topic, b"end", partition=p)
    assert marker.flush(30) == 0
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "peak-publisher-test", "fetch.wait.max.ms": 5})
    consumer.assign([TopicPartition(topic, p, 0) for p in range(partitions)])
    records: list[tuple[bytes, dict[str, str], int]] = []
    ended: set[int] = set()
    deadline = time.monotonic() + 60
    try:
        while len(ended) < partitions and time.monotonic() < deadline:
            msg = consumer.poll(0.5)
            if msg is None or msg.error() is not None:
                continue
            if msg.value() == b"end":
                ended.add(msg.partition())
            else:
                records.append((msg.key(), orjson.loads(msg.value()), msg.partition()))
    finally:
        consumer.close()
    assert len(ended) == partitions, "every partition read to its end marker"
    return records


def test_every_event_of_the_burst_is_published_keyed_by_its_caller(tmp_path: Path) -> None:
    tansu = Broker("tansu", tmp_path / "tansu.log")
    tansu.start()
    try:
        topic = "call-started-burst"  # made as another system would: the broker's admin API
        admin = AdminClient({"bootstrap.servers": tansu.bootstrap})  # held until the topic is made
        admin.create_topics([NewTopic(topic, 3, 1)])[topic].result(15)
        out = tmp_path / "published.json"
        rate, seconds, first = 400.0, 1.0, 500
        _burst_main(tansu.bootstrap, topic, rate, seconds, first, time.time(), str(out))
        records = _read_all(tansu.bootstrap, topic, 3)
    finally:
        tansu.stop()
    want = int(rate * seconds)
    published = json.loads(out.read_text())
    assert sorted(published) == sorted(_key(_cid(first + i)) for i in range(want))
    assert len(records) == want
    assert {key.decode() for key, _, _ in records} == set(published)
    assert all(_key(body["customer_id"]) == key.decode() for key, body, _ in records)
    java = DefaultPartitioner()  # murmur2, as Java producers (and aiokafka) place a key
    assert all(partition == java(key, [0, 1, 2], [0, 1, 2]) for key, _, partition in records)
