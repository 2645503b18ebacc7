"""A producer whose cluster metadata never forgets a topic it has seen.

aiokafka's client starts with an empty topic set, meaning "ask the broker for every topic". A
topic found in that answer is used without being added to the set, and the first send to a
topic the client had not seen adds just that one: from then on metadata requests name only the
topics added so far, and every topic known from the all-topics answer drops out of the cluster
metadata (``partitions_for_topic`` → None). Faust's ``key_partition`` (table writes, table
routing) reads that metadata without waiting for it, so one dead letter or one new reply topic
breaks every L1 write. The fix: when the set first stops being empty, seed it with every topic
the client already knows, so a request only ever adds names. (Upstream-worthy: the same
``add_topic`` change belongs in aiokafka's client.)
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.client import AIOKafkaClient


class StableMetadataClient(AIOKafkaClient):  # type: ignore[misc]  # aiokafka is untyped
    """AIOKafkaClient whose tracked topics only ever grow."""

    def add_topic(self, topic: str) -> Any:
        """Track *topic* as well as every topic already known (never fewer than before)."""
        if not self._topics:
            self._topics.update(self.cluster.topics())
        return super().add_topic(topic)

    def set_topics(self, topics: Any) -> Any:
        """Track *topics* together with the ones already tracked or known."""
        known = set(self._topics) or set(self.cluster.topics())
        return super().set_topics(known | set(topics))


class StableMetadataProducer(AIOKafkaProducer):  # type: ignore[misc]  # aiokafka is untyped
    """AIOKafkaProducer on a StableMetadataClient."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.client.__class__ = StableMetadataClient  # same state, the growing topic set (a subclass, no new fields)
