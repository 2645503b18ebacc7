"""A librdkafka client (confluent-kafka) speaking warmline's protocol the way a Spring or .NET client would."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from confluent_kafka import Consumer, Message, Producer, TopicPartition
from confluent_kafka.admin import AdminClient
from confluent_kafka.cimpl import NewTopic


def create_topics(bootstrap: str, names: Iterable[str], partitions: int) -> None:
    """Create topics as another system would (confluent's admin client), and wait for them."""
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics(
        [NewTopic(n, num_partitions=partitions, replication_factor=1) for n in names]
    ).values():
        future.result(timeout=15)


def partitions_of(bootstrap: str, topic: str) -> int:
    """The partition count the broker reports for *topic* (0 when missing)."""
    meta = AdminClient({"bootstrap.servers": bootstrap}).list_topics(topic, timeout=10)
    found = meta.topics.get(topic)
    return 0 if found is None or found.error is not None else len(found.partitions)


class RdClient:
    """Unkeyed requests by default (librdkafka's partitioner spreads them); replies read without a group."""

    def __init__(self, bootstrap: str, request_topic: str, reply_topic: str) -> None:
        self.bootstrap = bootstrap
        self.request_topic = request_topic
        self.reply_topic = reply_topic
        self.producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0})
        self.consumer = Consumer(
            {
                "bootstrap.servers": bootstrap,
                "group.id": f"rd-{uuid.uuid4().hex[:6]}",
                "fetch.wait.max.ms": 5,
                "enable.auto.commit": False,
                "auto.offset.reset": "earliest",
            }
        )
        parts = partitions_of(bootstrap, reply_topic)
        self.consumer.assign([TopicPartition(reply_topic, p) for p in range(parts)])

    def send(
        self,
        body: dict[str, object],
        *,
        key: bytes | None = None,
        headers: Sequence[tuple[str, bytes]] = (),
        topic: str | None = None,
    ) -> None:
        """Produce one request and wait for its delivery."""
        self.producer.produce(topic or self.request_topic, json.dumps(body).encode(), key=key, headers=list(headers))
        self.producer.flush(10)

    def replies(self, want: set[str], timeout_s: float = 30.0) -> dict[str, list[dict[str, Any]]]:
        """Every reply whose request_id is in *want*, by id (a list: duplicates are counted)."""
        got: dict[str, list[dict[str, Any]]] = {}
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and not want <= set(got):
            msg = self.consumer.poll(0.2)
            if msg is None or msg.error() is not None:
                continue
            value = msg.value()
            if value is None:
                continue  # not a reply (a reply always has a body)
            body = json.loads(value)
            if body.get("request_id") in want:
                got.setdefault(body["request_id"], []).append(body)
        return got

    def raw_replies(self, count: int, timeout_s: float = 30.0) -> list[Message]:
        """The next *count* reply messages themselves (headers, partition)."""
        found: list[Message] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and len(found) < count:
            msg = self.consumer.poll(0.2)
            if msg is not None and msg.error() is None:
                found.append(msg)
        return found

    def close(self) -> None:
        """Close the consumer."""
        self.consumer.close()
