"""Key ownership: which L1 partition (and so which worker) owns a lookup key, and whether that is us."""

from __future__ import annotations

import functools
from typing import Any, Protocol

from aiokafka.partitioner import murmur2

from .app import L1_TABLE


@functools.lru_cache(maxsize=65_536)  # aiokafka's murmur2 is pure Python (~15 µs); callers call again
def owner_partition(key: str, partitions: int) -> int:
    """The partition Kafka's default (murmur2) partitioner gives *key*: the L1 partition that owns it."""
    return int(murmur2(key.encode()) & 0x7FFFFFFF) % partitions


def active_partitions(app: Any, topic: str) -> set[int]:
    """Partitions of *topic* this worker owns now (empty while starting or rebalancing)."""
    return {tp.partition for tp in app.assignor.assigned_actives() if tp.topic == topic}


def owned_l1_partitions(app: Any) -> set[int]:
    """Partitions of the L1 table (and so of every co-partitioned topic) this worker owns now."""
    return set(TableOwnership(app).owned())


class Ownership(Protocol):
    """Who owns a key, and is it us: what agents, views and the VIP scheduler depend on."""

    def partition_of(self, key: str) -> int:
        """The L1 partition that owns *key*."""
        ...

    def owned(self) -> frozenset[int]:
        """The L1 partitions this worker is the active owner of now."""
        ...

    def owns(self, key: str) -> bool:
        """True when this worker is the active owner of *key*'s L1 partition."""
        ...


class TableOwnership:
    """Ownership read from Faust: the L1 changelog's active assignment on this worker.

    The repartition topics are co-partitioned with the L1 changelog, so the worker that reads
    repartition partition p is the one that owns L1 partition p.
    """

    def __init__(self, app: Any) -> None:
        self._app = app
        self._seen: object = None
        self._owned: frozenset[int] = frozenset()
        self._partitions = 0

    @property
    def partitions(self) -> int:
        """How many L1 partitions there are (WARMLINE_TOPIC_PARTITIONS; read once: a table keeps its count)."""
        if not self._partitions:
            self._partitions = int(self._app.tables[L1_TABLE].partitions)
        return self._partitions

    def partition_of(self, key: str) -> int:
        """The L1 partition that owns *key*."""
        return owner_partition(key, self.partitions)

    def owned(self) -> frozenset[int]:
        """The L1 partitions this worker is the active owner of now."""
        generation = self._app.consumer_generation_id  # every assignment is a new generation: recompute only then
        owned = self._owned
        if generation != self._seen or not owned:  # empty: asked while starting, before the first assignment
            topic = self._app.tables[L1_TABLE].changelog_topic.get_topic_name()
            owned = self._owned = frozenset(active_partitions(self._app, topic))
            self._seen = generation
        return owned

    def owns(self, key: str) -> bool:
        """True when this worker is the active owner of *key*'s L1 partition."""
        owned = self.owned()
        partitions = self.partitions
        if len(owned) == partitions:  # the only worker: no need to hash
            return True
        return owner_partition(key, partitions) in owned
