"""The lookup lane's own fetch: a narrow aiokafka consumer for the lookup-request topics.

Faust's consumer fetches every input partition in one request (3 foreign and 3 repartition
topics × partitions: 48 at 8). On the embedded broker a fetch's cost grows with its width and with
the size of the partitions in it, so a lookup waited for fetches of call-started partitions grown
by a burst. This consumer fetches only the lookup lane's partitions (lookup-request and its
repartition topic) of the worker's current assignment, on a connection of its own. Its records
go to the lookup agents' intakes through a task of their own (``TunedConsumer._pump_lane``), not
through Faust's fetch loop, which during a call-started burst came back for its next fetch only
60-240 ms after the last.

It decides nothing about delivery. It has no group: the worker's Faust consumer stays the group
member that is assigned these partitions and commits them, from the same delivery ledger every
record passes (``stream/delivery.py``). This consumer is placed where the ledger says, after every
seek of those partitions (a new generation's starts, a refetch, a rewind): a record it fetched
out of place is refused by the ledger and fetched again, and one it never fetched holds the
commit, so the partition's next owner reads it.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

import aiokafka
from aiokafka import TopicPartition

from ..settings import Settings
from .security import KafkaConnection

logger = logging.getLogger(__name__)


class LookupLane:
    """A group-less aiokafka consumer of *topics*, assigned and sought from outside (the worker's consumer)."""

    def __init__(self, topics: Collection[str], client_kwargs: Mapping[str, Any], fetch_max_wait_ms: int) -> None:
        self.topics = frozenset(topics)
        self._kwargs = dict(client_kwargs)
        self._fetch_max_wait_ms = fetch_max_wait_ms
        self._consumer: aiokafka.AIOKafkaConsumer | None = None

    def owns(self, tp: Any) -> bool:
        """Whether *tp* is fetched here rather than by Faust's consumer."""
        return tp.topic in self.topics

    @property
    def started(self) -> bool:
        """Whether the consumer is connected (it fetches nothing before place())."""
        return self._consumer is not None

    async def start(self) -> None:
        """Connect (once); nothing is fetched until place() assigns partitions."""
        if self._consumer is not None:
            return
        consumer = aiokafka.AIOKafkaConsumer(
            **self._kwargs,
            group_id=None,  # the worker's Faust consumer is the group member and commits
            enable_auto_commit=False,
            fetch_max_wait_ms=self._fetch_max_wait_ms,
            auto_offset_reset="earliest",  # never used: every partition is sought before it is fetched
        )
        await consumer.start()
        self._consumer = consumer

    async def stop(self) -> None:
        """Disconnect; the partitions' records not handed out are read again by their next fetch or owner."""
        consumer, self._consumer = self._consumer, None
        if consumer is not None:
            await consumer.stop()

    def place(self, starts: Mapping[Any, int]) -> None:
        """Fetch exactly the partitions of *starts* (a new generation's), each from its start."""
        if self._consumer is None:
            return
        mine = {tp: offset for tp, offset in starts.items() if self.owns(tp)}
        self._consumer.assign([TopicPartition(tp.topic, tp.partition) for tp in mine])
        self.seek(mine)

    def seek(self, offsets: Mapping[Any, int]) -> None:
        """Fetch each assigned partition of *offsets* again from its offset (what is buffered is dropped)."""
        if self._consumer is None:
            return
        assigned = self._consumer.assignment()
        for tp, offset in offsets.items():
            atp = TopicPartition(tp.topic, tp.partition)
            if atp in assigned:
                self._consumer.seek(atp, offset)

    async def take(self, partitions: Collection[Any], timeout_s: float) -> dict[Any, list[Any]]:
        """Records of *partitions* (those assigned here), waiting up to *timeout_s* for the first."""
        if self._consumer is None:
            return {}
        assigned = self._consumer.assignment()
        wanted = [atp for atp in (TopicPartition(tp.topic, tp.partition) for tp in partitions) if atp in assigned]
        if not wanted:
            return {}
        return dict(await self._consumer.getmany(*wanted, timeout_ms=int(timeout_s * 1000)))

    def highwater(self, tp: Any) -> int | None:
        """*tp*'s high watermark as of this consumer's last fetch of it (None: not known or not assigned)."""
        atp = TopicPartition(tp.topic, tp.partition)
        if self._consumer is None or atp not in self._consumer.assignment():
            return None
        high: int | None = self._consumer.highwater(atp)
        return high


def lookup_lane_for(settings: Settings, connection: KafkaConnection, topics: Collection[str]) -> LookupLane | None:
    """The lookup lane's consumer for *topics*, or None when WARMLINE_LOOKUP_LANE_CONSUMER is off."""
    if not settings.lookup_lane_consumer:
        return None
    return LookupLane(topics, connection.kwargs(), settings.consumer_fetch_max_wait_ms)
