"""Key ownership: which partition (and so which worker) owns a lookup key."""

from __future__ import annotations

from typing import Any

from aiokafka.partitioner import murmur2

from .app import L1_TABLE


def active_partitions(app: Any, topic: str) -> set[int]:
    """Partitions of *topic* this worker owns now (empty while starting or rebalancing)."""
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}


def owner_partition(key: str, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives *key*: where its owner reads."""
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def owned_l1_partitions(app: Any) -> set[int]:
    """Partitions of the L1 table (and so of every co-partitioned topic) this worker owns now."""
    return active_partitions(app, app.tables[L1_TABLE].changelog_topic.get_topic_name())
